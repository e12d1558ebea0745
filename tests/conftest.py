"""Real databases for every test: a fresh SQLite file, and PostgreSQL on 127.0.0.1:5432 when reachable.

Each PostgreSQL test gets its own schema (search_path), migrated by Alembic like production.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import uuid

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from api.app import create_app
from core.config import Agency, Settings
from sqlmodel import select

from access import agencies, tokens, users
from access.models import User
from core.db import make_engine, session_scope
from core.migrate import upgrade

TODAY = dt.date(2026, 12, 31)  # the tests' "today", so no result depends on the real date
PG_URL = os.environ.get("GONGKAI_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _pg_reachable() -> bool:
    try:
        psycopg.connect(PG_URL.replace("+psycopg", ""), connect_timeout=2).close()
        return True
    except Exception:
        return False


PG_OK = _pg_reachable()


def _sqlite_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'gongkai.db'}"
    upgrade(url)
    return make_engine(url), url, None


def _pg_engine():
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = PG_URL + ("&" if "?" in PG_URL else "?") + f"options=-csearch_path%3D{schema}"
    upgrade(url)
    return make_engine(url, pool_size=40, max_overflow=10), url, (admin, schema)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request, tmp_path):
    """(engine, url, backend) of a freshly migrated database."""
    if request.param == "postgresql":
        if not PG_OK:
            pytest.skip("PostgreSQL on 127.0.0.1:5432 is not reachable")
        engine, url, cleanup = _pg_engine()
    else:
        engine, url, cleanup = _sqlite_engine(tmp_path)
    yield engine, url, request.param
    engine.dispose()
    if cleanup:
        admin, schema = cleanup
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def engine(db):
    return db[0]


# A realistic agency: a district government office, whose 复议机关 is the district government.
AGENCY = Agency(name="杭州市西湖区人民政府办公室", abbr="西政办", review_body="杭州市西湖区人民政府",
                court="杭州市西湖区人民法院", address="杭州市西湖区文三路1号", postcode="310012",
                phone="0571-87000000", contact_person="张伟")


# The same agency as environment variables, for the processes tests start (gongkai run, workers).
AGENCY_ENV = {f"GONGKAI_AGENCY__{k.upper()}": str(v) for k, v in AGENCY.model_dump().items()
              if v not in (None, "")}


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path, log_json=True, today_override=TODAY, agency=AGENCY)


def make_user(engine, username: str, role: str = "staff", *, agency: str | None = "main",
              unit: str | None = None, scope=None, password: str | None = None,
              display_name: str = "") -> str:
    """A user (no password unless given: argon2 costs ~0.15 s a hash) and a live bearer token;
    an existing user of that name just gets a new token."""
    with session_scope(engine) as session:
        if session.exec(select(User).where(User.username == username)).first() is None:
            users.add_user(session, username, role, actor="test:setup", agency=agency, unit=unit,
                           scope=scope, password=password, display_name=display_name)
        _, secret = tokens.create_token(session, username, days=30, actor="test:setup")
        session.commit()
    return secret


def set_agency(engine, code: str = "main", **fields) -> None:
    """Change an agency's fields as an admin would (audited)."""
    with session_scope(engine) as session:
        agencies.update_agency(session, code, fields, "test:setup")
        session.commit()


def authenticate(client, username: str = "zhang.wei", role: str = "staff", **placement) -> str:
    """Log `client` in as a new user of `role` (staff of the bootstrap agency by default)."""
    secret = make_user(client.app.state.engine, username, role, **placement)
    client.headers.update({"Authorization": f"Bearer {secret}"})
    return secret


@pytest.fixture
def client(engine, settings):
    with TestClient(create_app(engine, settings), raise_server_exceptions=False) as c:
        authenticate(c)
        yield c


APPLICANT = {"name": "李明", "kind": "natural_person", "id_number": "110101199003071233",
             "phone": "13800138000", "address": "北京市东城区某街1号"}


