"""What every route depends on: a database session, the authenticated user (bearer token or
session cookie with CSRF), the permission a route needs (access/policy.py), and the request the
user may see. The role × route matrix is read from these dependencies (api/matrix.py)."""

# No `from __future__ import annotations`: the closures below annotate with local dependencies,
# which FastAPI could not resolve from strings.

from typing import Annotated

import anyio
import anyio.to_thread

from fastapi import Depends, Request as HttpRequest
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from access.errors import CsrfRefused, Forbidden, NotAuthenticated
from access.policy import PERMISSIONS, Principal
from access.sessions import COOKIE, csrf_ok, resolve_session
from access.tokens import token_principal
from access.users import principal
from api.schemas import RowId
from core.db import session_scope, short_reads
from states.errors import RequestNotFound
from states.presence import read_for_view
from states.service import lock_request
from states.models import Request

UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def reading(http: HttpRequest):
    """The app's engine for transactions that only read: on SQLite they begin deferred, take no
    write lock and wait for no writer (core/db.py); a write in one would fail, not queue."""
    engine = http.app.state.engine
    if getattr(http.app.state, "read_engine", None) is None:
        http.app.state.read_engine = short_reads(engine)
    return http.app.state.read_engine


async def get_session(request: HttpRequest):
    # GET and HEAD never commit (no route of theirs writes): they read beside the writers
    # instead of queueing for the write lock behind them.
    safe = request.method in ("GET", "HEAD")
    # On the event loop, not in the thread pool: making a session touches no database, and each
    # hop to a worker thread and back cost ~0.2 ms of a call (benchmarks/advance_http.py).
    session = Session(reading(request) if safe else request.app.state.engine, expire_on_commit=False)
    try:
        yield session
    finally:
        # A route that committed has handed its connection back already: closing is then pure
        # Python. One still in a transaction rolls it back, which is the database's work — on a
        # thread outside the pool's limit (as FastAPI exits its own dependencies): with every
        # pool thread waiting for the lock this transaction holds, the rollback that frees it
        # would otherwise wait for a thread forever. Shielded: a cancelled call still rolls back.
        if session.in_transaction():
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(session.close, limiter=anyio.CapacityLimiter(1))
        else:
            session.close()


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
    return _caller(http, form_csrf)


def _caller(http: HttpRequest, form_csrf: str | None) -> Principal:
    # Looked up in a read of its own, ended before the route begins: a writer's transaction (and
    # on SQLite its write lock) then spans only the route's own work (benchmarks/advance_http.py).
    auth = http.headers.get("authorization", "")
    if auth:
        scheme, _, secret = auth.partition(" ")
        caller = None
        if scheme.lower() == "bearer":
            with reading(http).connect() as conn:  # one plain statement: no ORM session needed
                caller = token_principal(conn, secret.strip())
        if caller is None:
            raise NotAuthenticated("the bearer token is unknown, expired or revoked")
        return caller
    with session_scope(reading(http)) as session:
        return _cookie_caller(http, session, form_csrf)


def _cookie_caller(http: HttpRequest, session: Session, form_csrf: str | None) -> Principal:
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


def _permit(user: Principal, permission: str) -> Principal:
    if not user.may(permission):
        raise Forbidden(f"the {user.role} role may not {PERMISSIONS[permission][1]}")
    return user


def allow(permission: str):
    """The dependency of a route that needs `permission`; the matrix reads `.permission`."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    # Async: it only compares, so it need not hop to a worker thread and back.
    async def check(user: Annotated[Principal, Depends(authenticated)]) -> Principal:
        return _permit(user, permission)

    check.permission = permission
    check.__name__ = f"allow_{permission.replace('.', '_')}"
    return check


def visible_request(session: Session, user: Principal, request_id: int, *,
                    lock: bool = False, view: bool = False) -> Request:
    """The request, if this user may see it; another agency's (or unit's) is a 404, not a 403, so
    nobody learns which numbers exist elsewhere. `lock`: read it under the row lock the route's
    write will take anyway (states/service.py `lock_request`), which then reads it only once.
    `view`: read it with what its whole view needs (states/presence.py `read_for_view`)."""
    # Held by the session: the scope check and then the route each asked for the row, and the
    # identity map had already let go of it in between (it keeps rows only while referred to).
    held = session.info.setdefault("visible_requests", {})
    if lock:
        row = lock_request(session, request_id, keep=True)
    elif view and request_id not in held:
        row = read_for_view(session, request_id)
    else:
        row = held.get(request_id) or session.get(Request, request_id)
    held[request_id] = row
    if row is None or not user.sees(row.agency_id, row.unit_id):
        raise RequestNotFound(request_id)
    return row


_ROW_ID = TypeAdapter(RowId)


def _row_id(value: str) -> int | None:
    try:
        return _ROW_ID.validate_python(value)
    except ValidationError:
        return None


def scoped(permission: str, *, view: bool = False):
    """`view`: the route answers the request's whole view (`visible_request`)."""
    if permission not in PERMISSIONS:
        raise KeyError(permission)

    # One dependency, so one hop to a worker thread: who calls, may they, and may they see this
    # request (each hop cost ~0.25 ms of a call, benchmarks/advance_http.py). The id is read from
    # the path here, not declared: a declared one is validated before the dependency runs, and a
    # caller with no credential would be told 422 about the id instead of 401. A malformed id
    # gets the route's own 422 once the caller is known to be allowed.
    def dep(http: HttpRequest, session: SessionDep,
            form_csrf: Annotated[str | None, Depends(_form_csrf)]) -> Principal:
        user = _permit(_caller(http, form_csrf), permission)
        request_id = _row_id(http.path_params["request_id"])
        if request_id is not None:
            visible_request(session, user, request_id, lock=http.method in UNSAFE, view=view)
        return user

    dep.permission = permission
    dep.scoped = True
    dep.__name__ = f"scoped_{permission.replace('.', '_')}"
    return dep


Reader = Annotated[Principal, Depends(allow("requests.read"))]
Receiver = Annotated[Principal, Depends(allow("requests.receive"))]
# On routes with {request_id}: the role may, and the request is in the user's scope (else 404).
ScopedReader = Annotated[Principal, Depends(scoped("requests.read"))]
ScopedViewer = Annotated[Principal, Depends(scoped("requests.read", view=True))]
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
