"""Benchmark: the daily deadline sweep (workflows/sweeps.py, workflows/deadlines.py, the
`sweep_deadlines` flow) over many open requests (issue 17: 100,000 open requests, one day's sweep
≤ 10 s, the same day again ≤ 1 s).

Migrates a fresh database and seeds, with benchmarks/supervision.py's `seed` (COPY on PostgreSQL)
and its agencies, units, assignees and departments, N open requests (default 100,000) and some
closed ones: most received / registered / reviewing / decided with due dates from a few weeks
late to four weeks ahead; consulting with a served consultation that lapses over the coming
weeks (a few each day); awaiting a 补正 whose served notice runs out over the coming weeks;
awaiting a fee whose served notice runs out likewise; a fifth of the awaited letters not yet
served (never closed by the sweep). Every stored due date is the one the clock computes, as the
one door leaves it; every request has its fingerprint, so the nightly fill has nothing to do.

Then, as a real deployment lives it:
  day D-1   the first sweep on this database (plain functions): closes the backlog of lapses
            and flags every request due soon or overdue — the go-live day, printed for scale;
  day D     plain functions, phase by phase: the sweep the next day (a day's lapses, a day's
            new flags), then the same day again, then again after staff withdrew 100 overdue
            requests and sent 100 due-soon ones for consultation (their flags must clear);
  day D+1   the `sweep_deadlines` flow on a temporary Prefect server (prefect_test_harness, as
            the tests run it): first run, then the same day again.

Run:
  .venv/bin/python benchmarks/sweep.py                       # SQLite, a temporary file
  .venv/bin/python benchmarks/sweep.py --n 20000 --closed 0
  .venv/bin/python benchmarks/sweep.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
On PostgreSQL a schema bench_sweep_<hex> is created in that database and dropped at the end.
--no-flow skips the Prefect part (no server is started). --check counts, after each plain run,
the requests whose stored flag is not their live clock's, every open request read and counted
as the sweep did before issue 17 (it should print 0).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("GONGKAI_LOG_LEVEL", "WARNING")  # the figures, not every log line
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from sqlalchemy import text  # noqa: E402

import benchmarks.supervision as sup  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import refresh_statistics, session_scope  # noqa: E402
from states import fingerprints, similarity  # noqa: E402
from states.clock import CONSULTATION_DAYS, compute_clock  # noqa: E402
from states.ledger import ledger_of  # noqa: E402
from states.workdays import default_calendar  # noqa: E402
import workflows.flows as flows  # noqa: E402
from workflows.deadlines import build_digests, flag_deadlines, mail_digests  # noqa: E402
from workflows.sweeps import sweep_lapses  # noqa: E402

D = dt.date(2026, 11, 18)  # a Wednesday: the plain functions' day; the flow sweeps D + 1
DAY = dt.timedelta(days=1)
SUPPLEMENT_DAYS = 15
# Open requests by state (weights).
OPEN = {"received": 8, "registered": 16, "reviewing": 51, "decided": 14, "consulting": 5,
        "awaiting_supplement": 4, "awaiting_fee": 2}
LATE_SHARE = 0.05       # clocked requests received long ago and still open: overdue for weeks
UNSERVED_SHARE = 0.2    # awaited letters whose service is not recorded: never closed
EXTRA = ("supplement_requested_on", "supplement_deadline", "supplement_period_days",
         "supplement_served_on", "fee_served_on", "fee_method")


def generate(n_open: int, n_closed: int, calendar, settings: Settings):
    """A generator with supervision.generate's signature, yielding (request row, consultation or
    None) for ids 1..n_open + n_closed: supervision's rows, re-dated and re-stated here."""
    def wrapped(n, overdue_share, units, seed=7):
        rng = random.Random(11)
        state_of = sup._pick(rng, OPEN)
        for row, _ in sup.generate_base(n, overdue_share, units, seed):
            i = row["id"]
            row.update({k: None for k in EXTRA}, extension_days=0, extension_approved_by=None,
                       extended_on=None, fee_notified_on=None, fee_amount_yuan=None,
                       replied_on=None, archived_on=None, decided_on=None, outcome=None)
            if i > n_open:
                yield _closed(row, rng), None
            else:
                yield _open(row, state_of(), rng, calendar, settings)
    return wrapped


