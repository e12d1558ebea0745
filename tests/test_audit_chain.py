"""The history a legal reviewer reads: the database refuses to alter it, and verify names any tampering."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session

import audit
from states.models import Request
from tests.conftest import fire, new_request


def _lifecycle(client) -> int:
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-03")
    # already public: nothing new is disclosed, so no confidentiality review comes between
    fire(client, rid, "decide", "2026-03-04", outcome="disclosed_already_public")
    return rid


@pytest.mark.parametrize("statement", [
    "UPDATE audit_event SET actor = 'staff:someone_else' WHERE seq = 2",
    "DELETE FROM audit_event WHERE seq = 4",
])
def test_the_database_refuses_to_update_or_delete_audit_rows(client, engine, statement):
    rid = _lifecycle(client)
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text(statement))
    assert client.get(f"/api/v1/requests/{rid}/history").json()["verified"] is True


def test_postgresql_refuses_truncate_of_the_audit_table(client, engine, db):
    if db[2] != "postgresql":
        pytest.skip("TRUNCATE is a PostgreSQL statement")
    _lifecycle(client)
    with pytest.raises(DBAPIError, match="append-only: TRUNCATE refused"):
        with engine.begin() as conn:
            conn.execute(text("TRUNCATE audit_event"))


def _tamper(engine, backend: str, statement: str) -> None:
    """What a superuser could do: switch the guards off, rewrite, switch them back on."""
    from audit.guards import guard_statements
    with engine.begin() as conn:
        if backend == "sqlite":
            conn.execute(text("DROP TRIGGER audit_event_no_update"))
            conn.execute(text("DROP TRIGGER audit_event_no_delete"))
            conn.execute(text(statement))
            for s in guard_statements("sqlite"):
                conn.execute(text(s))
        else:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
            conn.execute(text(statement))
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))


def test_a_row_altered_behind_the_triggers_back_is_named_by_verify(client, engine, db):
    rid = _lifecycle(client)
    _tamper(engine, db[2], "UPDATE audit_event SET data = replace(data, 'disclosed', "
                           "'withheld_state_secret') WHERE event = 'decide'")
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert history["verified"] is False
    # receive 1, register 2, its 登记回执 issue_letter 3, review 4, decide 5
    assert history["first_broken_seq"] == 5
    assert history["problem"] == "event 5 was altered after it was written"


def test_a_deleted_last_event_is_caught_by_the_head_kept_on_the_request(client, engine, db):
    rid = _lifecycle(client)
    _tamper(engine, db[2], "DELETE FROM audit_event WHERE event = 'decide'")
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert (history["verified"], history["first_broken_seq"]) == (False, 5)
    assert history["problem"] == "events 5..5 are missing"


def test_a_deleted_middle_event_breaks_the_chain_at_that_event(client, engine, db):
    rid = _lifecycle(client)
    _tamper(engine, db[2], "DELETE FROM audit_event WHERE seq = 2")
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert (history["verified"], history["first_broken_seq"]) == (False, 2)


def test_canonical_json_is_sorted_compact_utf8_and_refuses_floats():
    assert audit.canonical_json({"b": 1, "a": "公开"}) == '{"a":"公开","b":1}'
    with pytest.raises(TypeError, match="floats"):
        audit.canonical_json({"amount": 1.5})


def test_a_failure_after_the_audit_append_but_before_commit_leaves_no_trace(client, engine, monkeypatch):
    rid = new_request(client)["id"]
    import states.service as service

    real_queue = service._queue

    def explode(ctx, event, data):
        real_queue(ctx, event, data)
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(service, "_queue", explode)
    response = client.post(f"/api/v1/requests/{rid}/events/register", json={"on": "2026-03-02"})
    assert response.status_code == 500
    assert response.json()["message"] == "internal error; the change was not saved"
    monkeypatch.setattr(service, "_queue", real_queue)

    with Session(engine) as session:
        row = session.get(Request, rid)
        assert (row.state, row.version, row.audit_seq) == ("received", 1, 1)
        assert len(audit.history(session, rid)) == 1
        assert session.execute(text("SELECT count(*) FROM outbox")).scalar_one() == 0
    assert fire(client, rid, "register", "2026-03-02")["state"] == "registered"
    assert client.get(f"/api/v1/requests/{rid}/history").json()["verified"] is True


def test_each_step_queues_its_side_effect_in_the_same_transaction(client, engine):
    rid = _lifecycle(client)
    with engine.connect() as conn:
        kinds = [r[0] for r in conn.execute(text("SELECT kind FROM outbox ORDER BY id"))]
    # register issued the 登记回执: its DOCX and PDF are rendered by the outbox; deciding
    # sends nothing until send_reply.
    assert kinds == ["render_letter"]
    assert rid
