"""The ASGI app (`api.app:app`): routes, error shapes, and per-call log context."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import Engine

from api import errors
from api.calendar import router as calendar_router
from api.letters import router as letters_router
from api.middleware import RequestContext
from api.routes import router
from api.supervision import router as supervision_router
from core.config import Settings, get_settings
from core.db import get_engine
from core.logging import configure_logging


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
    # Pure ASGI: request id, body size limit, JSON 500 inside the app (see api/middleware.py).
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes)
    return app


app = create_app()
