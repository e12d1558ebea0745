"""Hostile input gets a 4xx naming the field, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import fire, new_request


@pytest.mark.parametrize("path, field", [
    (f"/api/v1/requests/{10**20}", "request_id"),
    (f"/api/v1/requests/{2**31}", "request_id"),
    (f"/api/v1/requests/{2**31}/history", "request_id"),
    (f"/api/v1/requests/{2**31}/letters", "request_id"),
    (f"/api/v1/requests?offset={2**63}", "offset"),
    ("/api/v1/requests?department=%00x", "department"),
    ("/api/v1/digests?scope=%00", "scope"),
    (f"/api/v1/digests/{2**40}", "digest_id"),
])
def test_out_of_range_ids_and_nul_bytes_in_queries_are_refused_naming_the_field(client, path, field):
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field


def test_an_event_on_an_id_beyond_the_database_range_is_refused(client):
    r = client.post(f"/api/v1/requests/{2**31}/events/register", json={"on": "2026-03-02"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "request_id"
    rid = new_request(client)["id"]
    bad = fire(client, rid, "register", "2026-03-02", expect=422, assignee="王芳\x00")
    assert bad["detail"][0]["field"] == "assignee"
