"""Benchmark: advancing a request over HTTP through the one door, side by side with the same
database work done by hand and with a one-row insert (issue 17: ≥ 0.5× the hand-written
endpoint; p99 ≤ 150 ms at concurrency 8).

Two uvicorn servers on one scratch database: the real API (`api.app:app`) and
benchmarks/bare_app.py. Requests are received (and half of them registered) in-process
beforehand; then rounds alternate A/B/C/D/E — `review` over HTTP (lock and update the row, append
the audit event: the hand-written endpoint's work, which also queues an outbox row) answering with
the request's whole view, the same answering its row only (`Prefer: return=minimal`, as the
hand-written endpoint answers), the hand-written lock + update + audit + outbox, `register` over
HTTP (which also numbers and freezes the 登记回执: a letter, its file and a second audit event),
the one-row insert — each round --calls calls from --concurrency threads on fresh requests.
Prints the median over rounds of throughput, p50 and p99.

Run:
  .venv/bin/python benchmarks/advance_http.py                       # SQLite
  .venv/bin/python benchmarks/advance_http.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from rich.progress import Progress  # noqa: E402

from access import agencies, tokens, users  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from core.config import Agency, Settings  # noqa: E402
from core.db import session_scope  # noqa: E402
from replies.service import advance_and_issue  # noqa: E402
from states import service  # noqa: E402

DAY = dt.date(2026, 3, 2)
AGENCY = Agency(name="杭州市西湖区人民政府办公室", abbr="西政办", review_body="杭州市西湖区人民政府",
                court="杭州市西湖区人民法院", address="杭州市西湖区文三路1号", phone="0571-87000000",
                contact_person="张伟")


def receive_many(engine, settings: Settings, n: int) -> list[int]:
    ids = []
    with session_scope(engine) as session:
        agency_id = agencies.get_agency(session, "main").id  # the API's start-up made it
        with Progress(transient=True) as bar:
            task = bar.add_task("receiving requests", total=n)
            for i in range(n):
                row = service.receive(session, applicant={"name": f"申请人{i}", "kind": "natural_person",
                                                          "phone": f"138{i:08d}"},
                                      channel="in_person", received_on=DAY, actor="bench",
                                      description=f"2025年本区老旧小区改造项目第{i}号的资金使用明细",
                                      agency_id=agency_id, settings=settings)
                ids.append(row.id)
                if i % 200 == 199:
                    session.commit()
                bar.advance(task)
        session.commit()
    return ids


def register_many(engine, settings: Settings, ids: list[int]) -> None:
    with Progress(transient=True) as bar:
        task = bar.add_task("registering requests", total=len(ids))
        for i in ids:
            with session_scope(engine) as session:
                advance_and_issue(session, i, "register", "bench", on=DAY, settings=settings)
                session.commit()
            bar.advance(task)


def server_env(scratch) -> tuple[dict, Settings]:
    """The environment of a server on the scratch database, and the same settings in-process."""
    env = {**os.environ, "GONGKAI_DATABASE_URL": scratch.url, "GONGKAI_DATA_DIR": str(scratch.data_dir),
           "GONGKAI_TODAY": DAY.isoformat(), "GONGKAI_LOG_LEVEL": "WARNING",
           **{f"GONGKAI_AGENCY__{k.upper()}": str(v) for k, v in AGENCY.model_dump().items()
              if v not in (None, "")}}
    return env, Settings(data_dir=scratch.data_dir, today_override=DAY, agency=AGENCY,
                         log_level="WARNING")


def serve(app: str, port: int, env: dict, log: Path) -> subprocess.Popen:
    # Output to a file: a pipe nobody reads would fill and stall the server.
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port",
                                 str(port), "--log-level", "warning", "--no-access-log"],
                                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} did not start: {log.read_text()[-2000:]}")
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise SystemExit(f"{url} did not answer")


def burst(calls: list[tuple[str, dict | None]], headers: dict, concurrency: int) -> tuple[float, list[float]]:
    """(calls per second, latencies in ms) of posting every call from `concurrency` threads."""
    local = threading.local()
    latencies: list[float] = []

    def one(call):
        client = getattr(local, "client", None) or httpx.Client(headers=headers, timeout=60)
        local.client = client
        url, body = call
        started = time.perf_counter()
        response = client.post(url, json=body)
        took = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url}: {response.status_code} {response.text[:500]}")
        latencies.append(took)

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(one, calls))
    return len(calls) / (time.perf_counter() - started), latencies


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None, help="PostgreSQL URL; default a SQLite temp file")
    parser.add_argument("--calls", type=int, default=200, help="calls per round and kind")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with scratch_database(args.url, "bench_advance") as scratch:
        env, settings = server_env(scratch)
        logs = [Path("/tmp") / f"bench-{name}.log" for name in ("api", "bare")]
        procs = [serve("api.app:app", 8701, env, logs[0]), serve("benchmarks.bare_app:app", 8702, env, logs[1])]
        try:
            wait("http://127.0.0.1:8701/api/v1/health", procs[0], logs[0])
            wait("http://127.0.0.1:8702/docs", procs[1], logs[1])
            with session_scope(scratch.engine) as session:
                users.add_user(session, "bench", "staff", actor="bench", agency="main")
                _, token = tokens.create_token(session, "bench", days=1, actor="bench")
                session.commit()
            c = args.calls
            per_round = 4 * c  # register, review, review (minimal answer), by hand
            ids = receive_many(scratch.engine, settings, per_round * args.rounds)
            registered = [i for r in range(args.rounds)
                          for i in ids[r * per_round + c:r * per_round + 3 * c]]
            register_many(scratch.engine, settings, registered)
            headers = {"Authorization": f"Bearer {token}"}
            minimal = {**headers, "Prefer": "return=minimal"}
            results: dict[str, list[tuple[float, float, float]]] = {
                "review": [], "review min": [], "by hand": [], "register": [], "insert": []}
            for r in range(args.rounds):
                mine = ids[r * per_round:(r + 1) * per_round]
                event = "http://127.0.0.1:8701/api/v1/requests/{}/events/{}"
                kinds = {
                    "review": ([(event.format(i, "review"), {"on": DAY.isoformat()})
                                for i in mine[c:2 * c]], headers),
                    "review min": ([(event.format(i, "review"), {"on": DAY.isoformat()})
                                    for i in mine[2 * c:3 * c]], minimal),
                    "by hand": ([(f"http://127.0.0.1:8702/bare/advance/{i}", None)
                                 for i in mine[3 * c:]], headers),
                    "register": ([(event.format(i, "register"), {"on": DAY.isoformat()})
                                  for i in mine[:c]], headers),
                    "insert": ([("http://127.0.0.1:8702/bare/insert", None)] * c, headers),
                }
                order = list(kinds) if r % 2 == 0 else list(reversed(kinds))  # A/B alternating
                for kind in order:
                    calls, sent = kinds[kind]
                    rate, lat = burst(calls, sent, args.concurrency)
                    results[kind].append((rate, p(lat, 0.5), p(lat, 0.99)))
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
    name = scratch.engine.dialect.name
    print(f"{name}, concurrency {args.concurrency}, {args.rounds} rounds × {args.calls} calls, "
          f"{os.cpu_count()} cores, {dt.date.today()}")
    print(f"{'':10} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in results.items()}
    for kind, (rate, p50, p99) in med.items():
        print(f"{kind:10} {rate:9.0f} {p50:8.1f} {p99:8.1f}")
    hand = med["by hand"][0]
    print(f"review (one door) / by hand: {med['review'][0] / hand:.2f}× with its whole view in the "
          f"answer, {med['review min'][0] / hand:.2f}× answering its row (Prefer: return=minimal, "
          f"as the hand-written endpoint does) (target ≥ 0.5×); / insert: "
          f"{med['review'][0] / med['insert'][0]:.2f}×; register / by hand: {med['register'][0] / hand:.2f}×")


if __name__ == "__main__":
    main()
