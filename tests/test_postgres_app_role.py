"""A PostgreSQL deployment where the service connects as an app role that may only read and add
to the history: the owner migrates and grants (`gongkai db grant-app-role`), the service runs a
request through the one door as the app role, and the database itself refuses that role any
UPDATE, DELETE or TRUNCATE of the history — even with the owner's triggers switched off."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from core.db import make_engine
from tests.conftest import authenticate, fire, new_request

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("db", ["postgresql"], indirect=True)
def test_the_app_role_runs_the_service_and_cannot_rewrite_history(db, settings):
    owner, url, _backend = db
    role = f"gk_app_{uuid.uuid4().hex[:8]}"
    with owner.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        current = conn.execute(text("SELECT current_schema()")).scalar_one()
    try:
        granted = subprocess.run(
            [sys.executable, "-m", "cli", "db", "grant-app-role", role, "--schema", current],
            cwd=ROOT, env={**os.environ, "GONGKAI_DATABASE_URL": url}, capture_output=True, text=True)
        assert granted.returncode == 0, granted.stdout + granted.stderr
        app_url = owner.url.set(username=role).render_as_string(hide_password=False)
        app_engine = make_engine(app_url)
        with TestClient(create_app(app_engine, settings), raise_server_exceptions=False) as client:
            authenticate(client)
            rid = new_request(client)["id"]
            fire(client, rid, "register", "2026-03-02")
            assert client.get(f"/api/v1/requests/{rid}/history").json()["verified"] is True
        for statement in ("UPDATE audit_event SET actor = 'someone' WHERE request_id = 1",
                          "DELETE FROM audit_event", "TRUNCATE audit_event",
                          "UPDATE letter_file SET sha256 = 'x'", "DELETE FROM access_event"):
            with pytest.raises(DBAPIError, match="permission denied"):
                with app_engine.begin() as conn:
                    conn.execute(text(statement))
        with owner.begin() as conn:  # the owner switches the triggers off: the role still may not
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        with pytest.raises(DBAPIError, match="permission denied"):
            with app_engine.begin() as conn:
                conn.execute(text("UPDATE audit_event SET actor = 'someone'"))
        with pytest.raises(DBAPIError, match="must be owner"):  # nor switch the triggers itself
            with app_engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        app_engine.dispose()
    finally:
        with owner.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))
