"""Benchmark: `gongkai audit verify` — every chain checked in one ordered pass (cli/verify.py,
audit/bulk_verify.py) — in events per second (issue 16: ≥ 200,000 on this machine).

Migrates a fresh database, seeds N requests with benchmarks/supervision.py's `seed`, gives each
E chained audit events (hashed by audit.chain like the one door's, recorded heads on the request
rows), runs ANALYZE, then times `verify_database` over all of them (median of --rounds) and, for
comparison, the per-request `audit.verify` that the API's history uses, over a sample. Then it
signs a checkpoint and runs the whole `gongkai audit verify` command (chains, access log and the
checkpoint check beside them) as an operator would, and prints its own summary line.

Run:
  .venv/bin/python benchmarks/audit_verify.py                       # SQLite, 200,000 × 5 events
  .venv/bin/python benchmarks/audit_verify.py --n 50000 --events 4
  .venv/bin/python benchmarks/audit_verify.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
On PostgreSQL a schema bench_verify_<hex> is created in that database and dropped at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rich.progress import Progress  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

import audit  # noqa: E402
from audit.chain import _event_values  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from benchmarks.supervision import seed  # noqa: E402
from cli.verify import verify_database  # noqa: E402

EVENTS = ("receive", "register", "review", "decide", "send_reply", "archive", "issue_letter")


def seed_events(engine, n: int, per: int, batch: int = 5_000) -> float:
    """Chains of `per` events for requests 1..n, heads recorded on the rows; returns seconds."""
    started = time.perf_counter()
    at = dt.datetime(2026, 3, 2, 1, 0, tzinfo=dt.timezone.utc)
    with Progress(transient=True) as bar, engine.begin() as conn:
        task = bar.add_task("chaining events", total=n)
        for start in range(1, n + 1, batch):
            rows, heads = [], []
            for rid in range(start, min(n, start + batch - 1) + 1):
                prev = audit.GENESIS_HASH
                for seq in range(1, per + 1):
                    values = _event_values(
                        request_id=rid, seq=seq, prev_hash=prev, on="2026-03-02", actor="zhang.wei",
                        event=EVENTS[(seq - 1) % len(EVENTS)], from_state="registered",
                        to_state="reviewing", recorded_at=at,
                        data={"note": "基准测试：审核意见", "due_on": "2026-03-30", "seq": seq})
                    rows.append(values)
                    prev = values["hash"]
                heads.append({"rid": rid, "seq": per, "head": prev})
            conn.execute(insert(AuditEvent.__table__), rows)
            conn.execute(text("UPDATE request SET audit_seq = :seq, audit_head = :head WHERE id = :rid"),
                         heads)
            bar.advance(task, len(heads))
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("ANALYZE")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE audit_event"))
            conn.execute(text("VACUUM ANALYZE request"))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="requests")
    parser.add_argument("--events", type=int, default=5, help="events per request")
    parser.add_argument("--rounds", type=int, default=3, help="timed full passes")
    parser.add_argument("--sample", type=int, default=2_000, help="requests for the per-request path")
    parser.add_argument("--url", default=None, help="PostgreSQL URL; default a SQLite temp file")
    args = parser.parse_args()
    with scratch_database(args.url, "bench_verify") as scratch:
        engine = scratch.engine
        seeded = seed(engine, args.n, 50_000, 0.06, engine.dialect.name == "postgresql")
        chain_s = seed_events(engine, args.n, args.events)
        total = args.n * args.events
        print(f"{engine.dialect.name}: {args.n:,} requests seeded in {seeded['insert_s']:.1f} s, "
              f"{total:,} events chained in {chain_s:.1f} s")
        passes = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            tally, broken = verify_database(engine)
            passes.append(time.perf_counter() - started)
            assert tally.events == total and not broken, (tally, broken[:3])
        best, median = min(passes), statistics.median(passes)
        print(f"verify_database: {total:,} events in {median:.2f} s median ({best:.2f} s best): "
              f"{total / median:,.0f} events/s (target ≥ 200,000)")
        with Session(engine) as session:
            started = time.perf_counter()
            for rid in range(1, min(args.sample, args.n) + 1):
                row = session.execute(text("SELECT audit_seq, audit_head FROM request WHERE id = :i"),
                                      {"i": rid}).one()
                assert audit.verify(session, rid, expected_head=(row[0], row[1])).ok
            seconds = time.perf_counter() - started
        sampled = min(args.sample, args.n) * args.events
        print(f"audit.verify per request (the history's path), {sampled:,} events: "
              f"{sampled / seconds:,.0f} events/s")
        env = {**os.environ, "GONGKAI_DATABASE_URL": scratch.url, "GONGKAI_DATA_DIR": str(scratch.data_dir)}
        gongkai = [sys.executable, "-m", "cli"]
        signed = subprocess.run([*gongkai, "audit", "checkpoint"], env=env, cwd=ROOT,
                                capture_output=True, text=True)
        assert signed.returncode == 0, signed.stderr
        whole = subprocess.run([*gongkai, "audit", "verify"], env=env, cwd=ROOT, capture_output=True,
                               text=True)
        assert whole.returncode == 0, whole.stdout + whole.stderr
        print("gongkai audit verify:", *whole.stdout.strip().splitlines()[-2:], sep="\n  ")


if __name__ == "__main__":
    main()