def _closed(row: dict, rng: random.Random) -> dict:
    received = D - dt.timedelta(days=rng.randint(60, 700))
    replied = received + dt.timedelta(days=rng.randint(3, 28))
    row.update(state=rng.choice(("replied", "archived")), received_on=received, replied_on=replied,
               due_on=received + dt.timedelta(days=28), last_event_on=replied, decided_on=replied,
               outcome=sup.OUTCOMES[row["id"] % len(sup.OUTCOMES)])
    if row["state"] == "archived":
        row["archived_on"] = row["last_event_on"] = replied + dt.timedelta(days=30)
    return row


def _open(row: dict, state: str, rng: random.Random, calendar, settings: Settings):
    consultation = None
    served = rng.random() >= UNSERVED_SHARE
    if state == "consulting":
        served_on = D - dt.timedelta(days=rng.randint(0, 25))   # lapses from D-4 to D+21
        sent = served_on - dt.timedelta(days=rng.randint(1, 3))
        received = sent - dt.timedelta(days=rng.randint(2, 10))
        consultation = {"request_id": row["id"], "party": rng.choice(("third_party", "agency")),
                        "name": "某建设有限公司", "sent_on": sent,
                        "served_on": served_on if served else None,
                        "lapses_on": calendar.workday_after(served_on if served else sent,
                                                            CONSULTATION_DAYS),
                        "closed_on": None, "opinion": None}
        last = sent
    elif state == "awaiting_supplement":
        served_on = D - dt.timedelta(days=rng.randint(1, 25))   # runs out from D-4 to D+20
        asked = served_on - dt.timedelta(days=rng.randint(0, 3))
        received = asked - dt.timedelta(days=rng.randint(1, 5))
        row.update(supplement_requested_on=asked, supplement_period_days=SUPPLEMENT_DAYS,
                   supplement_served_on=served_on if served else None,
                   supplement_deadline=calendar.workday_after(served_on if served else asked,
                                                              SUPPLEMENT_DAYS))
        last = asked
    elif state == "awaiting_fee":
        served_on = D - dt.timedelta(days=rng.randint(1, 32))   # unpaid from D-4 to D+25
        noticed = served_on - dt.timedelta(days=rng.randint(0, 3))
        received = noticed - dt.timedelta(days=rng.randint(2, 10))
        row.update(fee_notified_on=noticed, fee_served_on=served_on if served else None,
                   fee_amount_yuan=100, fee_method="per_volume")
        last = noticed
    else:
        if rng.random() < LATE_SHARE:
            received = D - dt.timedelta(days=31 + min(int(rng.expovariate(1 / 20)), 300))
        else:
            received = D - dt.timedelta(days=rng.randint(1, 30))
        last = min(D - 2 * DAY, received + dt.timedelta(days=rng.randint(0, 5)))
        if rng.random() < 0.05 and state != "received":
            row.update(extension_days=15, extension_approved_by="李主任",
                       extended_on=received + dt.timedelta(days=20))
    if state == "decided":
        row.update(decided_on=last, outcome=sup.OUTCOMES[row["id"] % len(sup.OUTCOMES)])
    row.update(state=state, received_on=received, last_event_on=last)
    # The due date the clock computes, as the one door stores it.
    facts = SimpleNamespace(**{**dict.fromkeys(("supplement_received_on", "deferred_to",
                                                "fee_paid_on")), **row})
    stops = [SimpleNamespace(**consultation)] if consultation else []
    row["due_on"] = compute_clock(ledger_of(facts, stops, calendar, settings), calendar).due_on
    return row, consultation


