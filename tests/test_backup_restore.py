"""Agencies back up while staff work, and restore only what verifies (备份与恢复)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import audit
from audit.signing import load_or_create, public_hex
from tests.conftest import fire, new_request

ROOT = Path(__file__).resolve().parent.parent


def _gongkai(data_dir: Path, *args: str, url: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GONGKAI_DATA_DIR": str(data_dir)}
    env.pop("GONGKAI_DATABASE_URL", None)
    if url:
        env["GONGKAI_DATABASE_URL"] = url
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)


def _registered(client) -> int:
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    return rid


def _count(db_file: Path, sql: str) -> int:
    with sqlite3.connect(db_file) as conn:
        return conn.execute(sql).fetchone()[0]


@pytest.fixture
def sqlite_only(db):
    if db[2] != "sqlite":
        pytest.skip("gongkai backup copies SQLite with its backup API; PostgreSQL: pg_dump below")


def test_a_backup_taken_under_write_load_restores_and_verifies(client, settings, sqlite_only, tmp_path):
    for _ in range(3):
        _registered(client)
    stop, made, errors = threading.Event(), [], []

    def staff_at_work():
        try:
            while not stop.is_set():
                made.append(_registered(client))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    worker = threading.Thread(target=staff_at_work)
    worker.start()
    try:
        while len(made) < 3:
            worker.join(0.05)
            assert not errors, errors
        before = len(made)
        taken = _gongkai(settings.data_dir, "backup", str(tmp_path / "backup"))
        during = len(made)
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    assert taken.returncode == 0, taken.stdout + taken.stderr
    assert during > before  # staff went on registering requests while the copy was taken
    manifest = json.loads((tmp_path / "backup" / "MANIFEST.json").read_text())
    assert manifest["checkpoint"] == "checkpoints/checkpoint-000001.json"
    assert set(manifest["files"]) == {"gongkai.db", "checkpoints/checkpoint-000001.json", "public-key.txt"}

    key = public_hex(load_or_create(settings.signing_key_path, create=False)[0])
    restored = tmp_path / "restored"
    put_back = _gongkai(restored, "restore", str(tmp_path / "backup"), "--public-key", key)
    assert put_back.returncode == 0, put_back.stdout + put_back.stderr
    assert "verified against checkpoints/checkpoint-000001.json" in put_back.stdout
    requests = _count(restored / "gongkai.db", "SELECT count(*) FROM request")
    assert 3 + before <= requests <= 3 + during + 1  # what was committed when the copy began
    # every request in the copy is whole: its chain ends at the head its row records
    assert _count(restored / "gongkai.db", "SELECT count(*) FROM audit_event") == \
        _count(restored / "gongkai.db", "SELECT sum(audit_seq) FROM request")
    verified = _gongkai(restored, "audit", "verify", "--public-key", key)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "checkpoint #1" in verified.stdout and ": holds" in verified.stdout
    # the letters are the same bytes
    letters = "SELECT group_concat(sha256, ',') FROM (SELECT sha256 FROM letter_file ORDER BY id LIMIT 5)"
    assert _count(restored / "gongkai.db", letters) == _count(settings.data_dir / "gongkai.db", letters)


def _backup(client, settings, tmp_path) -> Path:
    for _ in range(2):
        _registered(client)
    assert _gongkai(settings.data_dir, "backup", str(tmp_path / "backup")).returncode == 0
    return tmp_path / "backup"


def _reseal(folder: Path) -> None:
    """Make the manifest agree with the edited copy, as a forger would."""
    manifest = json.loads((folder / "MANIFEST.json").read_text())
    manifest["files"]["gongkai.db"] = hashlib.sha256((folder / "gongkai.db").read_bytes()).hexdigest()
    (folder / "MANIFEST.json").write_text(json.dumps(manifest))


def _edit_copy(folder: Path, *statements) -> None:
    conn = sqlite3.connect(folder / "gongkai.db")
    with conn:
        conn.execute("DROP TRIGGER audit_event_no_update")
        for sql, params in statements:
            conn.execute(sql, params)
    conn.close()  # the last connection folds its WAL back into the file


def _rewritten(folder: Path) -> None:
    """Rewrite request 1's registration in the copy, every hash recomputed, head moved."""
    conn = sqlite3.connect(folder / "gongkai.db")
    rows = conn.execute('SELECT id, request_id, seq, recorded_at, "on", actor, event, from_state, '
                        "to_state, data, prev_hash FROM audit_event WHERE request_id = 1 "
                        "ORDER BY seq").fetchall()
    conn.close()
    statements, prev = [], None
    for (eid, rid, seq, at, on, actor, event, fs, ts, data, prev_hash) in rows:
        prev = prev_hash if prev is None else prev
        if seq == 2:
            actor = "staff:someone_else"
        h = audit.event_hash(request_id=rid, seq=seq, recorded_at=at, on=on, actor=actor, event=event,
                             from_state=fs, to_state=ts, data=data, prev_hash=prev)
        statements.append(("UPDATE audit_event SET actor = ?, prev_hash = ?, hash = ? WHERE id = ?",
                           (actor, prev, h, eid)))
        prev = h
    statements.append(("UPDATE request SET audit_head = ? WHERE id = 1", (prev,)))
    _edit_copy(folder, *statements)


