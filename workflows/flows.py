"""The Prefect flows: `dispatch_outbox` (every minute), `sweep_deadlines` and `checkpoint_audit`
(daily).

No flow per request (DESIGN.md): the database is the truth and these flows only call the
one door and plain functions. The Prefect UI shows a request's automatic work under its number:
an outbox effect runs as a short sub-flow named `render_letter · 2026-000123` and tagged
`request:2026-000123`. The sweep closes its lapses a batch per task run of its one flow run (a
sub-flow costs ~220 ms, a task run a few ms): each named after its kind and first request
(`no_supplement · 2026-000123 +49`), leaving a table artifact of each request, what was done
and how it ended, and one Prefect event per request — resource `gongkai.request.2026-000123`,
related to the tag `request:2026-000123` and to the task run — so the event feed finds a
request's lapses by its number. (Not task-run tags: Prefect takes a tag-concurrency lease for
every new set of task-run tags, and on a SQLite Prefect server that cost ~2 s a batch.)
Flows are async: a sync flow pays ~1 s for Prefect's heartbeat thread.
"""

from __future__ import annotations

import datetime as dt
import json

from prefect import flow, tags, task
from prefect.artifacts import acreate_markdown_artifact, acreate_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.events import emit_event
from sqlalchemy import Engine

from core.config import Settings, get_settings
from core.db import get_engine, refresh_statistics, session_scope
from core.logging import get_logger
from states import fingerprints
from workflows.checkpoints import take_checkpoint
from workflows.deadlines import build_digests, flag_deadlines, mail_digests
from workflows.effects import EFFECTS
from workflows.outbox import Claimed, claim, park_exhausted, process, worker_name
from workflows.sweeps import Lapse, Outcome, SweepResult, apply_lapses, batches, find_lapses

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


class LapsesFailed(Exception):
    """Some lapses of a batch failed otherwise than by the door's refusal (the database, a bug):
    the batch's task run ends Failed, naming them; the others of the batch are closed."""

    def __init__(self, outcomes: list[Outcome]):
        self.outcomes = outcomes
        failed = [o for o in outcomes if o.unexpected]
        super().__init__(f"{len(failed)} of {len(outcomes)} lapses failed: "
                         + "; ".join(f"{o.lapse.number}: {o.problem}" for o in failed))


def batch_name(kind: str, numbers: list[str]) -> str:
    """`no_supplement · 2026-000001` for one request, `… · 2026-000001 +49` for a batch."""
    return f"{kind} · {numbers[0]}" + (f" +{len(numbers) - 1}" if len(numbers) > 1 else "")


def lapse_event(outcome: Outcome) -> None:
    """One Prefect event for a request's lapse (`gongkai.lapse.closed` / `.refused` / `.failed`):
    its resource is the request, so the event feed lists a request's automatic work by number;
    Prefect relates it to the task run and the flow run it happened in."""
    lapse = outcome.lapse
    emit_event(event=f"gongkai.lapse.{outcome.result}",
               resource={"prefect.resource.id": f"gongkai.request.{lapse.number}",
                         "prefect.resource.name": lapse.number, "gongkai.kind": lapse.kind,
                         "gongkai.event": lapse.event},
               related=[{"prefect.resource.id": f"prefect.tag.request:{lapse.number}",
                         "prefect.resource.role": "tag"}],
               payload={"on": lapse.on.isoformat(), "problem": outcome.problem})


@task(name="close-lapses", cache_policy=NO_CACHE, persist_result=False)
async def close_lapses(kind: str, lapses: list[Lapse]) -> list[Outcome]:
    """Close a batch of lapses of one kind through the one door (workflows.sweeps.apply_lapses)
    and leave the table of what became of each request on the task run."""
    outcomes = apply_lapses(_engine(), lapses, _settings())
    for outcome in outcomes:
        lapse_event(outcome)
    try:
        await acreate_table_artifact(
            [{"request": o.lapse.number, "event": o.lapse.event, "on": o.lapse.on.isoformat(),
              "outcome": o.result, "problem": o.problem or ""} for o in outcomes],
            description=f"{kind}: {sum(o.problem is None for o in outcomes)} of {len(outcomes)} "
                        "closed as system:sweep_deadlines")
    except Exception as exc:  # the work is committed: a lost table is no failure
        log.warning("lapse_table_failed", error=repr(exc))
    if any(o.unexpected for o in outcomes):
        raise LapsesFailed(outcomes)
    return outcomes


async def _close_all(lapses: list[Lapse], result: SweepResult) -> None:
    for batch in batches(lapses):
        kind = batch[0].kind
        run = close_lapses.with_options(
            task_run_name=batch_name(kind, [lapse.number for lapse in batch]))
        try:
            outcomes = await run(kind, batch)
        except LapsesFailed as failed:  # the task run shows it Failed; the rest go on
            outcomes = failed.outcomes
        result.add(outcomes)


@flow(name="sweep_deadlines")
async def sweep_deadlines(today: dt.date | None = None) -> dict:
    """Close lapsed periods through the one door, flag due-soon/overdue requests, build and
    mail the digests. `today` defaults to the agency's date; pass one to replay a missed day.
    A lapse that failed otherwise than by the door's refusal fails the run, at its end, once
    everything else is done."""
    settings, engine = _settings(), _engine()
    today = today or settings.today()
    lapsed = SweepResult()
    await _close_all(find_lapses(engine, today, settings, held=lapsed.held_provisional), lapsed)
    closed = {"no_supplement": lapsed.no_supplement, "consultation": lapsed.consultations_lapsed,
              "fee_unpaid": lapsed.fee_unpaid}
    flags = flag_deadlines(engine, today, settings)
    digests = build_digests(engine, today, settings)
    mailed = mail_digests(engine, today, settings)
    refresh_statistics(engine)  # nightly: SQLite's planner needs them for the live lists
    with session_scope(engine) as session:  # requests from before 0013, or of an older VERSION
        fingerprinted = fingerprints.fill_missing(session)
    summary = {"today": today.isoformat(), "closed": closed, "failed": lapsed.failed,
               "due_soon": flags.due_soon, "overdue": flags.overdue, "cleared": flags.cleared,
               "digests": [d.id for d in digests], "mailed": mailed,
               "held_provisional": lapsed.held_provisional, "fingerprinted": fingerprinted}
    log.info("sweep_deadlines_done", **{k: v for k, v in summary.items() if k != "closed"},
             closed=sum(map(len, closed.values())))
    await report("sweep-deadlines", summary)
    if lapsed.unexpected:
        raise RuntimeError(f"{len(lapsed.unexpected)} lapses could not be closed: "
                           f"{', '.join(lapsed.unexpected)} (their close-lapses task runs say why)")
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
