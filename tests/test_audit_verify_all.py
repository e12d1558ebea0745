"""`gongkai audit verify` checks every chain in one pass and names each broken request and its
first broken event — an edited payload, a deleted tail, a whole history deleted — on SQLite and
PostgreSQL, with exit status 1; the fast hash is the chain's hash byte for byte."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from audit.bulk_verify import fast_hash
from audit.chain import event_hash
from tests.conftest import fire, new_request
from tests.test_audit_chain import _tamper

ROOT = Path(__file__).resolve().parent.parent


def _verify(db) -> subprocess.CompletedProcess:
    url = db[0].url.render_as_string(hide_password=False)
    env = {**os.environ, "GONGKAI_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "cli", "audit", "verify"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_every_broken_chain_is_named_with_its_first_broken_event(client, db):
    ids = []
    for _ in range(4):
        rid = new_request(client)["id"]
        fire(client, rid, "register", "2026-03-02")
        fire(client, rid, "review", "2026-03-03")
        ids.append(rid)
    clean = _verify(db)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "4 requests, 16 events checked" in clean.stdout and clean.stdout.strip().endswith("0 broken")
    backend = db[2]
    _tamper(db[0], backend, f"UPDATE audit_event SET data = replace(data, 'in_person', 'post') "
                            f"WHERE request_id = {ids[0]} AND seq = 1")
    _tamper(db[0], backend, f"DELETE FROM audit_event WHERE request_id = {ids[1]} AND seq = 4")
    _tamper(db[0], backend, f"DELETE FROM audit_event WHERE request_id = {ids[2]}")
    broken = _verify(db)
    assert broken.returncode == 1
    lines = [line for line in broken.stdout.splitlines() if "broken at" in line]
    assert lines == ["2026-000001: broken at event 1: event 1 was altered after it was written",
                     "2026-000002: broken at event 4: events 4..4 are missing",
                     "2026-000003: broken at event 1: events 1..4 are missing"]
    assert broken.stdout.strip().endswith("3 broken")


@pytest.mark.parametrize("text", ["普通的中文", 'quote " and \\ backslash', "tab\tnew\nline",
                                  "\x00\x01\x1f nul and controls", "\u2028\u2029 separators",
                                  "emoji 😀 and 𠀀", "\x7f del", ""])
def test_the_fast_hash_is_the_chain_hash_byte_for_byte(text):
    fields = dict(request_id=7, seq=3, recorded_at="2026-03-02T01:02:03.000004+00:00",
                  on="2026-03-02", actor=text or "a", event="review", from_state=None,
                  to_state="reviewing", data='{"note":"' + text.replace('"', "'") + '"}',
                  prev_hash="a" * 64)
    assert fast_hash(*fields.values()) == event_hash(**fields)
    fields["from_state"] = text
    assert fast_hash(*fields.values()) == event_hash(**fields)