def seed_fingerprints(engine) -> None:
    """Every request's fingerprint (they all share one description): the nightly fill's query
    then finds nothing, as on a database that has been running. No band keys: the sweep never
    reads them."""
    with session_scope(engine) as s:
        description = s.execute(text("SELECT description FROM request LIMIT 1")).scalar_one()
        signature = similarity.signature(description)
        ids = s.execute(text("SELECT id FROM request ORDER BY id")).scalars().all()
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO request_fingerprint (request_id, signature, version) "
                          "VALUES (:r, :s, :v)"),
                     [{"r": i, "s": signature, "v": similarity.VERSION} for i in ids])


def phases(engine, day: dt.date, settings: Settings) -> dict[str, float]:
    """The plain functions the flow calls, in its order, each timed."""
    times: dict[str, float] = {}
    facts: dict[str, int] = {}

    def timed(name, fn):
        started = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - started
        return out

    lapses = timed("lapses", lambda: sweep_lapses(engine, day, settings))
    flags = timed("flags", lambda: flag_deadlines(engine, day, settings))
    digests = timed("digests", lambda: build_digests(engine, day, settings))
    timed("mail", lambda: mail_digests(engine, day, settings))
    timed("statistics", lambda: refresh_statistics(engine))

    def fill():
        with session_scope(engine) as session:
            return fingerprints.fill_missing(session)
    timed("fingerprints", fill)
    facts.update(closed=lapses.changed, failed=len(lapses.failed),
                 held=len(lapses.held_provisional), flagged=flags.changed, digests=len(digests))
    return {"times": times, "facts": facts}


def show_phases(label: str, result: dict, check=None) -> None:
    t, f = result["times"], result["facts"]
    print(f"  {label:<28} total {sum(t.values()):7.2f} s  |  "
          + "  ".join(f"{k} {v:.2f}" for k, v in t.items())
          + f"  |  closed {f['closed']}, failed {f['failed']}, held {f['held']}, "
            f"flags changed {f['flagged']}, digests {f['digests']}")
    if check:
        started = time.perf_counter()
        print(f"    check: {check():,} requests whose flag is not their live clock's "
              f"(every open request counted, {time.perf_counter() - started:.1f} s)")


def disagreements(engine, day: dt.date, settings: Settings) -> int:
    """Requests whose stored flag is not the one their live clock gives on `day`, every open
    request read and counted as the sweep did before issue 17 (--check)."""
    from sqlmodel import Session

    from core.db import read_only
    from states.calendar_years import calendar_for
    from states.models import Request
    from workflows import deadlines

    with read_only(engine) as conn, Session(bind=conn) as session:
        calendar = calendar_for(session, settings)
        rows = deadlines._rows(session, Request.state.in_(deadlines.WATCHED)
                               | Request.deadline_flag.is_not(None))
        flags = deadlines._live_flags(session, rows, day, calendar, settings)
    return sum(1 for r in rows if r.id in flags and flags[r.id][0] != r.deadline_flag)


