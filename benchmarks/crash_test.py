"""Crash test (issue 17 part 3): load running, the API server SIGKILLed at random moments and
restarted; afterwards every chain verifies and every acknowledged transition is present.

One scratch database (SQLite temp file, or a fresh PostgreSQL schema with --url). N requests are
received in-process; then --concurrency threads drive them over HTTP through `register` →
`review`, and every fourth task first creates a new request (POST /api/v1/requests) so inserts
are under load too. Meanwhile the main thread waits until the server has answered a call (it is
warm), then a random 0.3–2.5 s (seeded); SIGKILLs the uvicorn process itself, restarts it, waits
for /health; --kills times over, then --after seconds more of load on the last server. A 2xx
answer is "acknowledged". A call that got no answer (in flight at a kill) may or may not have
committed: it is not counted, and when it is retried a 409 (the event already happened) is
accepted. A refused connection never reached the server.

Then, with the server stopped: `python -m cli audit verify` must exit 0; every acknowledged
(request, event, state) must be an audit_event row and every acknowledged new request a row; each
request's chain head (audit_seq, state) must match its last event; no outbox row may point at a
missing request; each registered request has exactly one letter (the 登记回执). Exit 1 on FAIL.

Run:
  .venv/bin/python benchmarks/crash_test.py                       # SQLite
  .venv/bin/python benchmarks/crash_test.py --url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import text  # noqa: E402

from access import tokens, users  # noqa: E402
from benchmarks.advance_http import DAY, receive_many, serve, server_env, wait  # noqa: E402
from benchmarks.scratch_db import scratch_database  # noqa: E402
from core.db import session_scope  # noqa: E402

STEPS = ("register", "review")  # each a lawful event after the one before (states/machine.py)
NEW = {"applicant": {"name": "王芳", "kind": "natural_person", "phone": "13900000000"},
       "channel": "in_person", "received_on": DAY.isoformat(), "requested_form": "电子邮件",
       "description": "2025年本区道路养护合同的签订情况"}


class Load:
    """The threads driving transitions, and what they were told."""

    def __init__(self, base: str, headers: dict, ids: list[int]):
        self.base, self.headers, self.ids = base, headers, list(reversed(ids))
        self.stop, self.lock = threading.Event(), threading.Lock()
        self.answered = self.no_answer = self.refused = self.retried_409 = 0
        self.acked: list[tuple[int, str, str]] = []        # (request id, event, state it answered)
        self.created: list[tuple[int, str]] = []           # (request id, number)
        self.problems: list[str] = []

    def answered_after(self, count: int, deadline: float) -> float:
        """When a call was answered after the first `count` (the restarted server is warm)."""
        while self.answered <= count and time.monotonic() < deadline:
            time.sleep(0.01)
        return time.monotonic()

    def call(self, client: httpx.Client, path: str, body: dict) -> tuple[httpx.Response | None, bool]:
        """(the answer or None, whether the call may have reached the server)."""
        try:
            response = client.post(self.base + path, json=body)
        except httpx.ConnectError:          # nothing listening: the server is down
            with self.lock:
                self.refused += 1
            time.sleep(0.05)
            return None, False
        except httpx.TransportError:        # sent, and the server died before answering
            with self.lock:
                self.no_answer += 1
            return None, True
        with self.lock:
            self.answered += 1
        return response, True

    def fire(self, client: httpx.Client, rid: int, event: str) -> bool:
        uncertain = False
        while not self.stop.is_set():
            response, reached = self.call(client, f"/api/v1/requests/{rid}/events/{event}",
                                          {"on": DAY.isoformat()})
            if response is None:
                uncertain |= reached
                continue
            if response.status_code == 200:
                with self.lock:
                    self.acked.append((rid, event, response.json()["state"]))
                return True
            if uncertain and response.status_code in (409, 422):  # the unanswered try committed
                with self.lock:
                    self.retried_409 += 1
                return True
            with self.lock:
                self.problems.append(f"{event} on {rid}: {response.status_code} {response.text[:300]}")
            return False
        return False

    def create(self, client: httpx.Client) -> int | None:
        response, reached = None, False
        while response is None and not reached and not self.stop.is_set():
            response, reached = self.call(client, "/api/v1/requests", NEW)
        if response is None:
            return None                      # no answer: it may exist now, with an id nobody was told
        if response.status_code != 201:
            with self.lock:
                self.problems.append(f"create: {response.status_code} {response.text[:300]}")
            return None
        made = response.json()
        with self.lock:
            self.created.append((made["id"], made["number"]))
        return made["id"]

    def worker(self) -> None:
        with httpx.Client(headers=self.headers, timeout=30) as client:
            for turn in range(10**9):
                if self.stop.is_set():
                    return
                with self.lock:
                    rid = self.ids.pop() if self.ids and turn % 4 else None
                rid = rid or self.create(client)
                if rid is None:
                    continue
                for event in STEPS:
                    if not self.fire(client, rid, event):
                        break


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(engine, load: Load, env: dict) -> tuple[list[str], list[str]]:
    """(the figures, the failures) of the checks after the run."""
    lines, failures = [], []
    verify = subprocess.run([sys.executable, "-m", "cli", "audit", "verify"], cwd=ROOT, env=env,
                            capture_output=True, text=True)
    said = [line for line in verify.stdout.splitlines() if line.strip() and "verifying" not in line]
    lines.append(f"audit verify: exit {verify.returncode}: " + " | ".join(said[-3:]))
    if verify.returncode != 0:
        failures.append(f"audit verify exited {verify.returncode}: "
                        f"{verify.stdout[-1500:]}{verify.stderr[-1500:]}")
    with engine.connect() as conn:
        events = set(conn.execute(text("SELECT request_id, event, to_state FROM audit_event")).all())
        requests = dict(conn.execute(text("SELECT id, number FROM request")).all())
        heads = conn.execute(text(
            "SELECT r.id FROM request r LEFT JOIN audit_event e"
            " ON e.request_id = r.id AND e.seq = r.audit_seq WHERE e.id IS NULL OR e.to_state <> r.state"
            " OR EXISTS (SELECT 1 FROM audit_event l WHERE l.request_id = r.id AND l.seq > r.audit_seq)"
        )).scalars().all()
        orphans = conn.execute(text("SELECT count(*) FROM outbox o LEFT JOIN request r"
                                    " ON r.id = o.request_id WHERE r.id IS NULL")).scalar()
        letters = conn.execute(text(
            "SELECT r.id FROM request r WHERE (SELECT count(*) FROM letter l WHERE l.request_id = r.id)"
            " <> (SELECT count(*) FROM audit_event e WHERE e.request_id = r.id AND e.event = 'register')"
        )).scalars().all()
    missing = [a for a in load.acked if a not in events]
    lost = [c for c in load.created if requests.get(c[0]) != c[1]]
    lines.append(f"acknowledged transitions present: {len(load.acked) - len(missing)}/{len(load.acked)}; "
                 f"acknowledged new requests present: {len(load.created) - len(lost)}/{len(load.created)}")
    lines.append(f"{len(requests)} requests, {len(events)} distinct events; chain heads off their last "
                 f"event: {len(heads)}; outbox rows of missing requests: {orphans}; "
                 f"requests whose letters ≠ their registers: {len(letters)}")
    failures += [f"acknowledged but missing: {m}" for m in missing[:20]]
    failures += [f"created but missing: {c}" for c in lost[:20]]
    failures += [f"chain head off its last event: request {h}" for h in heads[:20]]
    failures += [f"{orphans} outbox rows of missing requests"] if orphans else []
    failures += [f"letters ≠ registers: request {r}" for r in letters[:20]]
    return lines, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--url", default=None, help="PostgreSQL URL; default a SQLite temp file")
    parser.add_argument("--requests", type=int, default=600, help="requests received beforehand")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--after", type=float, default=2.0, help="seconds of load on the last server")
    args = parser.parse_args()
    rng, port = random.Random(args.seed), free_port()
    base, log = f"http://127.0.0.1:{port}", Path("/tmp") / f"crash-test-{port}.log"
    with scratch_database(args.url, "crash_test") as scratch:
        env, settings = server_env(scratch)
        proc = serve("api.app:app", port, env, log)
        restarts: list[float] = []   # seconds from the kill to /health answering
        warmed: list[float] = []     # seconds from then (or the start) to the first answered call
        try:
            wait(f"{base}/api/v1/health", proc, log)
            with session_scope(scratch.engine) as session:
                users.add_user(session, "crash", "staff", actor="crash", agency="main")
                _, token = tokens.create_token(session, "crash", days=1, actor="crash")
                session.commit()
            load = Load(base, {"Authorization": f"Bearer {token}"},
                        receive_many(scratch.engine, settings, args.requests))
            threads = [threading.Thread(target=load.worker, daemon=True) for _ in range(args.concurrency)]
            started = time.monotonic()
            for t in threads:
                t.start()
            for _ in range(args.kills + 1):
                up = time.monotonic()
                warmed.append(load.answered_after(load.answered, up + 60) - up)
                if len(restarts) == args.kills:
                    break
                time.sleep(rng.uniform(0.3, 2.5))  # a random moment of load on a warm server
                os.kill(proc.pid, signal.SIGKILL)  # the uvicorn process itself: no shell between
                proc.wait()
                down = time.monotonic()
                proc = serve("api.app:app", port, env, log)
                wait(f"{base}/api/v1/health", proc, log)
                restarts.append(time.monotonic() - down)
            time.sleep(args.after)
            load.stop.set()
            for t in threads:
                t.join()
            seconds = time.monotonic() - started
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
        lines, failures = check(scratch.engine, load, env)
        name = scratch.engine.dialect.name
    failures = load.problems[:20] + failures
    print(f"{name}, concurrency {args.concurrency}, seed {args.seed}, {args.requests} requests received "
          f"beforehand, {os.cpu_count()} cores, {dt.date.today()}")
    print(f"load {seconds:.1f} s: {load.answered} calls answered, {len(load.acked)} transitions and "
          f"{len(load.created)} new requests acknowledged, {load.no_answer} lost to kills (no answer), "
          f"{load.retried_409} retries found already done, {load.refused} refused while down")
    print(f"kills: {len(restarts)}; restarts took " + ", ".join(f"{r:.1f}" for r in restarts) + " s to "
          "/health, then " + ", ".join(f"{w:.1f}" for w in warmed[1:]) + " s to the first answered call "
          f"(the first server: {warmed[0]:.1f} s)")
    for line in lines:
        print(line)
    for failure in failures:
        print("  " + failure)
    print("FAIL" if failures else "PASS")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
