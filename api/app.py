"""The ASGI app (`api.app:app`): routes, error shapes, and per-call log context."""

from __future__ import annotations

import uuid

import structlog
from fastapi import FastAPI, Request
from sqlalchemy import Engine

from api import errors
from api.calendar import router as calendar_router
from api.letters import router as letters_router
from api.routes import router
from api.supervision import router as supervision_router
from core.config import Settings, get_settings
from core.db import get_engine
from core.logging import configure_logging, get_logger


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    app = FastAPI(title="Gongkai 公开", version="0.1.0",
                  description="依申请公开 workflow engine under the 政府信息公开条例 (2019).")
    app.state.engine = engine or get_engine()
    app.state.settings = settings
    errors.install(app)
    app.include_router(router)
    app.include_router(letters_router)
    app.include_router(supervision_router)
    app.include_router(calendar_router)
    log = get_logger("api")

    @app.middleware("http")
    async def bind_request_id(request: Request, call_next):
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(http_request_id=request_id)
        response = await call_next(request)
        response.headers["x-request-id"] = request_id
        log.info("http", method=request.method, path=request.url.path, status=response.status_code)
        return response

    return app


app = create_app()