@pytest.mark.parametrize("forgery, named", [
    ("edited", "gongkai.db: its SHA-256 is not the manifest's"),
    ("edited and resealed", "2026-000001: broken at event 2: event 2 was altered after it was written"),
    ("rewritten and resealed", "2026-000001: event 2 is not as it was at checkpoint #1 (changed or removed)"),
])
def test_restore_refuses_a_copy_that_does_not_verify_and_changes_nothing(
        client, settings, sqlite_only, tmp_path, forgery, named):
    folder = _backup(client, settings, tmp_path)
    key = public_hex(load_or_create(settings.signing_key_path, create=False)[0])
    if forgery.startswith("edited"):
        _edit_copy(folder, ("UPDATE audit_event SET actor = 'staff:someone_else' WHERE request_id = 1 "
                            "AND seq = 2", ()))
    else:
        _rewritten(folder)
    if forgery.endswith("resealed"):
        _reseal(folder)
    restored = tmp_path / "restored"
    refused = _gongkai(restored, "restore", str(folder), "--public-key", key)
    assert refused.returncode == 1
    assert "not restored: the copy does not verify, nothing was restored" in refused.stderr
    assert named in refused.stderr
    assert not (restored / "gongkai.db").exists()
    assert not list(folder.glob("*.checking*"))


def test_restore_keeps_the_database_it_replaces_and_only_with_replace(client, settings, sqlite_only, tmp_path):
    folder = _backup(client, settings, tmp_path)
    target = tmp_path / "restored"
    target.mkdir()
    shutil.copyfile(settings.data_dir / "gongkai.db", target / "gongkai.db")
    refused = _gongkai(target, "restore", str(folder))
    assert refused.returncode == 1 and "pass --replace" in refused.stderr
    done = _gongkai(target, "restore", str(folder), "--replace")
    assert done.returncode == 0, done.stderr
    assert "trusting the backup's own key" in done.stderr
    assert len(list(target.glob("gongkai.db.before-restore-*"))) == 1


def test_a_backup_goes_into_a_new_folder(client, settings, sqlite_only, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    refused = _gongkai(settings.data_dir, "backup", str(tmp_path / "full"))
    assert refused.returncode == 2 and "is not empty" in refused.stderr


def test_on_postgresql_the_backup_is_a_pg_dump_with_the_checkpoints(client, db, settings, tmp_path):
    if db[2] != "postgresql" or shutil.which("pg_restore") is None:
        pytest.skip("PostgreSQL with pg_dump/pg_restore")
    _registered(client)
    taken = _gongkai(settings.data_dir, "backup", str(tmp_path / "backup"), url=db[1])
    assert taken.returncode == 0, taken.stdout + taken.stderr
    manifest = json.loads((tmp_path / "backup" / "MANIFEST.json").read_text())
    assert manifest["database"] == "gongkai.pgdump" and manifest["checkpoint"]
    listed = subprocess.run(["pg_restore", "--list", str(tmp_path / "backup" / "gongkai.pgdump")],
                            capture_output=True, text=True)
    assert listed.returncode == 0 and "TABLE DATA" in listed.stdout and "audit_event" in listed.stdout


def test_restore_refuses_a_file_that_is_not_a_database(client, settings, sqlite_only, tmp_path):
    folder = _backup(client, settings, tmp_path)
    (folder / "gongkai.db").write_bytes(b"\x00" * 4096)
    _reseal(folder)
    refused = _gongkai(tmp_path / "restored", "restore", str(folder))
    assert refused.returncode == 1 and "gongkai.db: cannot be read as a Gongkai database" in refused.stderr
    assert "Traceback" not in refused.stderr
