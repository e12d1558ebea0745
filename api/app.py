"""The ASGI app (`api.app:app`): routes, error shapes, offline docs, and per-call log context."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from access.agencies import bootstrap
from api import errors
from api.access_routes import router as access_router
from api.calendar import router as calendar_router
from api.docs import install_docs
from web.pages import install as install_pages
from api.letters import router as letters_router
from api.middleware import RequestContext
from api.proactive import router as proactive_router
from api.routes import router
from api.reports import router as reports_router
from api.supervision import router as supervision_router
from api.watch import router as watch_router
from core.config import Settings, get_settings
from core.db import get_engine, session_scope
from core.logging import configure_logging, get_logger


# Every router of the API, in order (api/matrix.py reads their routes' permissions).
ROUTERS = (access_router, router, letters_router, supervision_router, watch_router,
           proactive_router, reports_router, calendar_router)


def create_app(engine: Engine | None = None, settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, settings.log_json)
    # /docs and /redoc from assets the app serves itself: the 政务外网 has no CDN.
    app = FastAPI(title="Gongkai 公开", version="0.1.0", docs_url=None, redoc_url=None,
                  lifespan=lifespan,
                  description="依申请公开 workflow engine under the 政府信息公开条例 (2019). "
                              "Authenticate with `Authorization: Bearer <token>` "
                              "(`gongkai tokens create NAME`) or a session from POST /api/v1/auth/login.")
    app.state.engine = engine or get_engine()
    app.state.settings = settings
    errors.install(app)
    install_docs(app)
    for each in ROUTERS:
        app.include_router(each)
    # The pages for staff, supervisors and legal reviewers share the app (and its sessions).
    install_pages(app)
    _declare_bearer(app)
    # Pure ASGI: request id, body size limit, JSON 500 inside the app (see api/middleware.py).
    app.add_middleware(RequestContext, max_body_bytes=settings.max_body_bytes,
                       max_upload_bytes=settings.max_upload_bytes)

    return app


def _declare_bearer(app: FastAPI) -> None:
    """The OpenAPI names the bearer token on every route but the public ones, so /docs offers
    "Authorize" and its "Try it out" calls carry the token."""
    from api.matrix import PUBLIC

    build = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = build()
            schema.setdefault("components", {})["securitySchemes"] = {
                "bearer": {"type": "http", "scheme": "bearer",
                           "description": "gongkai tokens create NAME, or POST /api/v1/auth/tokens"}}
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if (method.upper(), path) not in PUBLIC:
                        operation["security"] = [{"bearer": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi


def _bootstrap_agency(app: FastAPI) -> None:
    """A one-agency deployment's GONGKAI_AGENCY__* settings fill in its agency row (idempotent:
    every worker of a multi-worker launcher runs it)."""
    try:
        with session_scope(app.state.engine) as session:
            bootstrap(session, app.state.settings)
            session.commit()
    except SQLAlchemyError as exc:
        get_logger("api").error("agency_bootstrap_failed", problem=type(exc).__name__,
                                hint="is the database migrated? gongkai db upgrade")


@asynccontextmanager
async def lifespan(app: FastAPI):
    _bootstrap_agency(app)
    # What start-up built (modules, routes, mappers: ~200k objects) lives as long as the process.
    # Frozen, the collector stops walking it: each full collection was ~130 ms with every request
    # thread waiting (profiled), the p99 of concurrent writes.
    gc.collect()
    gc.freeze()
    yield


app = create_app()
