"""/docs and /redoc work with no internet: every asset they load is served by the app, no login asked."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

# The pages do not depend on the database: one backend is enough.
pytestmark = pytest.mark.parametrize("db", ["sqlite"], indirect=True)

CONTENT_TYPES = {".js": "javascript", ".css": "text/css", ".png": "image/png"}


@pytest.fixture
def anonymous(client):
    """The real app, with no header at all: the documentation is public."""
    return TestClient(client.app, raise_server_exceptions=False)


def _page(anonymous, path):
    response = anonymous.get(path)
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    return response.text


def _asset_urls(html):
    return re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', html)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_page_loads_nothing_from_outside(anonymous, path):
    html = _page(anonymous, path)
    assert "http://" not in html and "https://" not in html, "a URL to another host in " + path
    assert "fonts.googleapis" not in html
    urls = _asset_urls(html)
    assert any(u.endswith(".js") for u in urls), urls
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc and url.startswith("/"), url
        answer = anonymous.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        suffix = parts.path[parts.path.rfind("."):]
        assert CONTENT_TYPES[suffix] in answer.headers["content-type"], (url, answer.headers["content-type"])
        assert len(answer.content) > 1000, url


def test_swagger_ui_is_major_version_5_and_shows_no_online_validator_badge(anonymous):
    html = _page(anonymous, "/docs")
    bundle = next(u for u in _asset_urls(html) if u.endswith("swagger-ui-bundle.js"))
    version = re.search(r'PACKAGE_VERSION:"(\d+)\.(\d+)\.(\d+)"', anonymous.get(bundle).text)
    assert version and version.group(1) == "5", "Swagger UI 4.x cannot render OpenAPI 3.1"
    # The badge is an image from validator.swagger.io, fetched on any host but localhost.
    assert '"validatorUrl": null' in html
    assert re.search(r"oauth2RedirectUrl: window\.location\.origin \+ '/docs/oauth2-redirect'", html)
    assert anonymous.get("/docs/oauth2-redirect").status_code == 200


def test_redoc_is_the_standalone_2x_bundle(anonymous):
    html = _page(anonymous, "/redoc")
    bundle = next(u for u in _asset_urls(html) if u.endswith("redoc.standalone.js"))
    version = re.search(r'ReDoc Version: ",\s*"(\d+)\.\d+\.\d+"', anonymous.get(bundle).text)
    assert version and version.group(1) == "2", "FastAPI's page is made for ReDoc 2.x"


def test_the_spec_the_pages_read_is_public_and_3_1(anonymous):
    for path in ("/docs", "/redoc"):
        html = _page(anonymous, path)
        spec_url = re.search(r"""url: '([^']+)'|spec-url="([^"]+)\"""", html)
        spec_url = spec_url.group(1) or spec_url.group(2)
        assert spec_url == "/openapi.json", spec_url
    spec = anonymous.get("/openapi.json")
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")
    assert "/docs" not in spec.json()["paths"] and "/redoc" not in spec.json()["paths"]
