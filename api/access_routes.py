"""Login, one's own account and tokens (/api/v1/auth), and the admin's agencies, units, users and
access log. Every change goes through the access room, which writes the access log."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Request as HttpRequest, Response
from pydantic import Field
from sqlmodel import Session

import audit
from access import agencies, sessions, tokens, users
from access.errors import InvalidAccessInput
from access.models import Agency, ApiToken
from access.passwords import generate_password
from api.deps import Admin, AgencyReader, Self, SessionDep
from api.responses import (AccessLogOut, AgencyList, AgencyOut, LoginOut, TokenCreated, TokenList,
                           UserCreated, UserList, UserOut)
from api.schemas import ERROR_RESPONSES, ErrorBody, PlainText, RowId, Strict
from core.logging import get_logger

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
log = get_logger("api.access")

CodePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="agency code")]
UsernamePath = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
Role = Literal["staff", "legal", "supervisor", "admin"]
_AGENCY_TEXT = Field(default=None, max_length=500)


class LoginBody(Strict):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(min_length=1, max_length=256)


class TokenBody(Strict):
    days: int | None = Field(default=None, ge=1, le=3650, description="default GONGKAI_TOKEN_DAYS")
    label: PlainText = Field(default="", max_length=100, description="what the token is for")


class AgencyFields(Strict):
    name: PlainText | None = _AGENCY_TEXT
    abbr: PlainText | None = _AGENCY_TEXT
    letterhead: PlainText | None = _AGENCY_TEXT
    doc_number_pattern: PlainText | None = _AGENCY_TEXT
    address: PlainText | None = _AGENCY_TEXT
    postcode: PlainText | None = _AGENCY_TEXT
    phone: PlainText | None = _AGENCY_TEXT
    review_body: PlainText | None = _AGENCY_TEXT
    court: PlainText | None = _AGENCY_TEXT
    signature: PlainText | None = _AGENCY_TEXT
    contact_person: PlainText | None = _AGENCY_TEXT
    reply_signoff: PlainText | None = Field(default=None, max_length=100, description="outcome "
                                            "groups whose reply needs 负责人签批, e.g. 不予公开,部分公开")
    legal_signoff: PlainText | None = Field(default=None, max_length=100, description="outcome "
                                            "groups whose reply needs 法制审核, e.g. 部分公开,不予公开")
    excess_threshold: int | None = Field(default=None, ge=0, le=10_000, description="Art 35: "
                                         "requests a month from one applicant above which staff "
                                         "are prompted to ask for reasons; 0: never")
    electronic_seal: PlainText | None = Field(default=None, max_length=500,
                                              description="file name of the seal PNG in "
                                                          "<GONGKAI_DATA_DIR>/seals")


class AgencyCreate(AgencyFields):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")


class AgencyPatch(AgencyFields):
    active: bool | None = None
    expected_version: int | None = Field(default=None, ge=1)


class UnitBody(Strict):
    name: PlainText = Field(min_length=1, max_length=100)


Scope = list[Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")]] | Literal["all"] | None


class UserCreate(Strict):
    username: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")
    role: Role
    agency: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    unit: PlainText | None = Field(default=None, max_length=100)
    scope: Scope = Field(default=None, description="legal/supervisor: agency codes, or \"all\"")
    display_name: PlainText = Field(default="", max_length=100)
    password: str | None = Field(default=None, max_length=256,
                                 description="none: one is generated and returned once")


class UserPatch(Strict):
    role: Role | None = None
    agency: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    unit: PlainText | None = Field(default=None, max_length=100)
    scope: Scope = None
    disabled: bool | None = None


class PasswordBody(Strict):
    password: str | None = Field(default=None, max_length=256,
                                 description="none: one is generated and returned once")


def _agency_view(session: Session, row: Agency) -> dict:
    return {"code": row.code, **{f: getattr(row, f) for f in agencies.FIELDS}, "active": row.active,
            "version": row.version, "missing": agencies.missing(row),
            "units": [u.name for u in agencies.units_of(session, row.id)]}


def _token_view(t: ApiToken) -> dict:
    return {"id": t.id, "label": t.label, "created_at": t.created_at, "created_by": t.created_by,
            "expires_at": t.expires_at, "revoked_at": t.revoked_at}


def _settings(http: HttpRequest):
    return http.app.state.settings


def _check_seal(values: dict, http: HttpRequest) -> None:
    """Over the API a seal is a PNG in <data_dir>/seals: an admin's call must not make the engine
    read (and e-mail out) an arbitrary file of the server."""
    seal = values.get("electronic_seal")
    if not seal:
        return
    folder = (_settings(http).data_dir / "seals").resolve()
    path = (folder / seal).resolve()
    if not path.is_relative_to(folder) or not path.is_file() or path.suffix.lower() != ".png":
        raise InvalidAccessInput("electronic_seal", f"the name of a PNG file in {folder}")
    values["electronic_seal"] = str(path)


# ——— login and one's own account ———

@router.post("/auth/login", tags=["login"], response_model=LoginOut, responses={
    429: {"model": ErrorBody, "description": "the account is locked after repeated failures, or "
                                              "this address failed too often (Retry-After)"}})
def login(body: LoginBody, session: SessionDep, http: HttpRequest, response: Response):
    """Password login for the web pages: sets the `gongkai_session` cookie (HttpOnly, SameSite=
    Strict, Secure over https) and returns the CSRF token every unsafe call must echo in
    `X-CSRF-Token`. Failures are recorded; repeated ones lock the account (429)."""
    settings = _settings(http)
    remote = http.client.host if http.client else ""
    result = sessions.login(session, body.username, body.password, remote=remote, settings=settings)
    session.commit()  # the attempt is on record whatever the outcome
    if result.refusal is not None:
        log.warning("login_refused", username=body.username[:64], remote=remote,
                    reason=type(result.refusal).__name__)
        raise result.refusal
    secure = settings.cookie_secure if settings.cookie_secure is not None else http.url.scheme == "https"
    response.set_cookie(sessions.COOKIE, result.secret, httponly=True, samesite="strict",
                        secure=secure, max_age=settings.session_hours * 3600, path="/")
    log.info("login", username=result.user.username, remote=remote)
    return {"user": users.describe(session, result.user), "csrf_token": result.web_session.csrf_token,
            "expires_at": result.web_session.expires_at}


@router.post("/auth/logout", tags=["login"], status_code=204, response_class=Response)
def logout(session: SessionDep, http: HttpRequest, user: Self):
    """End this browser's session (a bearer token is revoked with DELETE /auth/tokens/{id})."""
    cookie = http.cookies.get(sessions.COOKIE)
    if cookie:
        sessions.logout(session, cookie)
        session.commit()
    response = Response(status_code=204)
    response.delete_cookie(sessions.COOKIE, path="/")
    return response


