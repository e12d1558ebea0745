"""The access log's hash chain: who changed which agency, user, role or token, and when.

Same rules as a request's chain (audit/chain.py): SHA-256 over canonical JSON, each event linked
to the one before, the head kept on a row locked while appending so the chain stays linear.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from sqlmodel import Session, select

from audit.chain import GENESIS_HASH, VerifyResult, canonical_json
from audit.models import AccessEvent, StreamHead

STREAM = "access"


def _hash(values: dict[str, Any]) -> str:
    body = canonical_json({k: values[k] for k in
                           ("seq", "recorded_at", "actor", "event", "subject", "data", "prev_hash")})
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _head(session: Session) -> StreamHead:
    head = session.exec(select(StreamHead).where(StreamHead.name == STREAM).with_for_update()).first()
    if head is None:
        head = StreamHead(name=STREAM, seq=0, head=GENESIS_HASH)
        session.add(head)
        session.flush()
    return head


def append_access(session: Session, *, actor: str, event: str, subject: str,
                  data: dict[str, Any]) -> AccessEvent:
    """Add one event to the access log. Caller commits, with the change it records."""
    head = _head(session)
    values = {"seq": head.seq + 1,
              "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="microseconds"),
              "actor": actor, "event": event, "subject": subject, "data": canonical_json(data),
              "prev_hash": head.head}
    row = AccessEvent(**values, hash=_hash(values))
    session.add(row)
    head.seq, head.head = row.seq, row.hash
    session.add(head)
    session.flush()
    return row


def access_history(session: Session, subject: str | None = None) -> list[AccessEvent]:
    query = select(AccessEvent).order_by(AccessEvent.seq)
    if subject:
        query = query.where(AccessEvent.subject == subject)
    return list(session.exec(query))


def verify_access(session: Session) -> VerifyResult:
    """Recompute the access chain against its recorded head; name the first event that fails."""
    rows = access_history(session)
    head = session.get(StreamHead, STREAM)
    prev = GENESIS_HASH
    for expected_seq, row in enumerate(rows, start=1):
        if row.seq != expected_seq:
            return VerifyResult(False, len(rows), expected_seq, f"event {expected_seq} is missing", prev)
        values = row.model_dump()
        if row.prev_hash != prev or _hash(values) != row.hash:
            return VerifyResult(False, len(rows), row.seq,
                                f"event {row.seq} was altered or does not link to the one before", prev)
        prev = row.hash
    if head is not None and (head.seq, head.head) != (len(rows), prev):
        return VerifyResult(False, len(rows), min(head.seq, len(rows)) + 1,
                            "the chain does not end at its recorded head", prev)
    return VerifyResult(True, len(rows), None, None, prev)
