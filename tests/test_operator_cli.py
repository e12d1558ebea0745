"""Operators run the deadline work without knowing Prefect: `gongkai sweep [--today]` and
`gongkai dispatch` run the deployments on the Prefect server when one answers, else the same
flows in-process with a note; the commands the banner prints work as printed; every log line,
those printed inside flow runs included, is one JSON object stamped in the agency's zone."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from core.db import make_engine
from core.logging import stdlib_json_formatter
from core.migrate import upgrade
from tests.conftest import authenticate, fire, new_request

ROOT = Path(__file__).resolve().parent.parent
GONGKAI = [sys.executable, "-m", "cli"]
AGENCY_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+08:00$")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nothing answers there


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory):
    """One Prefect home for the module: its database is migrated once, not for every run."""
    return tmp_path_factory.mktemp("prefect-home")


@pytest.fixture
def engine_db(tmp_path, settings, prefect_home):
    """A migrated SQLite database with one request received 2026-02-02 and registered (so
    overdue by 25 March, and its 登记回执 queued for rendering); the CLI's environment."""
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    upgrade(url)
    engine = make_engine(url)
    with TestClient(create_app(engine, settings)) as client:
        authenticate(client)
        rid = new_request(client, received_on="2026-02-02")["id"]
        fire(client, rid, "register", "2026-02-02")
    env = {**os.environ, "GONGKAI_DATABASE_URL": url, "GONGKAI_DATA_DIR": str(tmp_path),
           "PREFECT_HOME": str(prefect_home), "COLUMNS": "200",
           "PREFECT_API_URL": f"http://127.0.0.1:{_closed_port()}/api"}
    for name in ("GONGKAI_TODAY", "GONGKAI_TIMEZONE", "GONGKAI_LOG_JSON"):
        env.pop(name, None)
    yield engine, env
    engine.dispose()


@pytest.fixture(scope="module")
def prefect_api():
    """A Prefect test server for the module (the pattern of test_prefect_flows.py)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness
    with prefect_test_harness(server_startup_timeout=90):
        yield PREFECT_API_URL.value()


def _json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"')]


def _summary(out: str, header: str) -> dict:
    """The pretty-printed summary after the command's header line."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header)) + 1
    for end in range(start + 1, len(lines) + 1):
        try:
            return json.loads("\n".join(lines[start:end]))
        except ValueError:
            continue
    raise AssertionError(f"no summary after {header!r} in:\n{out}")


def _assert_all_json_in_agency_time(out: str) -> None:
    for line in out.splitlines():
        # structlog's console format, which the flow-run processes printed before
        assert not re.match(r"^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d +\[", line), line
        assert not re.match(r"^\d\d:\d\d:\d\d\.\d{3} \| ", line), line  # Prefect's console format
    records = _json_lines(out)
    assert records
    for record in records:
        assert AGENCY_TIME.match(record["timestamp"]), record


