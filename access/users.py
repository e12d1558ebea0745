"""Users, their role and scope: added, changed and disabled by an admin (CLI or API), each change
in the access log. Staff belong to one agency (and perhaps one unit); legal reviewers and
supervisors see their agency plus the agencies of their scope, or all of them."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, delete, select, update

import audit
from access import passwords
from access.agencies import get_agency, get_unit
from access.errors import AccessConflict, AccessNotFound, InvalidAccessInput
from access.models import ROLE_CODES, Agency, ApiToken, Unit, User, UserScope, WebSession
from access.policy import Principal
from core.text import ControlCharacter, plain_text

# Lower-case, no colon: a user name can never be mistaken for a `system:` actor of the flows.
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def get_user(session: Session, username: str, *, lock: bool = False) -> User:
    query = select(User).where(User.username == username)
    row = session.exec(query.with_for_update() if lock else query).first()
    if row is None:
        raise AccessNotFound(f"user {username!r} does not exist")
    return row


def _placement(session: Session, role: str, agency: str | None, unit: str | None,
               scope: list[str] | str | None) -> tuple[Agency | None, Unit | None, list[Agency], bool]:
    if role not in ROLE_CODES:
        raise InvalidAccessInput("role", f"one of {', '.join(ROLE_CODES)}")
    home = get_agency(session, agency) if agency else None
    if role == "staff" and home is None:
        raise InvalidAccessInput("agency", "staff belong to an agency")
    if unit and home is None:
        raise InvalidAccessInput("unit", "a unit needs its agency")
    unit_row = get_unit(session, home, unit) if unit else None
    if unit_row is not None and role != "staff":
        raise InvalidAccessInput("unit", "only staff are placed in a unit")
    scope_all = scope == "all" or scope == ["all"]
    extra = [] if scope_all or not scope else [get_agency(session, c) for c in scope]
    # Once each, and not the home agency again (a scope row is unique per user and agency).
    extra = list({a.id: a for a in extra if home is None or a.id != home.id}.values())
    if role == "staff" and (scope_all or extra):
        raise InvalidAccessInput("scope", "staff see their own agency only")
    if role in ("legal", "supervisor") and home is None and not (scope_all or extra):
        raise InvalidAccessInput("scope", "a legal reviewer or supervisor needs an agency or a scope")
    return home, unit_row, extra, scope_all


def _scope_codes(session: Session, user: User) -> list[str] | str:
    if user.scope_all:
        return "all"
    rows = session.exec(select(Agency.code).join(UserScope, UserScope.agency_id == Agency.id)
                        .where(UserScope.user_id == user.id).order_by(Agency.code)).all()
    return list(rows)


def describe(session: Session, user: User) -> dict:
    agency = session.get(Agency, user.agency_id) if user.agency_id else None
    unit = session.get(Unit, user.unit_id) if user.unit_id else None
    return {"username": user.username, "display_name": user.display_name, "role": user.role,
            "agency": agency.code if agency else None, "unit": unit.name if unit else None,
            "scope": _scope_codes(session, user), "disabled": user.disabled,
            "has_password": user.password_hash is not None,
            "locked_until": user.locked_until, "created_at": user.created_at}


def add_user(session: Session, username: str, role: str, *, actor: str, agency: str | None = None,
             unit: str | None = None, scope: list[str] | str | None = None,
             display_name: str = "", password: str | None = None,
             min_password_length: int = 10) -> User:
    """A new user. `password` None: the account logs in with tokens only until one is set."""
    if not USERNAME.fullmatch(username or ""):
        raise InvalidAccessInput("username", "2–64 of a-z 0-9 . _ -, starting with a letter or digit")
    try:
        display_name = plain_text(display_name or "").strip()[:100]
    except ControlCharacter as exc:
        raise InvalidAccessInput("display_name", str(exc)) from None
    if session.exec(select(User.id).where(User.username == username)).first() is not None:
        raise AccessConflict(f"user {username!r} already exists")
    home, unit_row, extra, scope_all = _placement(session, role, agency, unit, scope)
    hashed = None
    if password is not None:
        passwords.check_new_password(password, username, min_password_length)
        hashed = passwords.hash_password(password)
    now = _now()
    user = User(username=username, display_name=display_name, role=role,
                agency_id=home.id if home else None, unit_id=unit_row.id if unit_row else None,
                scope_all=scope_all, password_hash=hashed, created_at=now,
                password_changed_at=now if hashed else None)
    session.add(user)
    try:
        session.flush()
    except IntegrityError:  # the same name added concurrently, between the check and here
        raise AccessConflict(f"user {username!r} already exists") from None
    for a in extra:
        session.add(UserScope(user_id=user.id, agency_id=a.id))
    session.flush()
    audit.append_access(session, actor=actor, event="user_added", subject=f"user:{username}",
                        data={k: v for k, v in describe(session, user).items()
                              if k not in ("locked_until", "created_at")})
    return user


def _keep_an_admin(session: Session, user: User) -> None:
    """Nobody may remove the last enabled admin: no one could manage users any more."""
    if user.role != "admin" or user.disabled:
        return
    # Every admin row locked: two admins disabling each other at once must not both succeed.
    admins = session.exec(select(User).where(User.role == "admin").with_for_update()).all()
    others = next((a for a in admins if a.id != user.id and not a.disabled), None)
    if others is None:
        raise AccessConflict(f"{user.username!r} is the last enabled admin; add another first")


def set_role(session: Session, username: str, role: str, *, actor: str, agency: str | None = None,
             unit: str | None = None, scope: list[str] | str | None = None) -> User:
    user = get_user(session, username, lock=True)
    if role != "admin":
        _keep_an_admin(session, user)
    before = describe(session, user)
    home, unit_row, extra, scope_all = _placement(session, role, agency, unit, scope)
    user.role, user.scope_all = role, scope_all
    user.agency_id, user.unit_id = (home.id if home else None), (unit_row.id if unit_row else None)
    session.add(user)
    session.execute(delete(UserScope).where(UserScope.user_id == user.id))
    for a in extra:
        session.add(UserScope(user_id=user.id, agency_id=a.id))
    session.flush()
    after = describe(session, user)
    keys = ("role", "agency", "unit", "scope")
    audit.append_access(session, actor=actor, event="user_role_set", subject=f"user:{username}",
                        data={"from": {k: before[k] for k in keys}, "to": {k: after[k] for k in keys}})
    return user


def set_password(session: Session, username: str, password: str, *, actor: str,
                 min_length: int = 10) -> User:
    """A new password; it also unlocks the account. The hash is never logged or audited."""
    user = get_user(session, username, lock=True)
    passwords.check_new_password(password, username, min_length)
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = _now()
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    # A new password is what one sets when the old one may be known: whatever was opened with it
    # (sessions, and tokens made from them) must not outlive it.
    _end_sessions(session, user.id)
    revoked = _revoke_tokens(session, user.id, actor)
    audit.append_access(session, actor=actor, event="password_set", subject=f"user:{username}",
                        data={"tokens_revoked": revoked})
    return user


def set_disabled(session: Session, username: str, disabled: bool, *, actor: str) -> User:
    """Disable (or enable) an account: its tokens and sessions stop working at once."""
    user = get_user(session, username, lock=True)
    if user.disabled == disabled:
        return user
    if disabled:
        _keep_an_admin(session, user)
    user.disabled = disabled
    session.add(user)
    revoked = []
    if disabled:  # for good: enabling the account again does not bring its tokens back
        _end_sessions(session, user.id)
        revoked = _revoke_tokens(session, user.id, actor)
    audit.append_access(session, actor=actor, event="user_disabled" if disabled else "user_enabled",
                        subject=f"user:{username}", data={"tokens_revoked": revoked})
    return user


def _end_sessions(session: Session, user_id: int) -> None:
    session.execute(update(WebSession).where(WebSession.user_id == user_id,
                                             WebSession.ended_at.is_(None)).values(ended_at=_now()))


def _revoke_tokens(session: Session, user_id: int, actor: str) -> list[int]:
    live = session.exec(select(ApiToken).where(ApiToken.user_id == user_id,
                                               ApiToken.revoked_at.is_(None))).all()
    for token in live:
        token.revoked_at, token.revoked_by = _now(), actor
        session.add(token)
    return [t.id for t in live]


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(User.username)))


def principal(session: Session, user: User, via: str, csrf_token: str | None = None) -> Principal:
    if user.scope_all:
        ids = None
    else:
        ids = set(session.exec(select(UserScope.agency_id).where(UserScope.user_id == user.id)).all())
        if user.agency_id:
            ids.add(user.agency_id)
        ids = frozenset(ids)
    return Principal(user_id=user.id, username=user.username, role=user.role,
                     agency_id=user.agency_id, unit_id=user.unit_id, agency_ids=ids, via=via,
                     csrf_token=csrf_token)


def first_admin(session: Session, actor: str = "system:bootstrap") -> tuple[User, str] | None:
    """On a database with no users: an admin with a generated password, to print once."""
    if session.exec(select(User.id)).first() is not None:
        return None
    password = passwords.generate_password()
    user = add_user(session, "admin", "admin", actor=actor, display_name="系统管理员",
                    password=password, scope="all")
    return user, password

