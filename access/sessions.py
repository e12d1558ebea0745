"""Password login for the web pages: argon2 verification, failed attempts recorded, the account
locked after repeated failures and an address throttled; a session cookie (its hash stored)
with a CSRF token that every unsafe call made with the cookie must echo."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from sqlmodel import Session, func, select

import audit
from access import passwords
from access.errors import LoginRefused, Throttled
from access.models import LoginAttempt, User, WebSession
from core.config import Settings

COOKIE = "gongkai_session"
THROTTLE_WINDOW = dt.timedelta(minutes=10)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass
class Login:
    user: User | None
    secret: str | None = None          # the cookie value, on success
    web_session: WebSession | None = None
    refusal: Exception | None = None   # raise after committing the record of the attempt


def login(session: Session, username: str, password: str, *, remote: str,
          settings: Settings) -> Login:
    """Try a password. The attempt is recorded whatever the outcome; the caller commits and then
    raises `refusal` if there is one, so a refused login is never rolled back out of the record."""
    now = _now()
    typed = username[:64]

    def refuse(user: User | None, reason: str, error: Exception) -> Login:
        session.add(LoginAttempt(username=typed, remote=remote, at=now, ok=False, reason=reason))
        return Login(user, refusal=error)

    failures_here = session.exec(select(func.count()).select_from(LoginAttempt).where(
        LoginAttempt.remote == remote, LoginAttempt.ok.is_(False),
        LoginAttempt.at > now - THROTTLE_WINDOW)).one()
    if failures_here >= settings.login_throttle_per_address:
        return refuse(None, "throttled", Throttled(
            "too many failed logins from this address; wait 10 minutes", int(THROTTLE_WINDOW.total_seconds())))
    user = session.exec(select(User).where(User.username == typed).with_for_update()).first()
    locked_until = user.locked_until if user is not None else _unknown_locked_until(
        session, typed, now, settings)
    good = passwords.verify_password(user.password_hash if user else None, password)
    if locked_until is not None and locked_until > now:
        # Checked after the hash, and worded alike for an unknown name: neither the time taken
        # nor the answer tells which names exist.
        wait = int((locked_until - now).total_seconds()) + 1
        return refuse(user, "locked", Throttled(
            f"the account is locked after {settings.login_max_failures} failed logins; "
            f"try again in {wait // 60 + 1} minutes or ask an admin to set a new password", wait))
    if not good:
        if user is None:
            return refuse(None, "unknown_user", LoginRefused())
        user.failed_logins += 1
        if user.failed_logins >= settings.login_max_failures:
            user.locked_until = now + dt.timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            audit.append_access(session, actor="system:login", event="user_locked",
                                subject=f"user:{user.username}",
                                data={"until": user.locked_until.isoformat(timespec="seconds"),
                                      "remote": remote})
        session.add(user)
        return refuse(user, "bad_password", LoginRefused())
    if user.disabled:
        return refuse(user, "disabled", LoginRefused())
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    user.failed_logins, user.locked_until = 0, None
    session.add(user)
    secret = secrets.token_urlsafe(32)
    web = WebSession(user_id=user.id, session_hash=_digest(secret), csrf_token=secrets.token_urlsafe(24),
                     created_at=now, expires_at=now + dt.timedelta(hours=settings.session_hours))
    session.add(web)
    session.add(LoginAttempt(username=typed, remote=remote, at=now, ok=True))
    session.flush()
    return Login(user, secret=secret, web_session=web)


def _unknown_locked_until(session: Session, typed: str, now: dt.datetime,
                         settings: Settings) -> dt.datetime | None:
    """A name that is no user's locks like a user's would: after as many failures, as long."""
    window = dt.timedelta(minutes=settings.lockout_minutes)
    failures = session.exec(select(LoginAttempt.at).where(
        LoginAttempt.username == typed, LoginAttempt.ok.is_(False), LoginAttempt.reason != "locked",
        LoginAttempt.at > now - window).order_by(LoginAttempt.at)).all()
    if len(failures) < settings.login_max_failures:
        return None
    at = failures[settings.login_max_failures - 1]
    at = at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)
    return at + window


def resolve_session(session: Session, secret: str) -> tuple[User, WebSession] | None:
    if not secret or len(secret) > 200:
        return None
    row = session.exec(select(WebSession, User).join(User, User.id == WebSession.user_id)
                       .where(WebSession.session_hash == _digest(secret))).first()
    if row is None:
        return None
    web, user = row
    if web.ended_at is not None or web.expires_at <= _now() or user.disabled:
        return None
    return user, web


def logout(session: Session, secret: str) -> None:
    found = resolve_session(session, secret)
    if found:
        web = found[1]
        web.ended_at = _now()
        session.add(web)


def csrf_ok(expected: str | None, given: str | None) -> bool:
    # Compared as bytes: compare_digest refuses non-ASCII str (a typed "é" was a 500).
    if not (isinstance(expected, str) and isinstance(given, str) and expected and given):
        return False
    return secrets.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))
