"""Benchmark: audit checkpoints at scale — the first checkpoint over every event, a nightly one
over a day's new events, verification against the checkpoint, and one request's inclusion proof
(what an export adds).

Seeds like benchmarks/audit_verify.py (N requests × E chained events), then times:
  take (first)      every event checked and made a leaf, the tree hashed, signed, stored
  take (nightly)    --new events appended to as many requests since, then a checkpoint
  against           the leaf log's root recomputed and every covered event looked up
  inclusion         proof of one request's head (median of --proofs requests)

Run:
  .venv/bin/python benchmarks/audit_checkpoint.py                   # SQLite, 200,000 × 5 events
  .venv/bin/python benchmarks/audit_checkpoint.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from audit import checkpoint as cp  # noqa: E402
from audit.chain import _event_values  # noqa: E402
from audit.merkle import leaf_hash, root_from_inclusion  # noqa: E402
from audit.models import AuditEvent  # noqa: E402
from benchmarks.audit_verify import seed_events  # noqa: E402
from benchmarks.scratch_db import scratch_engine  # noqa: E402
from benchmarks.supervision import seed  # noqa: E402
from core.db import read_only  # noqa: E402


def append_day(engine, requests: list[int]) -> None:
    """One more event on each of these requests, as a day's work would add."""
    at = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        heads = conn.execute(text("SELECT id, audit_seq, audit_head FROM request WHERE id IN ("
                                  + ",".join(map(str, requests)) + ")")).all()
        rows = [_event_values(request_id=rid, seq=seq + 1, prev_hash=head, on="2026-03-03",
                              actor="zhang.wei", event="review", from_state="registered",
                              to_state="reviewing", recorded_at=at, data={"note": "次日"})
                for rid, seq, head in heads]
        conn.execute(insert(AuditEvent.__table__), rows)
        conn.execute(text("UPDATE request SET audit_seq = :s, audit_head = :h WHERE id = :r"),
                     [{"s": r["seq"], "h": r["hash"], "r": r["request_id"]} for r in rows])


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000, help="requests")
    parser.add_argument("--events", type=int, default=5, help="events per request")
    parser.add_argument("--new", type=int, default=2_000, help="events added before the nightly one")
    parser.add_argument("--proofs", type=int, default=50, help="inclusion proofs timed")
    parser.add_argument("--url", default=None, help="PostgreSQL URL; default a SQLite temp file")
    args = parser.parse_args()
    key = Ed25519PrivateKey.generate()
    with scratch_engine(args.url, "bench_checkpoint") as engine:
        seed(engine, args.n, 50_000, 0.06, engine.dialect.name == "postgresql")
        seed_events(engine, args.n, args.events)
        total = args.n * args.events
        first, first_s = timed(lambda: cp.take(engine, key))
        print(f"{engine.dialect.name}: first checkpoint over {first.tree_size:,} events: {first_s:.1f} s "
              f"({total / first_s:,.0f} events/s)")
        append_day(engine, random.Random(1).sample(range(1, args.n + 1), args.new))
        nightly, nightly_s = timed(lambda: cp.take(engine, key))
        print(f"nightly checkpoint, {nightly.added:,} new events on {nightly.tree_size:,}: {nightly_s:.1f} s")
        (fields, gone), against_s = timed(lambda: cp.against(engine, nightly.head))
        assert not gone
        print(f"verify against checkpoint #{fields['number']} ({fields['tree_size']:,} leaves): "
              f"{against_s:.1f} s ({fields['tree_size'] / against_s:,.0f} leaves/s)")
        root, times = bytes.fromhex(fields["root"]), []
        with read_only(engine) as conn:
            for rid in random.Random(2).sample(range(1, args.n + 1), args.proofs):
                proof, seconds = timed(lambda: cp.inclusion(conn, rid, fields["tree_size"]))
                times.append(seconds)
                head = conn.execute(text("SELECT hash FROM audit_leaf WHERE idx = :i"),
                                    {"i": proof.leaf_index}).scalar()
                assert root_from_inclusion(proof.leaf_index, fields["tree_size"],
                                           leaf_hash(bytes.fromhex(head)),
                                           [bytes.fromhex(p) for p in proof.path]) == root
        print(f"inclusion proof of one request's head: {statistics.median(times) * 1000:.0f} ms median, "
              f"{max(times) * 1000:.0f} ms max over {len(times)} requests")


if __name__ == "__main__":
    main()
