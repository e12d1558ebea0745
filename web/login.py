"""Who is looking at a page: the `gongkai_session` cookie of a password login (the same sessions
as the API's /auth/login), and the CSRF token every form that changes something must carry."""

from __future__ import annotations

from fastapi import Request as HttpRequest
from sqlmodel import Session

from access.policy import Principal
from access.sessions import COOKIE, csrf_ok, resolve_session
from access.users import principal
from core.db import session_scope, short_reads


class LoginRequired(Exception):
    """No live session: the page answers with a redirect to the login page."""

    def __init__(self, next_path: str):
        self.next_path = next_path


class FormRefused(Exception):
    """A form post without the session's CSRF token."""


class NotPermitted(Exception):
    """The officer's role may not see or do this (the same permissions as the API's)."""

    def __init__(self, message: str, title: str = "无权操作"):
        self.message, self.title = message, title


def need(user: Principal, permission: str, message: str = "您的角色不能查看本页。") -> None:
    if not user.may(permission):
        raise NotPermitted(message)


def page_user(http: HttpRequest, session: Session) -> Principal:
    """The logged-in officer, or LoginRequired (the login page then returns them here)."""
    cookie = http.cookies.get(COOKIE)
    found = resolve_session(session, cookie) if cookie else None
    if found is None:
        # After logging in, back to the page (a lapsed session's form post: to the 台账).
        target = (http.url.path + (f"?{http.url.query}" if http.url.query else "")
                  if http.method == "GET" else "/ledger")
        raise LoginRequired(target)
    user, web = found
    return principal(session, user, "session", web.csrf_token)


def logged_in(http: HttpRequest) -> None:
    """LoginRequired unless a session is live (checked in a read of its own)."""
    with session_scope(short_reads(http.app.state.engine)) as session:
        page_user(http, session)


def check_form(user: Principal, given: str | None) -> None:
    if not csrf_ok(user.csrf_token, given):
        raise FormRefused()


def form_user(http: HttpRequest, session: Session, form) -> Principal:
    """The logged-in officer posting `form`, which must carry the session's CSRF token."""
    user = page_user(http, session)
    token = form.get("csrf_token")
    check_form(user, token if isinstance(token, str) else None)
    return user


def safe_next(value: str | None) -> str:
    """Where to go after logging in: only a path of this site (never //host or a scheme)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"
