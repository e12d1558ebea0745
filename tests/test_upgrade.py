"""An agency upgrading in place keeps every request, every letter byte for byte, and every chain.

`tests/fixtures/release-0004.db` was written by the release before service dates (migration
0004): requests consulting, awaiting a 补正 and a fee, and one replied, with their letters
(one rendered to DOCX) and audit chains.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from fastapi.testclient import TestClient
from sqlalchemy import text

import audit
from api.app import create_app
from core.db import make_engine, session_scope
from states.models import Request
from tests.conftest import PG_OK, PG_URL, authenticate

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "release-0004.db"


def _snapshot(engine):
    with engine.connect() as conn:
        requests = conn.execute(text("SELECT id, number, state, due_on, audit_seq, audit_head "
                                     "FROM request ORDER BY id")).all()
        files = conn.execute(text("SELECT id, letter_id, format, sha256, content FROM letter_file "
                                  "ORDER BY id")).all()
        events = conn.execute(text("SELECT request_id, seq, hash FROM audit_event ORDER BY id")).all()
    return requests, files, events


def test_gongkai_db_upgrade_keeps_requests_letters_and_chains(tmp_path, settings):
    db = tmp_path / "gongkai.db"
    shutil.copy(FIXTURE, db)
    url = f"sqlite:///{db}"
    before = _snapshot(make_engine(url))
    upgraded = subprocess.run([sys.executable, "-m", "cli", "db", "upgrade"], cwd=ROOT,
                              env={"PATH": "/usr/bin:/bin", "GONGKAI_DATABASE_URL": url},
                              capture_output=True, text=True)
    assert upgraded.returncode == 0, upgraded.stderr
    engine = make_engine(url)
    after = _snapshot(engine)
    assert after == before
    for _id, _letter, _fmt, sha, content in after[1]:
        assert hashlib.sha256(content).hexdigest() == sha
    with session_scope(engine) as session:
        for row in session.query(Request).all():
            result = audit.verify(session, row.id, expected_head=(row.audit_seq, row.audit_head))
            assert result.ok, (row.number, result.reason)
    # 0012: the replied request carries its decision's date and outcome for the annual report.
    with engine.connect() as conn:
        decided = conn.execute(text("SELECT r.number, r.decided_on, r.outcome, d.decided_on, d.outcome "
                                    "FROM request r JOIN decision d ON d.request_id = r.id")).all()
        assert decided and all(row[1:3] == row[3:5] for row in decided), decided
        assert conn.execute(text("SELECT count(*) FROM request WHERE decided_on IS NOT NULL "
                                 "AND id NOT IN (SELECT request_id FROM decision)")).scalar() == 0
    # The consultations are linked to the letters that asked them; their periods are presumed
    # from the day sent until the service date is recorded, so no due date moved.
    with TestClient(create_app(engine, settings)) as client:
        authenticate(client)
        r = client.get("/api/v1/requests/1").json()
        c = r["consultations"][0]
        assert (c["letter_id"], c["lapses_on"], c["lapse_presumed"]) == (2, "2026-11-03", True)
        assert r["due_on"] == before[0][0][3]
        assert r["agency"] == "main"  # 0007: every request belongs to the agency of the settings
        served = client.post("/api/v1/requests/1/letters/2/service",
                             json={"method": "post", "served_on": "2026-10-16",
                                   "tracking_number": "EMS123"})
        assert served.status_code == 200, served.text
        # 15 working days from Friday 16 October: 19–23, 26–30 October, 2–6 November.
        assert client.get("/api/v1/requests/1").json()["consultations"][0]["lapses_on"] == "2026-11-06"
        assert client.get("/api/v1/requests/1/history").json()["verified"] is True


def test_the_service_date_and_letter_migrations_downgrade_and_upgrade_again_with_data(tmp_path):
    from core.migrate import downgrade, upgrade

    db = tmp_path / "gongkai.db"
    shutil.copy(FIXTURE, db)
    url = f"sqlite:///{db}"
    before = _snapshot(make_engine(url))
    upgrade(url)
    downgrade(url, "0004")
    assert _snapshot(make_engine(url)) == before
    upgrade(url)
    assert _snapshot(make_engine(url)) == before


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0007_carries_registers_and_digests_to_the_settings_agency_and_numbering_goes_on(
        backend, tmp_path):
    """Rows made before agencies existed belong to agency 1, and the next rows get fresh ids (a
    table rebuilt on PostgreSQL would restart its id sequence under the copied rows)."""
    from core.migrate import downgrade, upgrade

    if backend == "postgresql":
        if not PG_OK:
            pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
        schema = f"t_{uuid.uuid4().hex[:12]}"
        admin = make_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"
    else:
        url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    try:
        upgrade(url, "0006")
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO letter_register (code, year, last) VALUES ('登', 2026, 7)"))
            conn.execute(text("INSERT INTO digest (day, scope_kind, scope, overdue, due_soon, items, "
                              "body, created_at) VALUES ('2026-03-25', 'department', '住建局', 1, 0, "
                              "'[]', 'x', '2026-03-25 00:15:00')"))
        upgrade(url)
        with engine.begin() as conn:
            assert conn.execute(text("SELECT agency_id, code, last FROM letter_register")).all() == [
                (1, "登", 7)]
            conn.execute(text("INSERT INTO letter_register (agency_id, code, year, last) "
                              "VALUES (1, '答', 2026, 1)"))
            conn.execute(text("INSERT INTO digest (day, agency_id, scope_kind, scope, overdue, "
                              "due_soon, items, body, created_at) VALUES ('2026-03-26', 1, "
                              "'department', '住建局', 1, 0, '[]', 'x', '2026-03-26 00:15:00')"))
            assert conn.execute(text("SELECT count(*) FROM digest WHERE agency_id = 1")).scalar() == 2
        downgrade(url, "0006")
        upgrade(url)
        engine.dispose()
    finally:
        if backend == "postgresql":
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
