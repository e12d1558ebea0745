"""Who is looking at a page: the `gongkai_session` cookie of a password login (the same sessions
as the API's /auth/login), and the CSRF token every form that changes something must carry."""

from __future__ import annotations

from fastapi import Request as HttpRequest
from sqlmodel import Session

from access.policy import Principal
from access.sessions import COOKIE, csrf_ok, resolve_session
from access.users import principal


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the login page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class FormRefused(Exception):
    """A form post without the session's CSRF token."""


def page_user(http: HttpRequest, session: Session) -> Principal:
    """The logged-in officer, or LoginRequired (the login page then returns them here)."""
    cookie = http.cookies.get(COOKIE)
    found = resolve_session(session, cookie) if cookie else None
    if found is None:
        target = http.url.path + (f"?{http.url.query}" if http.url.query else "")
        raise LoginRequired(target)
    user, web = found
    return principal(session, user, "session", web.csrf_token)


def check_form(user: Principal, given: str | None) -> None:
    if not csrf_ok(user.csrf_token, given):
        raise FormRefused()


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only a path of this site (never //host or a scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ledger"