def staff_moves(engine, day: dt.date, settings: Settings, n: int) -> int:
    """During `day`, staff move n requests through the one door after the sweep: half of them
    overdue ones withdrawn, half due-soon ones under review sent for another agency's opinion
    (their clock stands still). The sweep run again that day must clear their flags."""
    from sqlmodel import select

    from states.models import Request
    from states.service import advance

    with session_scope(engine) as session:
        overdue = session.exec(select(Request.id).where(Request.deadline_flag == "overdue")
                               .order_by(Request.id).limit(n // 2)).all()
        soon = session.exec(select(Request.id).where(Request.deadline_flag == "due_soon",
                                                     Request.state == "reviewing")
                            .order_by(Request.id).limit(n - len(overdue))).all()
    for rid in overdue:
        with session_scope(engine) as session:
            advance(session, rid, "withdraw", "bench:staff", on=day, settings=settings,
                    reason="申请人撤回")
            session.commit()
    for rid in soon:
        with session_scope(engine) as session:
            advance(session, rid, "open_consultation", "bench:staff", on=day, settings=settings,
                    party="agency", name="区财政局")
            session.commit()
    return len(overdue) + len(soon)


def counts(engine) -> str:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT state, count(*) FROM request GROUP BY state ORDER BY state")).all()
        flags = conn.execute(text("SELECT deadline_flag, count(*) FROM request "
                                  "WHERE deadline_flag IS NOT NULL GROUP BY deadline_flag")).all()
    return ", ".join(f"{s} {n:,}" for s, n in rows) + " | flags: " + ", ".join(f"{f} {n:,}" for f, n in flags)


def run_flow(engine, settings: Settings, day: dt.date) -> None:
    from prefect import flow
    from prefect.testing.utilities import prefect_test_harness

    @flow(name="bench-warm-up")
    async def warm_up() -> None:
        return None

    print("starting a temporary Prefect server (prefect_test_harness) …", flush=True)
    with prefect_test_harness(server_startup_timeout=120):
        flows.use(engine, settings)
        try:
            asyncio.run(warm_up())  # the client, the event loop, the server's first answers
            for label in ("first run", "same day again"):
                started = time.perf_counter()
                summary = asyncio.run(flows.sweep_deadlines(today=day))
                took = time.perf_counter() - started
                closed = sum(map(len, summary["closed"].values()))
                print(f"  flow {day} {label:<17} {took:7.2f} s  |  closed {closed}, failed "
                      f"{len(summary['failed'])}, held {len(summary['held_provisional'])}, flags "
                      f"+{len(summary['due_soon'])} due soon +{len(summary['overdue'])} overdue "
                      f"-{len(summary['cleared'])} cleared, digests {len(summary['digests'])}",
                      flush=True)
        finally:
            flows.use(None, None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="open requests")
    parser.add_argument("--closed", type=int, default=20_000, help="closed requests besides")
    parser.add_argument("--url", default=None, help="PostgreSQL URL; default a SQLite temp file")
    parser.add_argument("--no-flow", action="store_true", help="skip the Prefect flow")
    parser.add_argument("--check", action="store_true",
                        help="after each plain run, count the flags that disagree with every "
                             "open request's live clock (slow)")
    args = parser.parse_args()
    with scratch_database(args.url, "bench_sweep") as scratch:
        engine = scratch.engine
        settings = Settings(data_dir=scratch.data_dir, today_override=D + 7 * DAY,
                            log_level="WARNING")
        calendar = default_calendar()
        sup.generate_base = getattr(sup, "generate_base", sup.generate)
        sup.generate = generate(args.n, args.closed, calendar, settings)
        sup.COLUMNS = tuple(dict.fromkeys((*sup.COLUMNS, *EXTRA)))
        sup.CONSULTATION_COLUMNS = tuple(dict.fromkeys((*sup.CONSULTATION_COLUMNS, "served_on")))
        total = args.n + args.closed
        seeded = sup.seed(engine, total, 20_000, 0.0, engine.dialect.name == "postgresql")
        seed_fingerprints(engine)
        print(f"{engine.dialect.name}: seeded {total:,} requests ({args.n:,} open) and "
              f"{seeded['consultations']:,} consultations in {seeded['insert_s']:.1f} s; "
              f"{os.cpu_count()} cores, {dt.date.today()}")
        print(f"  {counts(engine)}")
        print("plain functions (seconds per phase):")

        def check(day):
            return (lambda: disagreements(engine, day, settings)) if args.check else None
        show_phases(f"D-1 {D - DAY} (go-live)", phases(engine, D - DAY, settings), check(D - DAY))
        print(f"  after D-1: {counts(engine)}")
        show_phases(f"D   {D} first run", phases(engine, D, settings), check(D))
        show_phases(f"D   {D} same day again", phases(engine, D, settings), check(D))
        moved = staff_moves(engine, D, settings, 200)
        show_phases(f"D   {D} again, {moved} moved", phases(engine, D, settings), check(D))
        if not args.no_flow:
            run_flow(engine, settings, D + DAY)
        print(f"  at the end: {counts(engine)}")


if __name__ == "__main__":
    main()
