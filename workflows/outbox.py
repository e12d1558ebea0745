"""The outbox dispatcher as plain functions: claim rows, run their effect, mark them done.

- Claim: one short transaction marks up to `limit` due rows `claimed` by this dispatcher with a
  lease (`claimed_until`). PostgreSQL: `FOR UPDATE SKIP LOCKED`, so dispatchers never wait on
  each other; SQLite: the transaction begins `IMMEDIATE`, so claims are serialised. A row whose
  lease ran out (its dispatcher died) is claimed again. Each claim counts an attempt, so a row
  that kills every dispatcher that touches it is still parked in the end.
- Run: the effect and the `done` mark commit together, the mark only if this dispatcher still
  holds the lease; an effect that writes only to the database therefore happens exactly once.
  Effects that leave the database (e-mail) are at-least-once, with the outbox id as their
  idempotency key (Message-ID).
- Fail: back to `pending` after an exponential backoff; after `outbox_max_attempts`, `parked`
  with its error, shown to supervisors (`GET /api/v1/outbox?status=parked`), never blocking
  the rest.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import uuid
from dataclasses import dataclass, field
from typing import Callable, Mapping

from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, select

from core.config import Settings
from core.db import session_scope
from core.logging import get_logger, mask_text
from states.models import Outbox, Request

log = get_logger("workflows.outbox")
ACTOR = "system:dispatch_outbox"


@dataclass(frozen=True)
class Claimed:
    id: int
    request_id: int
    request_number: str
    kind: str
    payload: dict
    attempts: int


@dataclass(frozen=True)
class EffectContext:
    settings: Settings
    today: dt.date
    actor: str = ACTOR


# What performs an outbox row of a kind; the registry (`workflows.effects.EFFECTS`) is passed
# in by the caller, so this module knows no effect and no effect module imports back into it.
Effect = Callable[[Session, Claimed, EffectContext], None]


@dataclass
class DispatchResult:
    done: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    parked: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)   # lease taken over by another dispatcher


class LostLease(Exception):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


def claim(engine: Engine, worker: str, *, limit: int = 50, now: dt.datetime | None = None,
          lease_seconds: int = 300) -> list[Claimed]:
    now = now or utcnow()
    due = or_(and_(Outbox.status == "pending", Outbox.available_at <= now),
              and_(Outbox.status == "claimed", Outbox.claimed_until < now))
    with session_scope(engine) as session:
        query = select(Outbox.id).where(due).order_by(Outbox.id).limit(limit)
        if engine.dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.exec(query).all())
        if not ids:
            return []
        session.execute(update(Outbox).where(Outbox.id.in_(ids)).values(
            status="claimed", claimed_by=worker, attempts=Outbox.attempts + 1,
            claimed_until=now + dt.timedelta(seconds=lease_seconds)))
        rows = session.exec(select(Outbox, Request.number).join(Request, Request.id == Outbox.request_id)
                            .where(Outbox.id.in_(ids)).order_by(Outbox.id)).all()
        claimed = [Claimed(o.id, o.request_id, number, o.kind, json.loads(o.payload), o.attempts)
                   for o, number in rows]
        session.commit()
    return claimed


def _release(session: Session, item: Claimed, worker: str, **values) -> int:
    result = session.execute(update(Outbox).where(
        Outbox.id == item.id, Outbox.status == "claimed", Outbox.claimed_by == worker)
        .values(claimed_by=None, claimed_until=None, **values))
    return result.rowcount


def backoff(settings: Settings, attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(settings.outbox_backoff_seconds * 2 ** (attempts - 1), 3600))


def process(engine: Engine, item: Claimed, worker: str, *, effects: Mapping[str, Effect],
            settings: Settings, today: dt.date, now: dt.datetime | None = None) -> str:
    """Run one claimed row's effect (looked up in `effects`). Returns done / retried / parked / lost."""
    now = now or utcnow()
    try:
        fn = effects.get(item.kind)
        if fn is None:
            raise LookupError(f"no effect registered for outbox kind '{item.kind}'")
        with session_scope(engine) as session:
            fn(session, item, EffectContext(settings, today))
            if _release(session, item, worker, status="done", done_at=now, last_error=None) != 1:
                raise LostLease()
            session.commit()
        log.info("outbox_done", outbox_id=item.id, kind=item.kind, request_number=item.request_number)
        return "done"
    except LostLease:
        log.warning("outbox_lease_lost", outbox_id=item.id, kind=item.kind)
        return "lost"
    except Exception as exc:  # any failure of an effect: retry later or park, never crash the run
        # Masked: supervisors read it (GET /api/v1/outbox), and a database error quotes the row.
        error = mask_text(f"{type(exc).__name__}: {exc}")[:4000]
        park = item.attempts >= settings.outbox_max_attempts
        with session_scope(engine) as session:
            values = {"status": "parked"} if park else {
                "status": "pending", "available_at": now + backoff(settings, item.attempts)}
            _release(session, item, worker, last_error=error, **values)
            session.commit()
        log.warning("outbox_parked" if park else "outbox_retry", outbox_id=item.id, kind=item.kind,
                    request_number=item.request_number, attempts=item.attempts, problem=error)
        return "parked" if park else "retried"


def park_exhausted(engine: Engine, settings: Settings, now: dt.datetime | None = None) -> int:
    """Rows whose dispatcher died on their last allowed attempt: park them instead of retrying."""
    now = now or utcnow()
    with session_scope(engine) as session:
        result = session.execute(update(Outbox).where(
            Outbox.status == "claimed", Outbox.claimed_until < now,
            Outbox.attempts >= settings.outbox_max_attempts).values(
            status="parked", claimed_by=None, claimed_until=None,
            last_error="the dispatcher stopped while running it, on every attempt"))
        session.commit()
        return result.rowcount
