"""Appending to and verifying a request's hash chain.

hash(n) = SHA-256 over the canonical JSON of event n's fields including hash(n-1); the first
event links to GENESIS_HASH. Canonical JSON: sorted keys, no spaces, UTF-8, and no floats
(their text form is not stable across languages, so a reviewer could not recompute it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session, select

from audit.models import AuditEvent

GENESIS_HASH = "0" * 64


def _reject_unknown(value: Any):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"audit data cannot hold {type(value).__name__}: {value!r}")


def _check_no_floats(value: Any) -> None:
    if isinstance(value, float):
        raise TypeError(f"audit data cannot hold floats ({value!r}): use integers or strings")
    if isinstance(value, dict):
        for v in value.values():
            _check_no_floats(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _check_no_floats(v)


def canonical_json(value: Any) -> str:
    _check_no_floats(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_reject_unknown)


def event_hash(*, request_id: int, seq: int, recorded_at: str, on: str, actor: str, event: str,
               from_state: str | None, to_state: str, data: str, prev_hash: str) -> str:
    body = canonical_json({
        "request_id": request_id, "seq": seq, "recorded_at": recorded_at, "on": on,
        "actor": actor, "event": event, "from_state": from_state, "to_state": to_state,
        "data": data, "prev_hash": prev_hash,
    })
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _event_values(*, request_id: int, seq: int, prev_hash: str, on: dt.date | str, actor: str,
                  event: str, from_state: str | None, to_state: str, data: dict[str, Any],
                  recorded_at: dt.datetime | None = None) -> dict[str, Any]:
    recorded = (recorded_at or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="microseconds")
    values = {"request_id": request_id, "seq": seq, "recorded_at": recorded,
              "on": on.isoformat() if isinstance(on, dt.date) else on, "actor": actor,
              "event": event, "from_state": from_state, "to_state": to_state,
              "data": canonical_json(data), "prev_hash": prev_hash}
    values["hash"] = event_hash(**values)
    return values


def append(session: Session, **event: Any) -> AuditEvent:
    """Add event `seq` after `prev_hash`. The caller holds the lock on the chain head."""
    row = AuditEvent(**_event_values(**event))
    session.add(row)
    session.flush()
    return row


def append_many(session: Session, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bulk form of `append` for batch writers (one INSERT for many chains' next events)."""
    values = [_event_values(**e) for e in events]
    if values:
        session.execute(insert(AuditEvent.__table__), values)
    return values


def history(session: Session, request_id: int) -> list[AuditEvent]:
    return list(session.exec(
        select(AuditEvent).where(AuditEvent.request_id == request_id).order_by(AuditEvent.seq)
    ))


@dataclass
class VerifyResult:
    ok: bool
    events: int
    first_broken_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)


def verify(session: Session, request_id: int, *, expected_head: tuple[int, str] | None = None,
           events: list[AuditEvent] | None = None) -> VerifyResult:
    """Recompute the chain and name the first event that does not hold.

    `expected_head` (seq, hash) is the head recorded on the request row; without it a
    deleted tail would go unnoticed.
    """
    rows = events if events is not None else history(session, request_id)
    prev = GENESIS_HASH
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return VerifyResult(False, len(rows), expected_seq,
                                f"event {expected_seq} is missing (found seq {row.seq})", prev)
        if row.prev_hash != prev:
            return VerifyResult(False, len(rows), row.seq,
                                f"event {row.seq} does not link to event {row.seq - 1}", prev)
        recomputed = event_hash(request_id=row.request_id, seq=row.seq,
                                recorded_at=row.recorded_at, on=row.on, actor=row.actor,
                                event=row.event, from_state=row.from_state,
                                to_state=row.to_state, data=row.data, prev_hash=row.prev_hash)
        if recomputed != row.hash:
            return VerifyResult(False, len(rows), row.seq,
                                f"event {row.seq} was altered after it was written", prev)
        prev = row.hash
    if expected_head is not None:
        head_seq, head_hash = expected_head
        n = len(rows)
        if head_seq > n:
            return VerifyResult(False, n, n + 1, f"events {n + 1}..{head_seq} are missing", prev)
        if head_seq < n:
            return VerifyResult(False, n, head_seq + 1,
                                f"event {head_seq + 1} was added outside the one door", prev)
        if head_hash != prev:
            return VerifyResult(False, n, n,
                                f"event {n} does not match the head recorded on the request", prev)
    return VerifyResult(True, len(rows), None, None, prev)