@router.get("/auth/me", tags=["login"], response_model=UserOut)
def me(session: SessionDep, user: Self):
    return users.describe(session, users.get_user(session, user.username))


@router.get("/auth/tokens", tags=["login"], response_model=TokenList)
def my_tokens(session: SessionDep, user: Self):
    return {"items": [_token_view(t) for t in tokens.tokens_of(session, user.user_id)]}


@router.post("/auth/tokens", tags=["login"], status_code=201, response_model=TokenCreated)
def create_my_token(body: TokenBody, session: SessionDep, http: HttpRequest, user: Self):
    """A bearer token for one's own scripts, for at most GONGKAI_TOKEN_DAYS; the secret is in this
    answer only. A new password or disabling the account revokes it."""
    limit = _settings(http).token_days
    if body.days is not None and body.days > limit:
        raise InvalidAccessInput("days", f"at most {limit} (GONGKAI_TOKEN_DAYS); an admin issues "
                                 "longer ones")
    token, secret = tokens.create_token(session, user.username, days=body.days or limit,
                                        actor=user.actor, label=body.label)
    session.commit()
    return {**_token_view(token), "token": secret}


@router.delete("/auth/tokens/{token_id}", tags=["login"], status_code=204, response_class=Response)
def revoke_my_token(token_id: RowId, session: SessionDep, user: Self):
    tokens.revoke_token(session, token_id, actor=user.actor, owner_id=user.user_id)
    session.commit()
    return Response(status_code=204)


# ——— agencies and units ———

@router.get("/agencies", tags=["admin"], response_model=AgencyList)
def list_agencies(session: SessionDep, user: AgencyReader):
    return {"items": [_agency_view(session, a) for a in agencies.list_agencies(session)]}


@router.get("/agencies/{code}", tags=["admin"], response_model=AgencyOut)
def get_agency(code: CodePath, session: SessionDep, user: AgencyReader):
    return _agency_view(session, agencies.get_agency(session, code))


@router.post("/agencies", tags=["admin"], status_code=201, response_model=AgencyOut)
def add_agency(body: AgencyCreate, session: SessionDep, http: HttpRequest, user: Admin):
    """A new 行政机关 with its letterhead, 代字, contact, 复议机关 and court (audited)."""
    values = body.model_dump(exclude={"code"}, exclude_none=True)
    _check_seal(values, http)
    row = agencies.add_agency(session, body.code, values, user.actor)
    session.commit()
    return _agency_view(session, row)


