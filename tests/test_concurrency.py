"""32 staff press the same button at once: one wins, 31 are told why, the history stays whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlmodel import Session

import audit
from api.app import create_app
from states.models import Request
from tests.conftest import new_request


def _race(engine, settings, rid, event, body, n=32):
    app = create_app(engine, settings)
    barrier = threading.Barrier(n)

    def one(_):
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return c.post(f"/api/v1/requests/{rid}/events/{event}", json=body,
                          headers={"X-Actor": "staff:racer"})

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_32_threads_registering_one_request_one_succeeds_31_get_409(client, engine, settings):
    rid = new_request(client)["id"]
    responses = _race(engine, settings, rid, "register", {"on": "2026-03-02"})
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 31, codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"event_not_allowed"}
    with Session(engine) as session:
        row = session.get(Request, rid)
        assert (row.state, row.version, row.audit_seq) == ("registered", 2, 3)
        events = audit.history(session, rid)
        assert [e.event for e in events] == ["receive", "register", "issue_letter"]
        assert audit.verify(session, rid, expected_head=(row.audit_seq, row.audit_head)).ok


def test_32_threads_with_the_same_expected_version_one_succeeds(client, engine, settings):
    rid = new_request(client)["id"]
    responses = _race(engine, settings, rid, "withdraw", {"on": "2026-03-02", "expected_version": 1})
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 31, codes
    with Session(engine) as session:
        assert len(audit.history(session, rid)) == 2
