"""Operators' view: JSON logs that never leak an applicant's ID or phone, and the gongkai command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import structlog

from core.logging import configure_logging, get_logger
from tests.conftest import fire, new_request

ROOT = Path(__file__).resolve().parent.parent


def test_logs_are_json_with_the_request_id_and_never_hold_id_or_phone_numbers():
    out = io.StringIO()
    configure_logging("INFO", json=True, stream=out)
    structlog.contextvars.bind_contextvars(http_request_id="abc123", request_number="2026-000007")
    log = get_logger("test")
    log.info("applicant_called", phone="13800138000", note="身份证110101199003071234，电话13912345678")
    try:
        secret = "110101199003071234"  # a local that must not be dumped with the traceback
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    structlog.contextvars.clear_contextvars()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    first, second = lines
    assert first["http_request_id"] == "abc123" and first["request_number"] == "2026-000007"
    assert first["phone"] == "[masked]"
    assert first["note"] == "身份证[id_number]，电话[phone]"
    assert second["exception"][0]["exc_type"] == "ValueError"
    assert "locals" not in json.dumps(second) and secret not in out.getvalue()


def test_the_api_logs_each_call_with_number_but_no_personal_data(client, capsys):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    printed = capsys.readouterr().out
    records = [json.loads(line) for line in printed.splitlines() if line.startswith("{")]
    advanced = [r for r in records if r["event"] == "request_advanced"]
    assert advanced and advanced[0]["request_number"] == "2026-000001"
    assert "13800138000" not in printed and "110101199003071234" not in printed


def test_gongkai_db_upgrade_and_audit_verify_from_the_command_line(tmp_path):
    env = {**os.environ, "GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    gongkai = [sys.executable, "-m", "cli"]
    up = subprocess.run([*gongkai, "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert up.returncode == 0, up.stderr
    assert "is at head" in up.stdout
    check = subprocess.run([*gongkai, "audit", "verify"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    summary = check.stdout.strip().splitlines()[-1]  # after the progress bar
    assert summary.startswith("0 requests, 0 events checked in ") and summary.endswith(", 0 broken")
