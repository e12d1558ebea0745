"""API tokens (bearer) for scripts and other systems: shown once, stored as a SHA-256 hash,
expiring, revocable; each creation and revocation is in the access log."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from functools import lru_cache

from sqlalchemy import String, bindparam, cast
from sqlmodel import Session, func, select

import audit
from access.errors import AccessNotFound, InvalidAccessInput
from access.models import ApiToken, User, UserScope
from access.policy import Principal
from access.users import get_user

PREFIX = "gk_"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str, *, days: int, actor: str,
                 label: str = "") -> tuple[ApiToken, str]:
    """A new token for `username`, valid `days` days; the secret is returned once, never stored."""
    if not 1 <= days <= 3650:
        raise InvalidAccessInput("days", "from 1 to 3650")
    if len(label) > 100 or any(ord(c) < 32 for c in label):
        raise InvalidAccessInput("label", "at most 100 characters, no control characters")
    user = get_user(session, username)
    if user.disabled:
        raise InvalidAccessInput("username", f"user {username!r} is disabled")
    secret = PREFIX + secrets.token_urlsafe(32)
    now = _now()
    token = ApiToken(user_id=user.id, token_hash=digest(secret), label=label, created_at=now,
                     created_by=actor, expires_at=now + dt.timedelta(days=days))
    session.add(token)
    session.flush()
    audit.append_access(session, actor=actor, event="token_created", subject=f"user:{username}",
                        data={"token_id": token.id, "label": label,
                              "expires_at": token.expires_at.isoformat(timespec="seconds")})
    return token, secret


def revoke_token(session: Session, token_id: int, *, actor: str,
                 owner_id: int | None = None) -> ApiToken:
    """Revoke a token at once. `owner_id`: only that user's token (a user revoking their own)."""
    token = session.get(ApiToken, token_id)
    if token is None or (owner_id is not None and token.user_id != owner_id):
        raise AccessNotFound(f"token {token_id} does not exist")
    if token.revoked_at is None:
        token.revoked_at, token.revoked_by = _now(), actor
        session.add(token)
        user = session.get(User, token.user_id)
        audit.append_access(session, actor=actor, event="token_revoked",
                            subject=f"user:{user.username}", data={"token_id": token.id})
    return token


def tokens_of(session: Session, user_id: int) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id)))


@lru_cache(maxsize=None)
def _caller_statement():
    # Built once, and read as plain rows: the token, its user and the user's extra agencies in
    # one statement instead of two ORM queries (~0.3 ms of every API call, profiled).
    scopes = (select(func.aggregate_strings(cast(UserScope.agency_id, String), ","))
              .where(UserScope.user_id == User.id).scalar_subquery())
    return (select(User.id, User.username, User.role, User.agency_id, User.unit_id,
                   User.scope_all, User.disabled, ApiToken.revoked_at, ApiToken.expires_at,
                   scopes.label("scopes"))
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == bindparam("token_hash")))


def token_principal(session: Session, secret: str) -> Principal | None:
    """The caller a bearer token stands for, if it is live (not expired, not revoked, user
    enabled), with the agencies they see (as `access.users.principal` gives them) in one statement."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        return None
    row = session.execute(_caller_statement(), {"token_hash": digest(secret)}).first()
    if row is None or row.revoked_at is not None or row.expires_at <= _now() or row.disabled:
        return None
    if row.scope_all:
        ids = None
    else:
        ids = {int(a) for a in (row.scopes or "").split(",") if a}
        if row.agency_id:
            ids.add(row.agency_id)
        ids = frozenset(ids)
    return Principal(user_id=row.id, username=row.username, role=row.role, agency_id=row.agency_id,
                     unit_id=row.unit_id, agency_ids=ids, via="token")
