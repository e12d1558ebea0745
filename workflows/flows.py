"""The Prefect flows: `dispatch_outbox` (every minute), `sweep_deadlines` and `checkpoint_audit`
(daily).

No flow per request (DESIGN.md): the database is the truth and these flows only call the
one door and plain functions. Each request's piece of work runs as a short sub-flow named and
tagged with the request number (`request:2026-000123`), so the Prefect UI shows a request's
automatic work. Flows are async: a sync flow pays ~1 s for Prefect's heartbeat thread.
"""

from __future__ import annotations

import datetime as dt
import json

from prefect import flow, tags
from prefect.artifacts import acreate_markdown_artifact
from sqlalchemy import Engine

from core.config import Settings, get_settings
from core.db import get_engine, refresh_statistics, session_scope
from core.logging import get_logger
from states import fingerprints
from workflows.checkpoints import take_checkpoint
from workflows.deadlines import build_digests, flag_deadlines, mail_digests
from workflows.effects import EFFECTS
from workflows.outbox import Claimed, claim, park_exhausted, process, worker_name
from workflows.sweeps import Lapse, apply_lapse, find_lapses

log = get_logger("workflows.flows")
_runtime: dict = {"engine": None, "settings": None}


def use(engine: Engine | None = None, settings: Settings | None = None) -> None:
    """Point the flows at an engine and settings (tests; a replay against another database)."""
    _runtime.update(engine=engine, settings=settings)


def _settings() -> Settings:
    return _runtime["settings"] or get_settings()


def _engine() -> Engine:
    return _runtime["engine"] or get_engine()


def request_tags(number: str, kind: str) -> list[str]:
    return [f"request:{number}", kind]


async def report(key: str, summary: dict) -> None:
    """Leave the run's summary on it as a Prefect artifact (a JSON block): the UI shows it, and
    `gongkai sweep` / `gongkai dispatch` read it back after running a deployment."""
    try:
        await acreate_markdown_artifact(
            f"```json\n{json.dumps(summary, ensure_ascii=False, indent=2)}\n```", key=key)
    except Exception as exc:  # the work is done and committed: a lost summary is no failure
        log.warning("summary_artifact_failed", key=key, error=repr(exc))


@flow(name="outbox-effect", flow_run_name="{kind} · {request_number}")
async def outbox_effect(outbox_id: int, request_id: int, request_number: str, kind: str,
                        payload: dict, attempts: int, worker: str, today: dt.date) -> str:
    item = Claimed(outbox_id, request_id, request_number, kind, payload, attempts)
    return process(_engine(), item, worker, effects=EFFECTS, settings=_settings(), today=today)


@flow(name="dispatch_outbox")
async def dispatch_outbox(limit: int = 50, today: dt.date | None = None) -> dict[str, list[int]]:
    """Claim due outbox rows and run each one's effect (render, deliver, archive)."""
    settings, engine = _settings(), _engine()
    today = today or settings.today()
    worker = worker_name()
    park_exhausted(engine, settings)
    result: dict[str, list[int]] = {"done": [], "retried": [], "parked": [], "lost": []}
    for item in claim(engine, worker, limit=limit, lease_seconds=settings.outbox_lease_seconds):
        with tags(*request_tags(item.request_number, item.kind)):
            outcome = await outbox_effect(item.id, item.request_id, item.request_number, item.kind,
                                          item.payload, item.attempts, worker, today)
        result[outcome].append(item.id)
    if any(result.values()):  # not every idle minute
        await report("dispatch-outbox", result)
    return result


@flow(name="close-lapse", flow_run_name="{kind} · {request_number}")
async def close_lapse(request_id: int, request_number: str, kind: str, event: str, on: dt.date,
                      data: dict) -> str | None:
    return apply_lapse(_engine(), Lapse(kind, request_id, request_number, event, on, data), _settings())


@flow(name="sweep_deadlines")
async def sweep_deadlines(today: dt.date | None = None) -> dict:
    """Close lapsed periods through the one door, flag due-soon/overdue requests, build and
    mail the digests. `today` defaults to the agency's date; pass one to replay a missed day."""
    settings, engine = _settings(), _engine()
    today = today or settings.today()
    closed: dict[str, list[str]] = {"no_supplement": [], "consultation": [], "fee_unpaid": []}
    failed: dict[str, str] = {}
    held: list[str] = []
    for lapse in find_lapses(engine, today, settings, held=held):
        with tags(*request_tags(lapse.number, lapse.kind)):
            problem = await close_lapse(lapse.request_id, lapse.number, lapse.kind, lapse.event,
                                        lapse.on, lapse.data)
        if problem is None:
            closed[lapse.kind].append(lapse.number)
        else:
            failed[lapse.number] = problem
    flags = flag_deadlines(engine, today, settings)
    digests = build_digests(engine, today, settings)
    mailed = mail_digests(engine, today, settings)
    refresh_statistics(engine)  # nightly: SQLite's planner needs them for the live lists
    with session_scope(engine) as session:  # requests from before 0013, or of an older VERSION
        fingerprinted = fingerprints.fill_missing(session)
    summary = {"today": today.isoformat(), "closed": closed, "failed": failed,
               "due_soon": flags.due_soon, "overdue": flags.overdue, "cleared": flags.cleared,
               "digests": [d.id for d in digests], "mailed": mailed,
               "held_provisional": held, "fingerprinted": fingerprinted}
    log.info("sweep_deadlines_done", **{k: v for k, v in summary.items() if k != "closed"},
             closed=sum(map(len, closed.values())))
    await report("sweep-deadlines", summary)
    return summary


@flow(name="checkpoint_audit")
async def checkpoint_audit() -> dict:
    """Sign the Merkle root over every audit event (检查点) and write it outside the database.
    Fails loudly — a failed run in the Prefect UI — if any chain or the leaf log does not
    verify: a checkpoint never seals a rewritten history."""
    from audit.checkpoint import CheckpointError

    try:
        summary = take_checkpoint(_engine(), _settings())
    except CheckpointError as exc:
        log.error("checkpoint_refused", reason=str(exc),
                  broken=[{"request_id": r, "seq": s, "reason": why} for r, s, why in exc.broken[:50]])
        raise
    log.info("checkpoint_audit_done", **summary)
    await report("checkpoint-audit", summary)
    return summary
