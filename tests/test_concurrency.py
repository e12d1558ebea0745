"""32 staff press the same button at once: one wins, 31 are told why, the history stays whole."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from fastapi.testclient import TestClient
from sqlmodel import Session

import audit
from api.app import create_app
from states.models import Request
from tests.conftest import new_request, review


def _race(engine, settings, rid, event, body, auth, n=32):
    app = create_app(engine, settings)
    barrier = threading.Barrier(n)

    def one(_):
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return c.post(f"/api/v1/requests/{rid}/events/{event}", json=body,
                          headers={"Authorization": auth})

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_32_threads_registering_one_request_one_succeeds_31_get_409(client, engine, settings):
    rid = new_request(client)["id"]
    responses = _race(engine, settings, rid, "register", {"on": "2026-03-02"},
                      client.headers["Authorization"])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 31, codes
    assert {r.json()["error"] for r in responses if r.status_code == 409} == {"event_not_allowed"}
    with Session(engine) as session:
        row = session.get(Request, rid)
        assert (row.state, row.version, row.audit_seq) == ("registered", 2, 3)
        events = audit.history(session, rid)
        assert [e.event for e in events] == ["receive", "register", "issue_letter"]
        assert audit.verify(session, rid, expected_head=(row.audit_seq, row.audit_head)).ok


def test_32_threads_with_the_same_expected_version_one_succeeds(client, engine, settings):
    rid = new_request(client)["id"]
    responses = _race(engine, settings, rid, "withdraw", {"on": "2026-03-02", "expected_version": 1},
                      client.headers["Authorization"])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 31, codes
    with Session(engine) as session:
        assert len(audit.history(session, rid)) == 2


def _decided(client) -> int:
    rid = new_request(client)["id"]
    for event in ("register", "review"):
        client.post(f"/api/v1/requests/{rid}/events/{event}", json={"on": "2026-03-02"})
    review(client, rid, "2026-03-05")
    client.post(f"/api/v1/requests/{rid}/events/decide", json={"on": "2026-03-05", "outcome": "disclosed"})
    r = client.put(f"/api/v1/requests/{rid}/letters/draft",
                   json={"findings": "该信息由本机关制作", "provision": "现随本答复书提供"})
    assert r.status_code == 200, r.text
    return rid


def test_32_threads_sending_one_reply_one_succeeds_and_one_letter_is_issued(client, engine, settings):
    rid = _decided(client)
    responses = _race(engine, settings, rid, "send_reply", {"on": "2026-03-06"},
                      client.headers["Authorization"])
    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 31, codes
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    assert [x["kind"] for x in letters].count("decision:disclosed") == 1
    assert client.get(f"/api/v1/requests/{rid}/history").json()["verified"] is True


def test_32_concurrent_draft_saves_with_one_version_one_wins_and_none_is_lost(client, engine, settings):
    rid = _decided(client)
    version = client.get(f"/api/v1/requests/{rid}/letters").json()["draft"]["version"]
    app = create_app(engine, settings)
    auth = client.headers["Authorization"]
    barrier = threading.Barrier(32)

    def one(i):
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return i, c.put(f"/api/v1/requests/{rid}/letters/draft", headers={"Authorization": auth},
                            json={"findings": f"第{i}稿", "expected_version": version})

    with ThreadPoolExecutor(32) as pool:
        results = list(pool.map(one, range(32)))
    codes = sorted(r.status_code for _, r in results)
    assert codes == [200] + [409] * 31, codes
    [winner] = [i for i, r in results if r.status_code == 200]
    draft = client.get(f"/api/v1/requests/{rid}/letters").json()["draft"]
    assert (draft["version"], draft["parts"]["findings"]) == (version + 1, f"第{winner}稿")


def test_a_draft_save_racing_the_reply_is_in_the_letter_or_refused(client, engine, settings):
    rid = _decided(client)
    app = create_app(engine, settings)
    auth = client.headers["Authorization"]
    barrier = threading.Barrier(2)

    def save():
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return c.put(f"/api/v1/requests/{rid}/letters/draft", headers={"Authorization": auth},
                         json={"findings": "最后修改的审查情况"})

    def send():
        with TestClient(app, raise_server_exceptions=False) as c:
            barrier.wait()
            return c.post(f"/api/v1/requests/{rid}/events/send_reply", json={"on": "2026-03-06"},
                          headers={"Authorization": auth})

    with ThreadPoolExecutor(2) as pool:
        saved, sent = pool.submit(save), pool.submit(send)
        saved, sent = saved.result(), sent.result()
    assert sent.status_code == 200, sent.text
    letter = [x for x in client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
              if x["kind"] == "decision:disclosed"][0]
    html = client.get(f"/api/v1/requests/{rid}/letters/{letter['id']}.html").content.decode()
    if saved.status_code == 200:
        assert "最后修改的审查情况" in html  # saved first: the letter carries it
    else:
        assert saved.status_code == 422 and saved.json()["detail"][0]["field"] == "draft"
        assert "最后修改的审查情况" not in html


def test_a_row_locked_for_a_route_that_never_used_it_is_read_afresh_in_the_next_transaction(
        client, engine, settings):
    """The API's scope check locks the row and hands it to the route's one door (read once);
    a row kept from a transaction that has ended must not hide what happened since."""
    from states.service import advance, lock_request

    rid = new_request(client)["id"]
    with Session(engine, expire_on_commit=False) as mine:
        kept = lock_request(mine, rid, keep=True)
        assert kept.state == "received"
        mine.commit()  # say the route failed its checks and the transaction ended
        with Session(engine) as someone_else:
            advance(someone_else, rid, "register", "wang.fang", on=kept.received_on, settings=settings)
            someone_else.commit()
        again = lock_request(mine, rid)
        assert (again.state, again.version) == ("registered", 2)


def test_an_event_that_waited_for_the_one_opening_a_consultation_counts_its_stop(client, engine, settings):
    """On PostgreSQL a FOR UPDATE that waited returns the row as the other event committed it, but
    a subquery in the same statement still sees the data from before the wait: the consultation
    opened meanwhile must stop the clock of the event that waited (its due date is in the law)."""
    import datetime as dt
    import time

    from states.service import advance

    rid = new_request(client)["id"]
    for event, on in (("register", "2026-03-02"), ("review", "2026-03-03")):
        client.post(f"/api/v1/requests/{rid}/events/{event}", json={"on": on}).raise_for_status()
    day = dt.date(2026, 3, 4)
    with Session(engine, expire_on_commit=False) as first:
        opened = advance(first, rid, "open_consultation", "wang.fang", on=day, settings=settings,
                         party="third_party", name="某建筑公司")
        stopped_due = opened.due_on
        with ThreadPoolExecutor(1) as other:
            def assign():
                with Session(engine, expire_on_commit=False) as second:
                    row = advance(second, rid, "assign", "li.na", on=day, settings=settings,
                                  assignee="李娜")
                    second.commit()
                    return row.due_on
            waited = other.submit(assign)
            time.sleep(0.5)  # the assignment is now waiting for the row (or SQLite's write lock)
            first.commit()
            assert waited.result(timeout=60) == stopped_due
    with Session(engine) as session:
        assert session.get(Request, rid).due_on == stopped_due
        assert [e.data for e in audit.history(session, rid)][-1].count(stopped_due.isoformat()) == 1
