"""What every route depends on: a database session, the authenticated user (bearer token or
session cookie with CSRF), the permission a route needs (access/policy.py), and the request the
user may see. The role × route matrix is read from these dependencies (api/matrix.py)."""

# No `from __future__ import annotations`: the closures below annotate with local dependencies,
# which FastAPI could not resolve from strings.

from typing import Annotated

from fastapi import Depends, Request as HttpRequest
from sqlmodel import Session

from access.errors import CsrfRefused, Forbidden, NotAuthenticated
from access.policy import PERMISSIONS, Principal
from access.sessions import COOKIE, csrf_ok, resolve_session
from access.tokens import resolve_token
from access.users import principal
from api.schemas import RowId
from core.db import session_scope, short_reads
from states.errors import RequestNotFound
from states.models import Request

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def reading(http: HttpRequest):
    """The app's engine for transactions that only read: on SQLite they begin deferred, take no
    write lock and wait for no writer (core/db.py); a write in one would fail, not queue."""
    engine = http.app.state.engine
    if getattr(http.app.state, "read_engine", None) is None:
        http.app.state.read_engine = short_reads(engine)
    return http.app.state.read_engine


def get_session(request: HttpRequest):
    # GET and HEAD never commit (no route of theirs writes): they read beside the writers
    # instead of queueing for the write lock behind them.
    safe = request.method in ("GET", "HEAD")
    with session_scope(reading(request) if safe else request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def _form_csrf(http: HttpRequest) -> str | None:
    """The `csrf_token` field of a posted form (reading the body is the event loop's work)."""
    if http.method in UNSAFE and http.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await http.form()  # cached: the route's own Form fields still read it
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


# Sync on purpose, so FastAPI runs it in the thread pool: on the event loop, a token lookup
# waiting for SQLite's write lock stopped the loop from starting the very route that held the
# lock — every writer then waited out the busy timeout (measured: 8 concurrent `register`s, 30 s,
# "database is locked").
def authenticated(http: HttpRequest,
                  form_csrf: Annotated[str | None, Depends(_form_csrf)]) -> Principal:
    """The caller: `Authorization: Bearer gk_…` (API clients) or the `gongkai_session` cookie (web
    pages; an unsafe method must echo the session's CSRF token in `X-CSRF-Token` or a
    `csrf_token` form field). Anything else: 401."""
    # Looked up in a read of its own, ended before the route begins: a writer's transaction (and
    # on SQLite its write lock) then spans only the route's own work (benchmarks/advance_http.py).
    with session_scope(reading(http)) as session:
        return _caller(http, session, form_csrf)


def _caller(http: HttpRequest, session: Session, form_csrf: str | None) -> Principal:
    auth = http.headers.get("authorization", "")
    if auth:
        scheme, _, secret = auth.partition(" ")
        user = resolve_token(session, secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise NotAuthenticated("the bearer token is unknown, expired or revoked")
        return principal(session, user, "token")
    cookie = http.cookies.get(COOKIE)
    if cookie:
        found = resolve_session(session, cookie)
        if found is None:
            raise NotAuthenticated("the session has ended; log in again")
        user, web = found
        if http.method in UNSAFE:
            given = http.headers.get("x-csrf-token") or form_csrf
            if not csrf_ok(web.csrf_token, given):
                raise CsrfRefused("the CSRF token is missing or wrong (X-CSRF-Token header or "
                                  "csrf_token form field, as given at login)")
        return principal(session, user, "session", web.csrf_token)
    raise NotAuthenticated("log in (POST /api/v1/auth/login) or send Authorization: Bearer <token>")


def allow(permission: str):
    """The dependency of a route that needs `permission`; the matrix reads `.permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    def check(user: Annotated[Principal, Depends(authenticated)]) -> Principal:
        if not user.may(permission):
            raise Forbidden(f"the {user.role} role may not {PERMISSIONS[permission][1]}")
        return user

    check.permission = permission
    check.__name__ = f"allow_{permission.replace('.', '_')}"
    return check


def visible_request(session: Session, user: Principal, request_id: int) -> Request:
    """The request, if this user may see it; another agency's (or unit's) is a 404, not a 403, so
    nobody learns which numbers exist elsewhere."""
    # Held by the session: the scope check and then the route each asked for the row, and the
    # identity map had already let go of it in between (it keeps rows only while referred to).
    held = session.info.setdefault("visible_requests", {})
    row = held.get(request_id) or session.get(Request, request_id)
    held[request_id] = row
    if row is None or not user.sees(row.agency_id, row.unit_id):
        raise RequestNotFound(request_id)
    return row


def scoped(permission: str):
    guard = allow(permission)

    def dep(request_id: RowId, session: SessionDep,
            user: Annotated[Principal, Depends(guard)]) -> Principal:
        visible_request(session, user, request_id)
        return user

    dep.permission = permission
    dep.scoped = True
    dep.__name__ = f"scoped_{permission.replace('.', '_')}"
    return dep


Reader = Annotated[Principal, Depends(allow("requests.read"))]
Receiver = Annotated[Principal, Depends(allow("requests.receive"))]
# On routes with {request_id}: the role may, and the request is in the user's scope (else 404).
ScopedReader = Annotated[Principal, Depends(scoped("requests.read"))]
ScopedActor = Annotated[Principal, Depends(scoped("requests.act"))]
ScopedRevealer = Annotated[Principal, Depends(scoped("requests.reveal_id"))]
SupervisionReader = Annotated[Principal, Depends(allow("supervision.read"))]
SupervisionActor = Annotated[Principal, Depends(allow("supervision.act"))]
CalendarReader = Annotated[Principal, Depends(allow("calendar.read"))]
ReportReader = Annotated[Principal, Depends(allow("reports.read"))]
ReportPublisher = Annotated[Principal, Depends(allow("reports.publish"))]
Approver = Annotated[Principal, Depends(allow("requests.approve"))]
ProactiveManager = Annotated[Principal, Depends(allow("proactive.manage"))]
AgencyReader = Annotated[Principal, Depends(allow("agencies.read"))]
Admin = Annotated[Principal, Depends(allow("admin"))]
Self = Annotated[Principal, Depends(allow("self"))]
