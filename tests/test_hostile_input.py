"""Hostile input gets a 4xx naming the field, never a 500, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from tests.conftest import authenticate, fire, new_request


@pytest.mark.parametrize("path, field", [
    (f"/api/v1/requests/{10**20}", "request_id"),
    (f"/api/v1/requests/{2**31}", "request_id"),
    (f"/api/v1/requests/{2**31}/history", "request_id"),
    (f"/api/v1/requests/{2**31}/letters", "request_id"),
    (f"/api/v1/requests?offset={2**63}", "offset"),
    (f"/api/v1/requests?after={2**31}", "after"),
    ("/api/v1/requests?after=-1", "after"),
    ("/api/v1/requests?total=perhaps", "total"),
    ("/api/v1/requests?department=%00x", "department"),
    ("/api/v1/digests?scope=%00", "scope"),
    (f"/api/v1/digests/{2**40}", "digest_id"),
])
def test_out_of_range_ids_and_nul_bytes_in_queries_are_refused_naming_the_field(client, path, field):
    authenticate(client, "li.na", "supervisor")  # one who may read requests and digests
    r = client.get(path)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["field"] == field


def test_an_event_on_an_id_beyond_the_database_range_is_refused(client):
    r = client.post(f"/api/v1/requests/{2**31}/events/register", json={"on": "2026-03-02"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "request_id"
    rid = new_request(client)["id"]
    bad = fire(client, rid, "register", "2026-03-02", expect=422, assignee="王芳\x00")
    assert bad["detail"][0]["field"] == "assignee"


@pytest.mark.parametrize("query, field", [("/api/v1/digests?day=0.0", "day"),
                                          ("/api/v1/digests?day=1700000000", "day")])
def test_a_date_in_a_query_is_yyyy_mm_dd_not_a_timestamp(client, query, field):
    authenticate(client, "li.na", "supervisor")
    r = client.get(query)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field


def test_a_letter_preview_is_dated_between_receipt_and_a_year_from_today(client):
    rid = new_request(client)["id"]
    for event, on, extra in (("register", "2026-03-02", {}), ("review", "2026-03-02", {}),
                             ("review_confidentiality", "2026-03-05",
                              {"conclusion": "disclosable", "basis": "不涉密"}),
                             ("decide", "2026-03-05", {"outcome": "disclosed"})):
        fire(client, rid, event, on, **extra)
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "该信息由本机关制作", "provision": "现随本答复书提供"})
    for on in ("0001-01-01", "9999-12-31"):
        r = client.get(f"/api/v1/requests/{rid}/letters/draft/preview?on={on}")
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "on"
    assert client.get(f"/api/v1/requests/{rid}/letters/draft/preview?on=2026-03-06").status_code == 200


def test_a_fee_of_ten_to_the_thirty_yuan_is_refused_naming_the_field(client):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    r = fire(client, rid, "notify_fee", "2026-03-03", expect=422, method="per_volume", pages=10**30,
             how_to_pay="转账")
    assert r["detail"][0]["field"] == "pages"
    typed = fire(client, rid, "notify_fee", "2026-03-03", expect=422, method="per_item",
                 amount_yuan=10**30, how_to_pay="转账")
    assert typed["detail"][0]["field"] == "amount_yuan"  # never typed


def test_an_oversized_body_gets_413_in_the_error_shape(client):
    r = client.post("/api/v1/requests", content=b"{" + b" " * 2_000_000 + b"}",
                    headers={"content-type": "application/json"})
    assert r.status_code == 413 and r.json()["error"] == "body_too_large"
    assert r.headers["x-request-id"]


def test_a_crash_answers_500_in_the_error_shape_with_a_request_id_and_one_json_log_line(
        client, engine, settings, monkeypatch, capsys):
    from fastapi.testclient import TestClient

    from api import routes
    from api.app import create_app

    def broken(*_a, **_k):
        raise RuntimeError("disk on fire")

    rid = new_request(client)["id"]
    monkeypatch.setattr(routes, "request_view", broken)
    with TestClient(create_app(engine, settings), raise_server_exceptions=False) as c:
        r = c.get(f"/api/v1/requests/{rid}", headers={"x-request-id": "abc123", **client.headers})
    assert r.status_code == 500 and r.json()["error"] == "internal_error"
    assert r.headers["x-request-id"] == "abc123"
    lines = [line for line in capsys.readouterr().out.splitlines() if '"unhandled_error"' in line]
    assert len(lines) == 1 and '"http_request_id": "abc123"' in lines[0]


def test_after_a_500_the_keep_alive_connection_still_serves_the_next_request(
        client, engine, settings, monkeypatch):
    """On a real uvicorn server: a crash is answered inside the app, so the connection survives."""
    import socket
    import threading
    import time

    import uvicorn

    from api import routes
    from api.app import create_app

    rid = new_request(client)["id"]
    calls = {"n": 0}
    real_view = routes.request_view

    def crash_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("disk on fire")
        return real_view(*args, **kwargs)

    monkeypatch.setattr(routes, "request_view", crash_once)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(engine, settings), host="127.0.0.1", port=port,
                                           log_config=None, lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            answers = []
            for _ in range(2):
                conn.sendall(f"GET /api/v1/requests/{rid} HTTP/1.1\r\nHost: x\r\n"
                             f"Authorization: {client.headers['Authorization']}\r\n\r\n".encode())
                head = b""
                while b"\r\n\r\n" not in head:
                    head += conn.recv(65536)
                header, _, body = head.partition(b"\r\n\r\n")
                length = int(next(line.split(b":")[1] for line in header.split(b"\r\n")
                                  if line.lower().startswith(b"content-length")))
                while len(body) < length:
                    body += conn.recv(65536)
                answers.append(header.split(b"\r\n")[0])
        assert answers == [b"HTTP/1.1 500 Internal Server Error", b"HTTP/1.1 200 OK"]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.parametrize("applicant, field", [
    ({"name": "李明", "kind": "natural_person", "id_number": "110101199003071234"}, "applicant.id_number"),
    ({"name": "李明", "kind": "natural_person", "id_number": "91350100M000100Y43"}, "applicant.id_number"),
    ({"name": "某公司", "kind": "commercial", "id_number": "91350100M000100Y44"}, "applicant.id_number"),
    ({"name": "李明", "kind": "natural_person", "phone": "12345"}, "applicant.phone"),
    ({"name": "李明", "kind": "natural_person", "email": "li@"}, "applicant.email"),
])
def test_personal_identifiers_with_a_wrong_check_character_are_refused(client, applicant, field):
    r = client.post("/api/v1/requests", json={"applicant": applicant, "channel": "post",
                                              "received_on": "2026-03-02", "description": "某文件"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == field


def test_valid_identifiers_are_kept_but_never_echoed(client):
    company = {"name": "某建设有限公司", "kind": "commercial", "id_number": "91350100m000100y43",
               "phone": "0571 8700 0000"}
    r = new_request(client, applicant=company)
    assert r["applicant"]["id_number_on_file"] is True and "91350100" not in str(r)
    assert r["applicant"]["phone"] == "057187000000"


def test_revealing_an_id_number_is_an_explicit_audited_act(client):
    rid = new_request(client)["id"]
    assert "110101199003071233" not in client.get(f"/api/v1/requests/{rid}").text
    assert "110101199003071233" not in client.get(f"/api/v1/requests/{rid}/history").text
    no_reason = client.post(f"/api/v1/requests/{rid}/applicant/id-number/reveal", json={})
    assert no_reason.status_code == 422 and no_reason.json()["detail"][0]["field"] == "reason"
    r = client.post(f"/api/v1/requests/{rid}/applicant/id-number/reveal",
                    json={"reason": "核对申请人身份"})
    assert r.status_code == 200 and r.json()["id_number"] == "110101199003071233"
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    last = history["events"][-1]
    assert (last["event"], last["actor"], last["data"]) == (
        "reveal_id_number", "zhang.wei", {"reason": "核对申请人身份"})
    assert history["verified"] is True and "110101199003071233" not in str(history)