@router.patch("/agencies/{code}", tags=["admin"], response_model=AgencyOut)
def change_agency(code: CodePath, body: AgencyPatch, session: SessionDep, http: HttpRequest,
                  user: Admin):
    """Change what the agency's future letters carry (letters already sent keep theirs)."""
    changes = body.model_dump(exclude={"active", "expected_version"}, exclude_unset=True)
    _check_seal(changes, http)
    row = agencies.update_agency(session, code, changes, user.actor,
                                 expected_version=body.expected_version)
    if body.active is not None:
        row = agencies.set_active(session, code, body.active, user.actor)
    session.commit()
    return _agency_view(session, row)


@router.post("/agencies/{code}/units", tags=["admin"], status_code=201, response_model=AgencyOut)
def add_unit(code: CodePath, body: UnitBody, session: SessionDep, user: Admin):
    agencies.add_unit(session, code, body.name, user.actor)
    session.commit()
    return _agency_view(session, agencies.get_agency(session, code))


# ——— users and their tokens ———

@router.get("/users", tags=["admin"], response_model=UserList)
def list_users(session: SessionDep, user: Admin):
    return {"items": [users.describe(session, u) for u in users.list_users(session)]}


@router.get("/users/{username}", tags=["admin"], response_model=UserOut)
def get_user(username: UsernamePath, session: SessionDep, user: Admin):
    return users.describe(session, users.get_user(session, username))


@router.post("/users", tags=["admin"], status_code=201, response_model=UserCreated)
def add_user(body: UserCreate, session: SessionDep, http: HttpRequest, user: Admin):
    """A new user; without `password` one is generated and shown in this answer only."""
    password = body.password or generate_password()
    row = users.add_user(session, body.username, body.role, actor=user.actor, agency=body.agency,
                         unit=body.unit, scope=body.scope, display_name=body.display_name,
                         password=password, min_password_length=_settings(http).password_min_length)
    session.commit()
    return {"user": users.describe(session, row),
            "password": None if body.password else password}


@router.patch("/users/{username}", tags=["admin"], response_model=UserOut)
def change_user(username: UsernamePath, body: UserPatch, session: SessionDep, user: Admin):
    """Role, agency, unit and scope (set together, as given), or disable / enable the account."""
    given = body.model_dump(exclude_unset=True)
    if given.keys() & {"role", "agency", "unit", "scope"}:
        current = users.describe(session, users.get_user(session, username))
        placed = {k: given.get(k, current[k]) for k in ("role", "agency", "unit", "scope")}
        # What the new role cannot hold goes unless given: a unit is staff's, a scope not.
        if placed["role"] != "staff":
            placed["unit"] = given.get("unit")
        else:
            placed["scope"] = given.get("scope")
        users.set_role(session, username, placed["role"], actor=user.actor, agency=placed["agency"],
                       unit=placed["unit"], scope=placed["scope"] or None)
    if body.disabled is not None:
        users.set_disabled(session, username, body.disabled, actor=user.actor)
    session.commit()
    return users.describe(session, users.get_user(session, username))


@router.post("/users/{username}/password", tags=["admin"], response_model=UserCreated)
def set_password(username: UsernamePath, body: PasswordBody, session: SessionDep, http: HttpRequest,
                 user: Admin):
    """A new password (also unlocks the account and ends its sessions)."""
    password = body.password or generate_password()
    row = users.set_password(session, username, password, actor=user.actor,
                             min_length=_settings(http).password_min_length)
    session.commit()
    return {"user": users.describe(session, row), "password": None if body.password else password}


@router.post("/users/{username}/tokens", tags=["admin"], status_code=201, response_model=TokenCreated)
def create_token(username: UsernamePath, body: TokenBody, session: SessionDep, http: HttpRequest,
                 user: Admin):
    token, secret = tokens.create_token(session, username, days=body.days or _settings(http).token_days,
                                        actor=user.actor, label=body.label)
    session.commit()
    return {**_token_view(token), "token": secret}


@router.delete("/tokens/{token_id}", tags=["admin"], status_code=204, response_class=Response)
def revoke_token(token_id: RowId, session: SessionDep, user: Admin):
    tokens.revoke_token(session, token_id, actor=user.actor)
    session.commit()
    return Response(status_code=204)


@router.get("/access-log", tags=["admin"], response_model=AccessLogOut)
def access_log(session: SessionDep, user: Admin):
    """Every change to agencies, units, users, roles and tokens, with the chain's verification."""
    result = audit.verify_access(session)
    return {"verified": result.ok, "first_broken_seq": result.first_broken_seq, "problem": result.reason,
            "events": [{"seq": e.seq, "recorded_at": e.recorded_at, "actor": e.actor, "event": e.event,
                        "subject": e.subject, "data": json.loads(e.data), "hash": e.hash}
                       for e in audit.access_history(session)]}