def new_request(client, received_on="2026-03-02", channel="in_person", **extra) -> dict:
    body = {"applicant": APPLICANT, "channel": channel, "received_on": received_on,
            "description": "2025年本区老旧小区改造项目的资金使用明细", "requested_form": "电子邮件",
            "department": "住建局", **extra}
    response = client.post("/api/v1/requests", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def fire(client, request_id, event, on, expect=200, **fields) -> dict:
    response = client.post(f"/api/v1/requests/{request_id}/events/{event}", json={"on": on, **fields})
    assert response.status_code == expect, response.text
    return response.json()


def _logged_in(client, prefix: str, role: str, name: str) -> TestClient:
    """A client of the same app logged in as a `role` user whose account shows `name`."""
    username = prefix + hashlib.sha1(name.encode()).hexdigest()[:8]
    other = TestClient(client.app, raise_server_exceptions=False)
    other.headers["Authorization"] = "Bearer " + make_user(client.app.state.engine, username, role,
                                                           display_name=name)
    return other


def head_of_office(client, name: str = "陈静") -> TestClient:
    """A client logged in as the OGI office head (supervisor) whose account shows `name`."""
    return _logged_in(client, "head.", "supervisor", name)


def extend(client, request_id, on, *, days, reason, approved_by="陈静", expect=200) -> dict:
    """Art 33 ¶2 as it happens: staff ask for the extension, the head approves it as themselves.
    `expect` is the status of whichever step answers first otherwise than 200."""
    asked = client.post(f"/api/v1/requests/{request_id}/events/request_extension",
                        json={"on": on, "days": days, "reason": reason})
    if asked.status_code != 200:
        assert asked.status_code == expect, asked.text
        return asked.json()
    settings = client.app.state.settings
    pinned, settings.today_override = settings.today_override, dt.date.fromisoformat(on)
    try:  # an approval is dated the day it is given: the head approves on `on`
        approved = head_of_office(client, approved_by).post(
            f"/api/v1/requests/{request_id}/events/approve_extension", json={"on": on})
    finally:
        settings.today_override = pinned
    assert approved.status_code == expect, approved.text
    return approved.json()


def review(client, request_id, on, conclusion="disclosable", *, redactions=None,
           basis="经审查，所申请信息不涉及国家秘密、工作秘密，公开后不危及国家安全、公共安全、经济安全和社会稳定",
           expect=200) -> dict:
    """保密审查 by the staff member of `client`, before a disclosure is decided (先审查后公开)."""
    body = {"conclusion": conclusion, "basis": basis}
    if redactions is not None:
        body["redactions"] = redactions
    return fire(client, request_id, "review_confidentiality", on, expect=expect, **body)


def legal_reviewer(client, name: str = "王律") -> TestClient:
    """A client logged in as a legal reviewer (法制审核) whose account shows `name`."""
    return _logged_in(client, "legal.", "legal", name)


def legal_signoff(client, request_id, on, *, name="王律", conclusion="approved", opinion=None,
                  expect=200) -> dict:
    """法制审核 as it happens: the legal reviewer signs the decided reply off on `on`."""
    settings = client.app.state.settings
    pinned, settings.today_override = settings.today_override, dt.date.fromisoformat(on)
    body = {"on": on, "conclusion": conclusion}
    if opinion:
        body["opinion"] = opinion
    try:  # a sign-off is dated the day it is given
        signed = legal_reviewer(client, name).post(
            f"/api/v1/requests/{request_id}/events/legal_signoff", json=body)
    finally:
        settings.today_override = pinned
    assert signed.status_code == expect, signed.text
    return signed.json()


def reply_disclosing(client, request_id, *, registered, reviewed, checked, decided, sent,
                     findings="该信息由本机关制作") -> dict:
    """Register, review, 保密审查, decide to disclose and send the reply, on those days."""
    fire(client, request_id, "register", registered)
    fire(client, request_id, "review", reviewed)
    review(client, request_id, checked)
    fire(client, request_id, "decide", decided, outcome="disclosed")
    client.put(f"/api/v1/requests/{request_id}/letters/draft",
               json={"findings": findings, "provision": "现随本答复书提供"})
    return fire(client, request_id, "send_reply", sent)


def letter_of(client, request_id, kind, nth=-1) -> dict:
    letters = client.get(f"/api/v1/requests/{request_id}/letters").json()["letters"]
    return [x for x in letters if x["kind"] == kind][nth]


def serve(client, request_id, kind, served_on, method="in_person", expect=200, nth=-1, **fields) -> dict:
    """Record the service date (送达) of the request's latest letter of `kind`."""
    letter = letter_of(client, request_id, kind, nth)
    response = client.post(f"/api/v1/requests/{request_id}/letters/{letter['id']}/service",
                           json={"method": method, "served_on": served_on, **fields})
    assert response.status_code == expect, response.text
    return response.json()


def refuse_deciding(engine, request_id: int) -> None:
    """From now on the database refuses to mark request `request_id` decided (a trigger on
    SQLite, a CHECK constraint on PostgreSQL, whose error quotes the whole failing row)."""
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(text(f"CREATE TRIGGER refused_by_test BEFORE UPDATE OF state ON request "
                              f"WHEN NEW.id = {request_id} AND NEW.state = 'decided' "
                              "BEGIN SELECT RAISE(ABORT, 'refused_by_test'); END"))
        else:
            conn.execute(text(f"ALTER TABLE request ADD CONSTRAINT refused_by_test "
                              f"CHECK (id <> {request_id} OR state <> 'decided') NOT VALID"))


def allow_deciding(engine) -> None:
    """Undo `refuse_deciding`."""
    with engine.begin() as conn:
        conn.execute(text("DROP TRIGGER refused_by_test" if engine.dialect.name == "sqlite"
                          else "ALTER TABLE request DROP CONSTRAINT refused_by_test"))
