"""One shape for every error: {"error": kind, "message": text, "detail": [...]} — never a bare 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from access.errors import AccessError, InvalidAccessInput, NotAuthenticated, Throttled
from core.logging import get_logger
from states.errors import (ConcurrentChange, EventNotAllowed, RequestNotFound, RuleViolation,
                           UnknownEvent)

log = get_logger("api.errors")


def _body(status: int, kind: str, message: str, detail=None, **extra) -> JSONResponse:
    return JSONResponse(status_code=status,
                        content={"error": kind, "message": message, "detail": detail or [], **extra})


def _field(loc) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path")]
    return ".".join(parts) or "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError):
        detail = [{"field": _field(e["loc"]), "rule": e["msg"], "type": e["type"]} for e in exc.errors()]
        message = "; ".join(f"{d['field']}: {d['rule']}" for d in detail)
        return _body(422, "invalid_input", message, detail)

    @app.exception_handler(RuleViolation)
    async def _rule(_req: Request, exc: RuleViolation):
        return _body(422, "rule_violation", str(exc), [{"field": exc.field, "rule": exc.rule}])

    @app.exception_handler(UnknownEvent)
    async def _unknown(_req: Request, exc: UnknownEvent):
        return _body(422, "unknown_event", str(exc), [{"field": "event", "rule": str(exc)}],
                     events=exc.known)

    @app.exception_handler(EventNotAllowed)
    async def _not_allowed(_req: Request, exc: EventNotAllowed):
        return _body(409, "event_not_allowed", str(exc), state=exc.state, allowed_events=exc.allowed)

    @app.exception_handler(ConcurrentChange)
    async def _conflict(_req: Request, exc: ConcurrentChange):
        return _body(409, "concurrent_change", str(exc))

    @app.exception_handler(RequestNotFound)
    async def _missing(_req: Request, exc: RequestNotFound):
        return _body(404, "not_found", str(exc))

    @app.exception_handler(AccessError)
    async def _access(_req: Request, exc: AccessError):
        detail = [{"field": exc.field, "rule": exc.rule}] if isinstance(exc, InvalidAccessInput) else []
        response = _body(exc.status, exc.kind, str(exc), detail)
        if isinstance(exc, NotAuthenticated):
            response.headers["WWW-Authenticate"] = "Bearer"
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        return _body(exc.status_code, "http_error", str(exc.detail))

    @app.exception_handler(Exception)
    async def _crash(_req: Request, exc: Exception):
        log.error("unhandled_error", exc_info=exc)
        return _body(500, "internal_error", "internal error; the change was not saved")