def test_a_bad_today_is_refused_naming_the_option(engine_db):
    _, env = engine_db
    for bad in ("2026-02-30", "tomorrow", "25/03/2026"):
        result = subprocess.run([*GONGKAI, "sweep", "--today", bad], cwd=ROOT, env=env,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 2, result.stderr
        assert "Invalid value for '--today'" in result.stderr and bad in result.stderr


def test_sweep_runs_in_process_with_a_note_when_no_prefect_server_answers(engine_db):
    engine, env = engine_db
    result = subprocess.run([*GONGKAI, "sweep", "--today", "2026-03-25"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no Prefect server answered at http://127.0.0.1:" in result.stderr
    assert "running sweep_deadlines in this process" in result.stderr
    summary = _summary(result.stdout, "sweep_deadlines: flow run '")
    assert summary["today"] == "2026-03-25" and summary["overdue"] == ["2026-000001"]
    assert len(summary["digests"]) == 1  # 住建局
    done = [r for r in _json_lines(result.stdout) if r["event"] == "sweep_deadlines_done"]
    assert len(done) == 1 and done[0]["overdue"] == ["2026-000001"]
    assert done[0]["flow_name"] == "sweep_deadlines" and done[0]["flow_run_name"]
    _assert_all_json_in_agency_time(result.stdout)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT deadline_flag FROM request")).scalar_one() == "overdue"


def test_dispatch_runs_in_process_and_renders_the_queued_letter(engine_db, prefect_api):
    engine, env = engine_db
    # Asked for in-process while a server answers (no deployment served): run here, recorded there.
    result = subprocess.run([*GONGKAI, "dispatch", "--in-process", "--prefect-api-url",
                             prefect_api], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "no Prefect server" not in result.stderr
    assert "Starting temporary server" not in result.stdout
    summary = _summary(result.stdout, "dispatch_outbox: flow run '")
    assert summary == {"done": [1], "retried": [], "parked": [], "lost": []}
    done = [r for r in _json_lines(result.stdout) if r["event"] == "outbox_done"]
    assert [(r["kind"], r["request_number"], r["flow_run_name"]) for r in done] == [
        ("render_letter", "2026-000001", "render_letter · 2026-000001")]
    _assert_all_json_in_agency_time(result.stdout)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM outbox")).scalar_one() == "done"


def test_a_flow_run_that_fails_exits_non_zero_saying_why(engine_db, prefect_api, tmp_path):
    _, env = engine_db
    env = {**env, "GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'never-migrated.db'}",
           "PREFECT_API_URL": prefect_api}
    result = subprocess.run([*GONGKAI, "sweep", "--today", "2026-03-25", "--in-process"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert re.search(r"^sweep_deadlines: flow run '.+' Failed", result.stdout, re.MULTILINE)
    assert "sweep_deadlines did not complete" in result.stderr and "no such table" in result.stderr
    _assert_all_json_in_agency_time(result.stdout)


def test_foreign_lines_carry_the_agency_zone_and_the_time_they_were_made():
    record = logging.getLogger("uvicorn.error").makeRecord(
        "uvicorn.error", logging.INFO, __file__, 1, "Started server process", (), None)
    record.created = dt.datetime(2026, 3, 24, 16, 0, 0, 250000, tzinfo=dt.timezone.utc).timestamp()
    line = json.loads(stdlib_json_formatter().format(record))
    assert line["timestamp"] == "2026-03-25T00:00:00.250+08:00"


async def _deployment_exists(name: str) -> bool:
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound
    async with get_client() as client:
        try:
            await client.read_deployment_by_name(name)
            return True
        except ObjectNotFound:
            return False


def test_sweep_and_dispatch_run_the_served_deployments_and_the_banner_commands_work(
        engine_db, prefect_api, tmp_path):
    engine, env = engine_db
    env = {**env, "PREFECT_API_URL": prefect_api, "PREFECT_RUNNER_POLL_FREQUENCY": "1"}
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        served = subprocess.Popen([sys.executable, "-m", "workflows.serve", "serve"], cwd=ROOT,
                                  env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (asyncio.run(_deployment_exists("sweep_deadlines/gongkai"))
                   and asyncio.run(_deployment_exists("dispatch_outbox/gongkai"))):
            assert served.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.5)
        banner = log.read_text()
        served_on = (f"Serving dispatch_outbox/gongkai, sweep_deadlines/gongkai, checkpoint_audit/gongkai "
                     f"on {prefect_api}")
        assert served_on in banner
        assert "prefect deployment run [DEPLOYMENT_NAME]" not in banner  # Prefect's, which fails
        sweep_cmd, dispatch_cmd, prefect_cmd = re.findall(r"(PREFECT_API_URL=\S+ .*)$", banner,
                                                          re.MULTILINE)
        assert f"PREFECT_API_URL={prefect_api} " in sweep_cmd and " sweep" in sweep_cmd

        # Copied from the banner, run from another folder, a comment and all.
        elsewhere = {k: v for k, v in env.items() if k != "PREFECT_API_URL"}
        replay = sweep_cmd.replace(" sweep ", " sweep --today 2026-03-25 ")
        swept = subprocess.run(["bash", "-c", replay], cwd=tmp_path, env=elsewhere,
                               capture_output=True, text=True, timeout=120)
        assert swept.returncode == 0, swept.stdout + swept.stderr
        assert "no Prefect server" not in swept.stderr
        summary = _summary(swept.stdout, "sweep_deadlines/gongkai: flow run '")
        assert summary["today"] == "2026-03-25" and summary["overdue"] == ["2026-000001"]
        assert f"{prefect_api.removesuffix('/api')}/runs/flow-run/" in swept.stdout

        dispatched = subprocess.run(["bash", "-c", dispatch_cmd], cwd=tmp_path, env=elsewhere,
                                    capture_output=True, text=True, timeout=120)
        assert dispatched.returncode == 0, dispatched.stdout + dispatched.stderr
        assert _summary(dispatched.stdout, "dispatch_outbox/gongkai: flow run '")["done"] == [1]

        by_prefect = subprocess.run(["bash", "-c", prefect_cmd], cwd=tmp_path, env=elsewhere,
                                    capture_output=True, text=True, timeout=120)
        assert by_prefect.returncode == 0, by_prefect.stdout + by_prefect.stderr
        assert "Completed" in by_prefect.stdout
    finally:
        served.terminate()
        served.wait(timeout=30)
    # The engine's lines printed inside the served flow runs' processes: JSON, agency time.
    printed = log.read_text()
    events = [r["event"] for r in _json_lines(printed)]
    assert events.count("sweep_deadlines_done") == 2 and events.count("outbox_done") == 1
    _assert_all_json_in_agency_time(printed)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT status FROM outbox")).scalar_one() == "done"
