"""Every request's chain against the head the one door recorded on it (`gongkai audit verify`,
benchmarks/audit_verify.py), read only, beside the running service.

The requests are cut into ranges of ids, each verified by a worker process in one ordered pass
(audit/bulk_verify.py): reading rows costs about as much as hashing them (profiled: ~3 µs a row
from SQLite, ~3 µs to hash), so one process tops out near 150,000 events/s and the cores share the
work. Each range reads its heads and its events in one transaction with a single snapshot (SQLite:
a deferred transaction on WAL; PostgreSQL: REPEATABLE READ), so an event appended meanwhile is
never mistaken for one added outside the one door.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context

from sqlalchemy import Engine, text

from audit.bulk_verify import COLUMNS, Broken, Tally, verify_chains
from core.db import driver_batches, make_engine, read_only

BATCH = 20_000
RANGES_PER_WORKER = 8


def verify_range(engine: Engine, lo: int | None, hi: int | None) -> tuple[Tally, list[tuple[str, Broken]]]:
    """Requests (and events) with lo ≤ id < hi; None: unbounded."""
    tally, broken, numbers = Tally(), [], {}
    where = " AND ".join(c for c in ("{col} >= :lo" if lo is not None else "",
                                     "{col} < :hi" if hi is not None else "") if c) or "1 = 1"
    params = {"lo": lo, "hi": hi}
    columns = ", ".join(f'"{c}"' for c in COLUMNS)
    with read_only(engine) as conn:
        conn.execute(text("SELECT 1"))  # begin: one snapshot for both cursors

        def rows(sql: str, name: str) -> Iterator[tuple]:
            for batch in driver_batches(conn, sql, params, name=name, size=BATCH):
                yield from batch

        def heads():
            for rid, number, seq, head in rows(
                    "SELECT id, number, audit_seq, audit_head FROM request WHERE "
                    + where.format(col="id") + " ORDER BY id", "verify_heads"):
                numbers.clear()  # only the request being checked: a million numbers would not fit
                numbers[rid] = number
                yield rid, seq, head

        events = rows(f"SELECT {columns} FROM audit_event WHERE " + where.format(col="request_id")
                      + " ORDER BY request_id, seq", "verify_events")
        for b in verify_chains(events, heads(), tally):
            broken.append((numbers.get(b.request_id, f"request {b.request_id}"), b))
    return tally, broken


def _verify_range_at(url: str, lo: int | None, hi: int | None):
    engine = make_engine(url)
    try:
        return verify_range(engine, lo, hi)
    finally:
        engine.dispose()


def count_events(engine: Engine) -> int:
    with read_only(engine) as conn:
        return conn.execute(text("SELECT count(*) FROM audit_event")).scalar_one()


def _ranges(engine: Engine, parts: int) -> list[tuple[int | None, int | None]]:
    with read_only(engine) as conn:
        low, high = conn.execute(text("SELECT min(id), max(id) FROM request")).one()
    if low is None or parts <= 1:
        return [(None, None)]
    step = max(1, (high - low + parts) // parts)
    cuts = list(range(low + step, high + 1, step))
    return list(zip([None, *cuts], [*cuts, None]))


def worker_pool(workers: int | None = None) -> ProcessPoolExecutor:
    """The worker processes of `verify_database`, all started now. Forked while this process
    has one thread: a forked worker starts at once, a spawned one first imports the project
    again (~1 s each: 1M events took 5.6 s instead of ~2.5). With other threads about they are
    spawned: a child forked while another thread held a lock (an import's, a pool's) waited on
    it forever (a CI run hung 300 s). A caller that will start threads starts the pool first."""
    workers = workers or os.cpu_count() or 1
    method = "fork" if threading.active_count() == 1 else "spawn"
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=get_context(method))
    try:
        pool.submit(int).result()  # forks every worker before anyone starts a thread
    except BaseException:
        pool.shutdown(cancel_futures=True)
        raise
    return pool


def verify_database(engine: Engine, *, workers: int | None = None,
                    progress: Callable[[int], None] | None = None,
                    on_broken: Callable[[str, Broken], None] | None = None,
                    pool: ProcessPoolExecutor | None = None
                    ) -> tuple[Tally, list[tuple[str, Broken]]]:
    """(what was checked, each broken chain with its request number, in request order).
    `pool`: as many workers from `worker_pool`, started before the caller's threads."""
    workers = workers or os.cpu_count() or 1
    ranges = _ranges(engine, workers * RANGES_PER_WORKER if workers > 1 else 1)
    tally, results = Tally(), {}
    if workers == 1 or len(ranges) == 1:
        done = [verify_range(engine, lo, hi) for lo, hi in ranges]
        results = dict(enumerate(done))
        for part in done:
            if progress:
                progress(part[0].events)
    else:
        url = engine.url.render_as_string(hide_password=False)
        own = pool is None
        pool = pool or worker_pool(workers)
        try:
            futures = {pool.submit(_verify_range_at, url, lo, hi): i for i, (lo, hi) in enumerate(ranges)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress:
                    progress(results[futures[future]][0].events)
        finally:
            if own:
                pool.shutdown()
    broken = []
    for i in sorted(results):
        part_tally, part_broken = results[i]
        tally.chains += part_tally.chains
        tally.events += part_tally.events
        broken += part_broken
        for name, b in part_broken:
            if on_broken:
                on_broken(name, b)
    return tally, broken
