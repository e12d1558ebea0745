"""The yardsticks benchmarks/advance_http.py measures the one door against: FastAPI endpoints
that do by hand the database work of advancing a request — lock the row, update it, append the
audit event (hashed like the chain's), queue one outbox row, commit — and one that inserts one
row. Served by uvicorn on the same database (GONGKAI_DATABASE_URL) as the real API."""

from __future__ import annotations

import datetime as dt
import json

from fastapi import FastAPI
from sqlalchemy import text

from audit.chain import _event_values
from core.db import get_engine

app = FastAPI()


@app.on_event("startup")
def _table() -> None:
    engine = get_engine()
    key = "SERIAL PRIMARY KEY" if engine.dialect.name == "postgresql" else "INTEGER PRIMARY KEY"
    with engine.begin() as conn:
        conn.execute(text(f"CREATE TABLE IF NOT EXISTS bench_row (id {key}, at TEXT)"))


@app.post("/bare/advance/{request_id}")
def advance(request_id: int) -> dict:
    now = dt.datetime.now(dt.timezone.utc)
    with get_engine().begin() as conn:
        row = conn.execute(text("SELECT state, version, audit_seq, audit_head FROM request "
                                "WHERE id = :i" + (" FOR UPDATE" if conn.dialect.name == "postgresql"
                                                   else "")), {"i": request_id}).one()
        event = _event_values(request_id=request_id, seq=row.audit_seq + 1, prev_hash=row.audit_head,
                              on="2026-03-02", actor="bench", event="register",
                              from_state=row.state, to_state="registered",
                              data={"due_on": "2026-03-30"})
        conn.execute(text("UPDATE request SET state = 'registered', version = version + 1, "
                          "audit_seq = :s, audit_head = :h WHERE id = :i"),
                     {"s": event["seq"], "h": event["hash"], "i": request_id})
        conn.execute(text('INSERT INTO audit_event (request_id, seq, recorded_at, "on", actor, event, '
                          "from_state, to_state, data, prev_hash, hash) VALUES (:request_id, :seq, "
                          ":recorded_at, :on, :actor, :event, :from_state, :to_state, :data, "
                          ":prev_hash, :hash)"), event)
        conn.execute(text("INSERT INTO outbox (request_id, kind, payload, status, attempts, "
                          "available_at, created_at) VALUES (:r, 'render_letter', :p, 'pending', 0, "
                          ":t, :t)"), {"r": request_id, "p": json.dumps({"seq": event["seq"]}), "t": now})
    return {"id": request_id, "state": "registered", "audit_seq": event["seq"]}


@app.post("/bare/insert")
def insert_one() -> dict:
    with get_engine().begin() as conn:
        conn.execute(text("INSERT INTO bench_row (at) VALUES (:t)"),
                     {"t": dt.datetime.now(dt.timezone.utc).isoformat()})
    return {"ok": True}
