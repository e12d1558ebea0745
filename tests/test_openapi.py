"""The OpenAPI tells the truth about errors, event bodies and file downloads."""

from __future__ import annotations

from api.schemas import EVENT_BODIES
from tests.conftest import new_request


def test_every_route_documents_the_real_error_shape(client):
    spec = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            schema = operation["responses"]["422"]["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path)
            assert {"404", "409", "500"} <= set(operation["responses"]), (method, path)


def test_each_event_is_its_own_route_with_its_typed_body(client):
    spec = client.get("/openapi.json").json()
    for event, body in EVENT_BODIES.items():
        operation = spec["paths"][f"/api/v1/requests/{{request_id}}/events/{event}"]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{body.__name__}"
    assert "/api/v1/requests/{request_id}/events/{event}" not in spec["paths"]
    rid = new_request(client)["id"]
    unknown = client.post(f"/api/v1/requests/{rid}/events/fly", json={"on": "2026-03-02"})
    assert unknown.status_code == 422 and unknown.json()["error"] == "unknown_event"


def test_letter_downloads_and_previews_are_documented_as_files_not_json(client):
    spec = client.get("/openapi.json").json()
    download = spec["paths"]["/api/v1/requests/{request_id}/letters/{letter_id}.{fmt}"]["get"]
    assert set(download["responses"]["200"]["content"]) == {
        "text/html; charset=utf-8", "application/pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
    preview = spec["paths"]["/api/v1/requests/{request_id}/letters/draft/preview"]["get"]
    assert "application/json" not in preview["responses"]["200"]["content"]


def test_every_route_but_the_public_ones_declares_the_bearer_token(client):
    """So /docs offers "Authorize" and its "Try it out" calls carry the token."""
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["bearer"] == {
        "type": "http", "scheme": "bearer",
        "description": "gongkai tokens create NAME, or POST /api/v1/auth/tokens"}
    public = {(m, p) for p, ops in spec["paths"].items() for m, op in ops.items() if "security" not in op}
    assert public == {("post", "/api/v1/auth/login"), ("get", "/api/v1/health")}
