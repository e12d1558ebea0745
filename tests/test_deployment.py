"""The way Gongkai is run: `gongkai run` (what `make run` starts) on the embedded defaults, and
the scale-out — Prefect server on PostgreSQL, a process worker, the engine on PostgreSQL, two
API replicas. Real processes, real ports; slow (about a minute each), so each runs once."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import AGENCY_ENV, PG_OK, PG_URL

BIN = Path(sys.executable).parent
APPLICANT = {"name": "李明", "kind": "natural_person"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            assert p.poll() is None, f"{p.args} exited with {p.returncode} while waiting for {what}"
        try:
            value = predicate()
            if value:
                return value
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def _staff_token(env: dict) -> str:
    """What an admin does on a new deployment: a staff user, and a token for a script."""
    added = subprocess.run([str(BIN / "gongkai"), "users", "add", "zhang.wei", "--role", "staff",
                            "--agency", "main", "--display-name", "张伟"], env=env,
                           capture_output=True, text=True)
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("user zhang.wei added (staff)\npassword: ")
    token = subprocess.run([str(BIN / "gongkai"), "tokens", "create", "zhang.wei", "--days", "1"],
                           env=env, capture_output=True, text=True)
    assert token.returncode == 0, token.stderr
    return token.stdout.strip()  # the token alone on stdout


def _register_one(api: str, token: str, received_on: str = "2026-11-20") -> int:
    headers = {"Authorization": f"Bearer {token}"}
    created = httpx.post(f"{api}/api/v1/requests", headers=headers, json={
        "applicant": APPLICANT, "channel": "in_person", "received_on": received_on,
        "description": "2025年本区老旧小区改造项目的资金使用明细"})
    assert created.status_code == 201, created.text
    rid = created.json()["id"]
    registered = httpx.post(f"{api}/api/v1/requests/{rid}/events/register", headers=headers,
                            json={"on": received_on})
    assert registered.status_code == 200, registered.text
    return rid


def _formats(api: str, rid: int, token: str) -> set[str]:
    letters = httpx.get(f"{api}/api/v1/requests/{rid}/letters",
                        headers={"Authorization": f"Bearer {token}"}).json()["letters"]
    return {f["format"] for f in letters[0]["files"]}


def _stop(procs) -> None:
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()


def test_gongkai_run_starts_the_api_and_a_local_prefect_that_runs_the_schedules(tmp_path):
    port, prefect_port = _free_port(), _free_port()
    env = {**os.environ, **AGENCY_ENV, "GONGKAI_DATA_DIR": str(tmp_path / "data"),
           "GONGKAI_DISPATCH_INTERVAL_SECONDS": "5"}
    env.pop("GONGKAI_DATABASE_URL", None)
    log = tmp_path / "run.log"
    with log.open("w") as out:  # a file, not a pipe: an unread pipe would block the children
        proc = subprocess.Popen([str(BIN / "gongkai"), "run", "--port", str(port), "--prefect-port",
                                 str(prefect_port)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    try:
        banner = _wait(lambda: next((line for line in log.read_text().splitlines()
                                     if line.startswith("Prefect UI:")), None),
                       150, "the banner", [proc])
        assert banner.startswith(f"Prefect UI:   http://127.0.0.1:{prefect_port}")
        api = f"http://127.0.0.1:{port}"
        _wait(lambda: httpx.get(f"{api}/api/v1/health").status_code == 200, 60, "the API", [proc])
        # A fresh database: the first admin was created once, its password printed to log in with.
        printed = log.read_text()
        [password] = re.findall(r"first start: an admin was created — user admin, password (\S+) ", printed)
        login = httpx.post(f"{api}/api/v1/auth/login", json={"username": "admin", "password": password})
        assert login.status_code == 200 and login.json()["user"]["role"] == "admin"
        assert "HttpOnly" in login.headers["set-cookie"] and "SameSite=strict" in login.headers["set-cookie"]
        assert httpx.get(f"{api}/api/v1/requests").status_code == 401
        token = _staff_token(env)
        rid = _register_one(api, token)
        # The API answered at once; the served schedule renders the letter's DOCX and PDF.
        assert _formats(api, rid, token) == {"html"}
        _wait(lambda: _formats(api, rid, token) == {"html", "docx", "pdf"}, 150, "the outbox", [proc])
        assert (tmp_path / "data" / "gongkai.db").exists()
        assert (tmp_path / "data" / "prefect" / "prefect.db").exists()  # Prefect's own SQLite
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)  # what Ctrl-C or a service manager does
        try:
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, log.read_text()[-3000:]


@pytest.mark.skipif(not PG_OK, reason="PostgreSQL on 127.0.0.1:5432 is not reachable")
def test_scale_out_prefect_on_postgresql_a_worker_and_two_api_replicas(tmp_path):
    admin_dsn = PG_URL.replace("postgresql+psycopg", "postgresql")
    names = {k: f"gongkai_{k}_{uuid.uuid4().hex[:8]}" for k in ("prefect", "engine")}
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        for name in names.values():
            conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_URL.rsplit("/", 1)[0]
    prefect_port, api_ports = _free_port(), [_free_port(), _free_port()]
    prefect_api = f"http://127.0.0.1:{prefect_port}/api"
    env = {**os.environ, **AGENCY_ENV, "PREFECT_HOME": str(tmp_path / "prefect-home"),
           "PREFECT_API_URL": prefect_api, "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL":
               base.replace("postgresql+psycopg", "postgresql+asyncpg") + f"/{names['prefect']}",
           "GONGKAI_DATABASE_URL": f"{base}/{names['engine']}",
           "GONGKAI_DATA_DIR": str(tmp_path / "data")}
    procs: list[subprocess.Popen] = []

    def start(*args: str) -> subprocess.Popen:
        procs.append(subprocess.Popen(list(args), env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        return procs[-1]

    try:
        subprocess.run([str(BIN / "gongkai"), "db", "upgrade"], env=env, check=True)
        server = start(str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port",
                       str(prefect_port))
        _wait(lambda: httpx.get(f"{prefect_api}/health").status_code == 200, 150,
              "Prefect server on PostgreSQL", [server])
        subprocess.run([str(BIN / "prefect"), "work-pool", "create", "gongkai", "--type", "process"],
                       env=env, check=True, capture_output=True)
        deployed = subprocess.run([str(BIN / "gongkai-flows"), "deploy", "--pool", "gongkai"],
                                  env=env, capture_output=True, text=True)
        assert deployed.returncode == 0, deployed.stdout[-2000:] + deployed.stderr[-4000:]
        assert "dispatch_outbox/gongkai on pool gongkai" in deployed.stdout
        worker = start(str(BIN / "prefect"), "worker", "start", "--pool", "gongkai")
        apis = [start(sys.executable, "-m", "uvicorn", "api.app:app", "--host", "127.0.0.1",
                      "--port", str(p)) for p in api_ports]
        first, second = (f"http://127.0.0.1:{p}" for p in api_ports)
        for api, proc in zip((first, second), apis):
            _wait(lambda api=api: httpx.get(f"{api}/api/v1/health").status_code == 200, 60,
                  f"API replica {api}", [proc])
        token = _staff_token(env)
        rid = _register_one(first, token)
        assert httpx.get(f"{second}/api/v1/requests/{rid}",
                         headers={"Authorization": f"Bearer {token}"}).json()["state"] == "registered"
        # Run the scheduled deployment now instead of waiting for its next slot.
        subprocess.run([str(BIN / "prefect"), "deployment", "run", "dispatch_outbox/gongkai"],
                       env=env, check=True, capture_output=True)
        _wait(lambda: _formats(second, rid, token) == {"html", "docx", "pdf"}, 240,
              "the worker to run dispatch_outbox", [server, worker])
        with psycopg.connect(admin_dsn.rsplit("/", 1)[0] + f"/{names['prefect']}") as conn:
            assert conn.execute("SELECT count(*) FROM deployment").fetchone()[0] == 3  # dispatch, sweep, checkpoint
    finally:
        _stop(procs)
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            for name in names.values():
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
