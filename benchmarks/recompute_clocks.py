"""Benchmark: recompute N open requests' clocks after a calendar year is loaded.

Run: .venv/bin/python benchmarks/recompute_clocks.py [N] [--url URL]
Prints the time to compute clocks alone, and to recompute-and-audit through the database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session  # noqa: E402

from core.config import Settings  # noqa: E402
from core.db import make_engine  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from states.workdays import build_calendar, default_calendar  # noqa: E402
from states.calendar_years import recompute_open_clocks, store_year  # noqa: E402
from states.clock import Ledger, compute_clock  # noqa: E402
from states.models import Consultation, Request  # noqa: E402

YEAR_2027 = {"year": 2027, "source": "基准测试用2027年节假日安排",
             "holidays": [["2027-01-01", "2027-01-03"], ["2027-02-05", "2027-02-13"], "2027-04-05",
                          ["2027-05-01", "2027-05-05"], "2027-06-09", "2027-09-15",
                          ["2027-10-01", "2027-10-07"]],
             "makeup_workdays": ["2027-02-14"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("n", nargs="?", type=int, default=100_000)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    rng = random.Random(7)
    url = args.url or f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    upgrade(url)
    engine = make_engine(url)
    now = dt.datetime.now(dt.timezone.utc)
    days = [dt.date(2026, 11, 2) + dt.timedelta(days=i) for i in range(55)]
    rows = [{"number": f"B-{i:07d}", "state": "reviewing", "agency_id": 1,  # the migration's agency
             "applicant_kind": "natural_person",
             "applicant_name": "基准", "channel": "online", "received_on": rng.choice(days),
             "description": "基准测试", "last_event_on": dt.date(2026, 12, 28), "created_at": now,
             "version": 1, "audit_seq": 0, "audit_head": "0" * 64} for i in range(args.n)]
    t = time.perf_counter()
    with Session(engine) as session:
        session.execute(insert(Request), rows)
        ids = [r[0] for r in session.execute(Request.__table__.select().with_only_columns(Request.id))]
        session.execute(insert(Consultation), [
            {"request_id": i, "party": "third_party", "name": "第三方", "sent_on": dt.date(2026, 12, 1),
             "lapses_on": dt.date(2026, 12, 22), "closed_on": dt.date(2026, 12, 15), "opinion": "consent"}
            for i in ids[:: 10]])
        session.commit()
    print(f"seeded {args.n} open requests ({len(ids[::10])} with a consultation) "
          f"in {time.perf_counter() - t:.1f} s")

    cal = build_calendar((), 0)
    t = time.perf_counter()
    for r in rows:
        compute_clock(Ledger(received_on=r["received_on"]), cal)
    pure = time.perf_counter() - t
    print(f"pure clock computation: {args.n} clocks in {pure:.2f} s "
          f"({pure / args.n * 1e6:.1f} µs each)")

    with Session(engine) as session:
        store_year(session, YEAR_2027, "bench")
        session.commit()
    t = time.perf_counter()
    result = recompute_open_clocks(engine, actor="bench", reason="2027年节假日安排已加载",
                                   on=dt.date(2026, 12, 28), settings=Settings(today_override=dt.date(2026, 12, 28)))
    took = time.perf_counter() - t
    print(f"recompute after loading 2027 ({engine.dialect.name}): {result['checked']} checked, "
          f"{result['changed']} changed and audited in {took:.1f} s "
          f"({result['checked'] / took:,.0f} requests/s)")
    assert default_calendar() is not None


if __name__ == "__main__":
    main()
