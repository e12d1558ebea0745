"""Swagger UI (/docs) and ReDoc (/redoc) served wholly by the app, for offline (intranet) sites.

FastAPI's own pages fetch Swagger UI and ReDoc from a CDN (cdn.jsdelivr.net), their favicon from
fastapi.tiangolo.com and ReDoc's fonts from Google Fonts, none of which a government intranet
reaches. `install_docs` serves instead the copies that the `fastapi-offline` package ships
(Swagger UI 5.x, which renders OpenAPI 3.1, and ReDoc 2.x's redoc.standalone.js) under
/static/docs/, and adds the three pages with every URL local. The pages, the assets and
/openapi.json are public documentation: nothing here asks for a login.

The app must be created with `docs_url=None, redoc_url=None` so FastAPI's CDN pages are not added.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

STATIC_URL = "/static/docs"
# swagger-ui-bundle.js, swagger-ui.css, redoc.standalone.js, favicon.png
ASSETS = Path(str(files("fastapi_offline") / "static"))
DOCS_URL = "/docs"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
REDOC_URL = "/redoc"

# validatorUrl None: otherwise Swagger UI shows a badge image fetched from validator.swagger.io
# whenever the page's host is not localhost, i.e. on every real deployment.
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def install_docs(app: FastAPI) -> None:
    """Mount the assets under /static/docs/ and add GET /docs, /docs/oauth2-redirect and /redoc."""
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        if not (ASSETS / name).is_file():
            raise RuntimeError(f"fastapi-offline no longer ships {name} in {ASSETS}")
    app.mount(STATIC_URL, StaticFiles(directory=ASSETS), name="docs-static")

    def _root(request: Request) -> str:
        # Behind a reverse proxy that strips a prefix (uvicorn --root-path), URLs keep the prefix.
        return request.scope.get("root_path", "").rstrip("/")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{STATIC_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{STATIC_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            oauth2_redirect_url=f"{root}{OAUTH2_REDIRECT_URL}",
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**SWAGGER_UI_PARAMETERS, **(app.swagger_ui_parameters or {})})

    @app.get(OAUTH2_REDIRECT_URL, include_in_schema=False)
    async def swagger_ui_oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = _root(request)
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{STATIC_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{STATIC_URL}/favicon.png",
            with_google_fonts=False)
