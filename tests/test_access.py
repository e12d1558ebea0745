"""Who acts: every role × route cell, login with lockout and CSRF, tokens that expire and are
revoked, and agencies whose requests, letters and 文号 registers stay their own."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

import audit
from access.models import LoginAttempt
from api.app import create_app
from api.matrix import PUBLIC, matrix, matrix_markdown, unguarded
from core.db import session_scope
from tests.conftest import AGENCY, fire, make_user, new_request

ROOT = Path(__file__).resolve().parent.parent
ZHUJIAN = {"name": "杭州市西湖区住房和城乡建设局", "abbr": "西建", "address": "杭州市西湖区文二路2号",
           "phone": "0571-87111111", "review_body": "杭州市西湖区人民政府",
           "court": "杭州市西湖区人民法院", "contact_person": "陈静"}
PASSWORD = "Xihu-2026-gongkai"


def _as(client, token: str | None) -> TestClient:
    """Another client on the same app, with this token (or none)."""
    other = TestClient(client.app, raise_server_exceptions=False)
    if token:
        other.headers["Authorization"] = f"Bearer {token}"
    return other


def _add_agency(client, code: str = "zhujian", **fields) -> dict:
    admin = _as(client, make_user(client.app.state.engine, "root", "admin", scope="all"))
    r = admin.post("/api/v1/agencies", json={"code": code, **ZHUJIAN, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def test_every_route_is_guarded_and_the_readme_prints_the_matrix_the_code_enforces():
    assert unguarded() == []
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert matrix_markdown() in readme


def test_every_cell_of_the_role_route_matrix_holds(client):
    engine = client.app.state.engine
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")  # an acknowledgement letter, id 1
    _add_agency(client)
    tokens = {role: make_user(engine, f"{role}.main", role, scope=None) for role in
              ("staff", "legal", "supervisor")}
    tokens["admin"] = make_user(engine, "admin.all", "admin", scope="all")
    elsewhere = {role: make_user(engine, f"{role}.zhujian", role, agency="zhujian")
                 for role in ("staff", "legal", "supervisor")}
    values = {"request_id": rid, "letter_id": 1, "fmt": "html", "event": "fly", "token_id": 1,
              "outbox_id": 1, "digest_id": 1, "code": "main", "username": "zhang.wei",
              "challenge_id": 1}
    checked = 0
    for cell in matrix():
        path = cell.path.format(**values)
        body = {} if cell.method in ("POST", "PUT", "PATCH") else None

        def call(token):
            return _as(client, token).request(cell.method, path, json=body)

        if (cell.method, cell.path) in PUBLIC:
            continue
        anonymous = call(None)
        assert anonymous.status_code == 401, (cell, anonymous.text)
        assert anonymous.headers["www-authenticate"] == "Bearer"
        for role, token in tokens.items():
            answer = call(token)
            if role in cell.roles:
                assert answer.status_code not in (401, 403), (cell, role, answer.text)
            else:
                assert answer.status_code == 403, (cell, role, answer.text)
                assert answer.json()["error"] == "forbidden"
            checked += 1
        if cell.scoped:
            for role in cell.roles & set(elsewhere):
                answer = call(elsewhere[role])
                assert answer.status_code == 404, (cell, role, answer.text)
                assert answer.json()["message"] == f"request {rid} does not exist"
                checked += 1
    assert checked > 200


def test_a_password_login_sets_a_strict_http_only_cookie_and_unsafe_calls_need_the_csrf_token(client):
    make_user(client.app.state.engine, "wang.fang", "staff", password=PASSWORD)
    browser = _as(client, None)
    r = browser.post("/api/v1/auth/login", json={"username": "wang.fang", "password": PASSWORD})
    assert r.status_code == 200, r.text
    cookie = r.headers["set-cookie"]
    assert "gongkai_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain http here; behind https it is Secure (next test)
    csrf = r.json()["csrf_token"]
    assert browser.get("/api/v1/auth/me").json()["username"] == "wang.fang"
    body = {"applicant": {"name": "李明", "kind": "natural_person"}, "channel": "in_person",
            "received_on": "2026-03-02", "description": "本区2025年老旧小区改造资金明细"}
    forged = browser.post("/api/v1/requests", json=body)
    assert forged.status_code == 403 and forged.json()["error"] == "csrf_refused"
    wrong = browser.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": "guess"})
    assert wrong.status_code == 403
    made = browser.post("/api/v1/requests", json=body, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201, made.text
    history = browser.get(f"/api/v1/requests/{made.json()['id']}/history").json()
    assert history["events"][0]["actor"] == "wang.fang"  # the audit actor is the logged-in user
    # A form post (the web pages) carries the token as a field instead of a header.
    form = browser.post("/api/v1/auth/tokens", data={"csrf_token": csrf, "label": "x"})
    assert form.status_code == 422  # past the CSRF check: this route takes JSON, not a form
    assert browser.post("/api/v1/auth/tokens", data={"csrf_token": "guess"}).status_code == 403
    assert browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert browser.get("/api/v1/auth/me").status_code == 401


def test_behind_https_the_session_cookie_is_secure(engine, settings):
    with TestClient(create_app(engine, settings), base_url="https://gongkai.xihu.gov.cn") as c:
        make_user(engine, "wang.fang", "staff", password=PASSWORD)
        r = c.post("/api/v1/auth/login", json={"username": "wang.fang", "password": PASSWORD})
        assert r.status_code == 200 and "Secure" in r.headers["set-cookie"]


def test_five_wrong_passwords_lock_the_account_and_every_attempt_is_recorded(client):
    engine = client.app.state.engine
    make_user(engine, "wang.fang", "staff", password=PASSWORD)
    browser = _as(client, None)

    def login(password):
        return browser.post("/api/v1/auth/login", json={"username": "wang.fang", "password": password})

    for _ in range(4):
        refused = login("not-the-password")
        assert refused.status_code == 401 and refused.json()["message"] == "user name or password is wrong"
    assert login("still-not-it").status_code == 401  # the fifth: locked from now on
    locked = login(PASSWORD)
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 14 * 60
    assert "locked after 5 failed logins" in locked.json()["message"]
    unknown = browser.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert unknown.status_code == 401 and unknown.json() == refused.json()  # says no more
    for _ in range(4):
        browser.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    ghost = browser.post("/api/v1/auth/login", json={"username": "nobody", "password": "x"})
    assert ghost.status_code == 429 and ghost.json()["message"] == locked.json()["message"]
    with session_scope(engine) as session:
        attempts = session.query(LoginAttempt).order_by(LoginAttempt.id).all()
        assert [(a.username, a.ok, a.reason) for a in attempts] == (
            [("wang.fang", False, "bad_password")] * 5 + [("wang.fang", False, "locked")]
            + [("nobody", False, "unknown_user")] * 5 + [("nobody", False, "locked")])
        assert [e.event for e in audit.access_history(session, "user:wang.fang")][-1] == "user_locked"
    # An admin's new password unlocks it.
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    reset = admin.post("/api/v1/users/wang.fang/password", json={})
    assert reset.status_code == 200 and len(reset.json()["password"]) == 16
    assert login(reset.json()["password"]).status_code == 200


def test_one_address_failing_too_often_must_wait(engine, settings):
    settings.login_throttle_per_address = 3
    with TestClient(create_app(engine, settings)) as c:
        for name in ("a1", "a2", "a3"):
            assert c.post("/api/v1/auth/login", json={"username": name, "password": "x"}).status_code == 401
        r = c.post("/api/v1/auth/login", json={"username": "a4", "password": "x"})
        assert r.status_code == 429 and r.headers["retry-after"] == "600"


def test_a_token_stops_working_when_revoked_expired_or_its_user_is_disabled(client):
    engine = client.app.state.engine
    own = _as(client, make_user(engine, "wang.fang", "staff"))
    created = own.post("/api/v1/auth/tokens", json={"days": 1, "label": "台账导出脚本"})
    assert created.status_code == 201
    token = created.json()["token"]
    script = _as(client, token)
    assert script.get("/api/v1/requests").status_code == 200
    assert own.delete(f"/api/v1/auth/tokens/{created.json()['id']}").status_code == 204
    assert script.get("/api/v1/requests").status_code == 401
    # Expired: a token past its day answers 401 like any unknown one.
    second = own.post("/api/v1/auth/tokens", json={"days": 1}).json()
    with engine.begin() as conn:
        conn.execute(text("UPDATE api_token SET expires_at = :past WHERE id = :id"),
                     {"past": dt.datetime(2020, 1, 1), "id": second["id"]})
    assert _as(client, second["token"]).get("/api/v1/requests").status_code == 401
    # Disabled: every token of the user stops at once.
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    assert admin.patch("/api/v1/users/wang.fang", json={"disabled": True}).status_code == 200
    assert own.get("/api/v1/requests").status_code == 401
    # A new password revokes every token, and enabling the account again brings none back.
    too_long = _as(client, make_user(engine, "zhou.min", "staff")).post("/api/v1/auth/tokens",
                                                                         json={"days": 3650})
    assert too_long.status_code == 422 and too_long.json()["detail"][0]["field"] == "days"
    kept = _as(client, make_user(engine, "zhou.min", "staff"))
    assert kept.get("/api/v1/auth/me").status_code == 200
    assert admin.post("/api/v1/users/zhou.min/password", json={}).status_code == 200
    assert kept.get("/api/v1/auth/me").status_code == 401
    assert admin.patch("/api/v1/users/wang.fang", json={"disabled": False}).status_code == 200
    assert own.get("/api/v1/requests").status_code == 401
    # Nobody revokes another user's token through their own account route.
    other = make_user(engine, "li.na", "staff")
    assert other.startswith("gk_")
    assert _as(client, other).delete(f"/api/v1/auth/tokens/{created.json()['id']}").status_code == 404
    with session_scope(engine) as session:
        events = [(e.event, e.subject) for e in audit.access_history(session, "user:wang.fang")]
    assert ("token_created", "user:wang.fang") in events and ("token_revoked", "user:wang.fang") in events
    assert events[-2:] == [("user_disabled", "user:wang.fang"), ("user_enabled", "user:wang.fang")]


def test_two_agencies_letters_carry_their_own_letterheads_and_number_sequences(client):
    engine = client.app.state.engine
    _add_agency(client)
    theirs = _as(client, make_user(engine, "chen.jing", "staff", agency="zhujian"))
    ours = [new_request(client)["id"] for _ in range(2)]
    mine = new_request(theirs)["id"]
    assert new_request(theirs)["agency"] == "zhujian" and client.get(f"/api/v1/requests/{ours[0]}").json()["agency"] == "main"
    for rid in ours:
        fire(client, rid, "register", "2026-03-02")
    fire(theirs, mine, "register", "2026-03-02")

    def acknowledgement(c, rid):
        [letter] = c.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
        return letter["doc_number"], c.get(f"/api/v1/requests/{rid}/letters/{letter['id']}.html").text

    (n1, _), (n2, html_ours) = acknowledgement(client, ours[0]), acknowledgement(client, ours[1])
    n3, html_theirs = acknowledgement(theirs, mine)
    assert (n1, n2, n3) == ("西政办政信登〔2026〕1号", "西政办政信登〔2026〕2号", "西建政信登〔2026〕1号")
    assert AGENCY.name in html_ours and ZHUJIAN["name"] not in html_ours
    assert ZHUJIAN["name"] in html_theirs and "陈静" in html_theirs and AGENCY.name not in html_theirs
    # Each agency's staff list only their own; a supervisor of the whole government sees both.
    assert [r["id"] for r in theirs.get("/api/v1/requests").json()["items"]] == [mine, mine + 1]
    assert theirs.get(f"/api/v1/requests/{ours[0]}").status_code == 404
    everyone = _as(client, make_user(engine, "zhao.lei", "supervisor", agency=None, scope="all"))
    assert everyone.get("/api/v1/requests", params={"total": "true"}).json()["total"] == 4
    only = everyone.get("/api/v1/requests", params={"agency": "zhujian"}).json()
    assert [r["agency"] for r in only["items"]] == ["zhujian", "zhujian"]


def test_a_letter_keeps_the_agency_as_it_was_when_it_was_frozen(client):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    [before] = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    old = client.get(f"/api/v1/requests/{rid}/letters/{before['id']}.html").content
    admin = _as(client, make_user(client.app.state.engine, "root", "admin", scope="all"))
    moved = admin.patch("/api/v1/agencies/main", json={"address": "杭州市西湖区保俶路100号",
                                                       "expected_version": 2})
    assert moved.status_code == 200, moved.text
    stale = admin.patch("/api/v1/agencies/main", json={"phone": "0571-88888888", "expected_version": 2})
    assert stale.status_code == 409
    assert client.get(f"/api/v1/requests/{rid}/letters/{before['id']}.html").content == old
    assert "文三路1号" in old.decode()
    rid2 = new_request(client)["id"]
    fire(client, rid2, "register", "2026-03-02")
    [after] = client.get(f"/api/v1/requests/{rid2}/letters").json()["letters"]
    assert "保俶路100号" in client.get(f"/api/v1/requests/{rid2}/letters/{after['id']}.html").text
    log = admin.get("/api/v1/access-log").json()
    assert log["verified"] is True
    change = [e for e in log["events"] if e["event"] == "agency_changed"][-1]
    assert change["actor"] == "root" and change["data"]["changed"]["address"]["to"] == "杭州市西湖区保俶路100号"


def test_staff_of_a_unit_see_only_its_requests(client):
    engine = client.app.state.engine
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    for unit in ("信息公开科", "综合科"):
        assert admin.post("/api/v1/agencies/main/units", json={"name": unit}).status_code == 201
    keshi = _as(client, make_user(engine, "sun.li", "staff", unit="信息公开科"))
    placed = new_request(keshi)
    assert placed["unit"] == "信息公开科"
    other = new_request(client, unit="综合科")
    assert [r["id"] for r in keshi.get("/api/v1/requests").json()["items"]] == [placed["id"]]
    assert keshi.get(f"/api/v1/requests/{other['id']}").status_code == 404
    refused = keshi.post("/api/v1/requests", json={
        "applicant": {"name": "李明", "kind": "natural_person"}, "channel": "in_person",
        "received_on": "2026-03-02", "description": "x", "unit": "综合科"})
    assert refused.status_code == 403


def test_admin_input_is_checked_naming_the_field(client):
    admin = _as(client, make_user(client.app.state.engine, "root", "admin", scope="all"))
    cases = [
        ("post", "/api/v1/users", {"username": "li.si", "role": "staff"}, "agency"),
        ("post", "/api/v1/users", {"username": "li.si", "role": "staff", "agency": "main",
                                   "password": "short"}, "password"),
        ("post", "/api/v1/users", {"username": "System:x", "role": "staff", "agency": "main"}, "username"),
        ("post", "/api/v1/users", {"username": "li.si", "role": "staff", "agency": "nowhere"}, None),
        ("patch", "/api/v1/agencies/main", {"name": None}, "name"),
        ("patch", "/api/v1/agencies/main", {"doc_number_pattern": "{abbr}{seq}"}, "doc_number_pattern"),
        ("patch", "/api/v1/agencies/main", {"address": "文三路\x00"}, "address"),
        ("patch", "/api/v1/agencies/main", {"doc_number_pattern": "{code}{year}{seq}{oops}"},
         "doc_number_pattern"),
        ("patch", "/api/v1/agencies/main", {"doc_number_pattern": "{code}{year}{seq:99999999999}"},
         "doc_number_pattern"),
        ("patch", "/api/v1/agencies/main", {"electronic_seal": "/etc/passwd"}, "electronic_seal"),
        ("patch", "/api/v1/agencies/main", {"electronic_seal": "../gongkai.db"}, "electronic_seal"),
        ("patch", "/api/v1/users/root", {"disabled": True}, None),
        ("post", "/api/v1/auth/login", {"username": "a\x00b", "password": "x"}, "username"),
        ("post", "/api/v1/agencies", {"code": "Bad Code", "name": "x"}, "code"),
    ]
    for method, path, body, field in cases:
        r = getattr(admin, method)(path, json=body)
        assert 400 <= r.status_code < 500, (path, body, r.text)
        if field:
            assert r.status_code == 422 and r.json()["detail"][0]["field"] == field, (body, r.text)
    assert admin.post("/api/v1/users", json={"username": "li.si", "role": "staff",
                                             "agency": "nowhere"}).status_code == 404
    last = admin.patch("/api/v1/users/root", json={"disabled": True})
    assert last.status_code == 409 and "last enabled admin" in last.json()["message"]
    twice = admin.post("/api/v1/users", json={"username": "he.fa", "role": "legal", "agency": "main",
                                              "scope": ["main", "main"]})
    assert twice.status_code == 201 and twice.json()["user"]["scope"] == []


def test_the_command_line_adds_users_from_stdin_and_prints_a_token_alone(engine, tmp_path):
    env = {**os.environ, "GONGKAI_DATABASE_URL": engine.url.render_as_string(hide_password=False)}
    gongkai = [sys.executable, "-m", "cli"]
    added = subprocess.run([*gongkai, "users", "add", "wang.fang", "--role", "staff", "--agency", "main"],
                           input=PASSWORD + "\n", env=env, capture_output=True, text=True, cwd=ROOT)
    assert added.returncode == 0, added.stderr
    assert added.stdout == "user wang.fang added (staff)\n"  # no password printed: it came from stdin
    token = subprocess.run([*gongkai, "tokens", "create", "wang.fang", "--days", "7"], env=env,
                           capture_output=True, text=True, cwd=ROOT)
    assert token.returncode == 0 and token.stdout.startswith("gk_") and token.stdout.count("\n") == 1
    again = subprocess.run([*gongkai, "users", "add", "wang.fang", "--role", "staff", "--agency", "main"],
                           input=PASSWORD + "\n", env=env, capture_output=True, text=True, cwd=ROOT)
    assert again.returncode == 2 and "already exists" in again.stderr
    listed = subprocess.run([*gongkai, "users", "list"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert "wang.fang" in listed.stdout and "staff" in listed.stdout
    verified = subprocess.run([*gongkai, "access", "log", "--verify"], env=env, capture_output=True,
                              text=True, cwd=ROOT)
    assert verified.returncode == 0 and "verified" in verified.stdout
    with TestClient(create_app(engine)) as c:
        c.headers["Authorization"] = f"Bearer {token.stdout.strip()}"
        assert c.get("/api/v1/auth/me").json()["username"] == "wang.fang"


def test_the_access_log_is_append_only_at_the_database(client):
    make_user(client.app.state.engine, "wang.fang", "staff")
    with pytest.raises(Exception, match="append-only"):
        with client.app.state.engine.begin() as conn:
            conn.execute(text("UPDATE access_event SET actor = 'someone' WHERE seq = 1"))


def test_a_supervisor_token_sees_its_own_agency_and_those_of_its_scope_and_no_other(client):
    engine = client.app.state.engine
    _add_agency(client, "zhujian")
    _add_agency(client, "jiaoyu", name="杭州市西湖区教育局", abbr="西教")  # a third, not in scope
    made = {code: new_request(_as(client, make_user(engine, f"staff.{code}", "staff", agency=code)))["id"]
            for code in ("main", "zhujian", "jiaoyu")}
    both = _as(client, make_user(engine, "li.na", "supervisor", agency="main", scope=["zhujian"]))
    seen = [r["id"] for r in both.get("/api/v1/requests").json()["items"]]
    assert seen == [made["main"], made["zhujian"]]
    assert both.get(f"/api/v1/requests/{made['zhujian']}").status_code == 200
    assert both.get(f"/api/v1/requests/{made['jiaoyu']}").status_code == 404
    # A token whose user is disabled, or that is revoked, no longer stands for anyone.
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    assert admin.patch("/api/v1/users/li.na", json={"disabled": True}).status_code == 200
    assert both.get("/api/v1/requests").status_code == 401


def test_a_caller_without_credentials_is_told_401_whatever_the_request_id(client):
    anonymous = _as(client, None)
    for rid in ("0", "99999999999", "abc", "1"):
        assert anonymous.post(f"/api/v1/requests/{rid}/events/review",
                              json={"on": "2026-03-02"}).status_code == 401, rid
        assert anonymous.get(f"/api/v1/requests/{rid}").status_code == 401, rid
    # Known callers then hear about the id itself.
    assert client.get("/api/v1/requests/0").status_code == 422
    assert client.post("/api/v1/requests/99999999999/events/review",
                       json={"on": "2026-03-02"}).status_code == 422
    assert client.get("/api/v1/requests/4242").status_code == 404
