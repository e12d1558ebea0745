"""Approval as a real step: staff ask for an extension, the OGI office head approves or refuses
it as themselves, and only then does the period move; agencies may require the head's sign-off
of a reply; the head's bulk actions go through the one door, one audit event per request."""

from __future__ import annotations

import datetime as dt

from tests.conftest import fire, head_of_office, make_user, new_request, review
from tests.test_access import _add_agency, _as


def _reviewing(client, received_on="2026-03-02") -> int:
    rid = new_request(client, received_on=received_on)["id"]
    fire(client, rid, "register", received_on)
    fire(client, rid, "review", received_on)
    return rid


def test_an_extension_applies_only_once_the_head_approves_it_as_themselves(client, settings):
    rid = _reviewing(client)
    asked = fire(client, rid, "request_extension", "2026-03-20", days=10, reason="涉及多个部门，需要协调")
    assert asked["due_on"] == "2026-03-30" and asked["extension"] is None
    assert asked["extension_request"] == {"days": 10, "reason": "涉及多个部门，需要协调",
                                          "requested_by": "zhang.wei", "requested_on": "2026-03-20"}
    assert [x["kind"] for x in client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]] == [
        "acknowledgement"]  # no 延期答复告知书 until it is approved
    again = fire(client, rid, "request_extension", "2026-03-20", expect=422, days=5, reason="x")
    assert "awaits the head's approval" in again["detail"][0]["rule"]
    staff = client.post(f"/api/v1/requests/{rid}/events/approve_extension", json={"on": "2026-03-20"})
    assert staff.status_code == 403
    _add_agency(client)
    elsewhere = _as(client, make_user(client.app.state.engine, "wu.gang", "supervisor", agency="zhujian"))
    assert elsewhere.post(f"/api/v1/requests/{rid}/events/approve_extension",
                          json={"on": "2026-03-20"}).status_code == 404
    head = head_of_office(client, "政务公开办主任 陈静")
    settings.today_override = dt.date(2026, 3, 23)  # the day the head approves
    backdated = head.post(f"/api/v1/requests/{rid}/events/approve_extension", json={"on": "2026-03-20"})
    assert backdated.status_code == 422 and backdated.json()["detail"][0]["field"] == "on"
    approved = head.post(f"/api/v1/requests/{rid}/events/approve_extension",
                         json={"on": "2026-03-23", "approved_by": "someone else"})
    assert approved.status_code == 422  # the approver is the logged-in head, never typed in
    approved = head.post(f"/api/v1/requests/{rid}/events/approve_extension", json={"on": "2026-03-23"})
    assert approved.status_code == 200, approved.text
    r = approved.json()
    # 10 working days after 30 March: 31 March–3 April, (4–6 April 清明), 7–10, 13–14 April.
    assert r["due_on"] == "2026-04-14" and r["extension_request"] is None
    assert r["extension"] == {"days": 10, "approved_by": "政务公开办主任 陈静", "on": "2026-03-23",
                              "reason": "涉及多个部门，需要协调"}
    assert "经政务公开办主任 陈静同意延长10个工作日" in head.get(f"/api/v1/requests/{rid}").json()[
        "clock"]["explanation_zh"]
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    notice = next(x for x in letters if x["kind"] == "extension_notice")
    html = client.get(f"/api/v1/requests/{rid}/letters/{notice['id']}.html").text
    assert "涉及多个部门，需要协调" in html and "2026年4月14日" in html
    last = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    approval = next(e for e in last if e["event"] == "approve_extension")
    assert approval["actor"].startswith("head.") and approval["data"]["requested_by"] == "zhang.wei"


def test_an_extension_asked_before_a_supplement_lapses_with_it(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "request_extension", "2026-03-03", days=10, reason="涉及多个部门")
    r = fire(client, rid, "request_supplement", "2026-03-04", items=["请明确所需信息的年份"])
    assert r["extension_request"] is None
    event = client.get(f"/api/v1/requests/{rid}/history").json()["events"][-2]
    assert event["event"] == "request_supplement"
    assert event["data"]["extension_request_lapsed"]["requested_by"] == "zhang.wei"


def test_an_agency_may_require_the_heads_sign_off_before_a_refusal_is_sent(client, settings):
    settings.today_override = dt.date(2026, 3, 6)
    admin = _as(client, make_user(client.app.state.engine, "root", "admin", scope="all"))
    # This agency has its head sign refusals off, and no legal sign-off (tested on its own).
    changed = admin.patch("/api/v1/agencies/main",
                          json={"reply_signoff": "不予公开，部分公开", "legal_signoff": ""}).json()
    assert (changed["reply_signoff"], changed["legal_signoff"]) == ("不予公开,部分公开", "")
    bad = admin.patch("/api/v1/agencies/main", json={"reply_signoff": "全部"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "reply_signoff"
    rid = _reviewing(client)
    fire(client, rid, "decide", "2026-03-05", outcome="withheld_internal_affairs",
         reason="所申请信息为本机关人事管理信息")
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查"})
    unsigned = fire(client, rid, "send_reply", "2026-03-06", expect=422)
    assert "approve_reply" in unsigned["detail"][0]["rule"]
    assert client.post(f"/api/v1/requests/{rid}/events/approve_reply",
                       json={"on": "2026-03-06"}).status_code == 403
    head = head_of_office(client)
    signed = head.post(f"/api/v1/requests/{rid}/events/approve_reply", json={"on": "2026-03-06"})
    assert signed.json()["reply_approval"] == {"approved_by": "陈静", "on": "2026-03-06"}
    # A draft changed after the sign-off withdraws it: the head signs the text that is sent.
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经重新审查"})
    assert client.get(f"/api/v1/requests/{rid}").json()["reply_approval"] is None
    events = [e["event"] for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]]
    assert events[-1] == "reply_approval_withdrawn"
    head.post(f"/api/v1/requests/{rid}/events/approve_reply", json={"on": "2026-03-06"})
    # Revising the decision withdraws the sign-off: the head signs what is sent.
    fire(client, rid, "decide", "2026-03-06", outcome="withheld_internal_affairs",
         reason="所申请信息为本机关内部人事管理信息")
    assert fire(client, rid, "send_reply", "2026-03-06", expect=422)["detail"][0]["field"] == "event"
    head.post(f"/api/v1/requests/{rid}/events/approve_reply", json={"on": "2026-03-06"})
    assert fire(client, rid, "send_reply", "2026-03-06")["state"] == "replied"
    # A disclosure is not in the agency's list: no sign-off needed.
    other = _reviewing(client)
    review(client, other, "2026-03-05")
    fire(client, other, "decide", "2026-03-05", outcome="disclosed")
    client.put(f"/api/v1/requests/{other}/letters/draft",
               json={"findings": "该信息由本机关制作", "provision": "随本答复书提供"})
    assert fire(client, other, "send_reply", "2026-03-06")["state"] == "replied"


def test_the_heads_bulk_actions_go_through_the_one_door_one_event_each(client, settings):
    ids = [_reviewing(client) for _ in range(3)]
    for rid in ids[:2]:
        fire(client, rid, "request_extension", "2026-03-20", days=5, reason="涉及多个部门")
    _add_agency(client)
    theirs = _as(client, make_user(client.app.state.engine, "chen.jing", "staff", agency="zhujian"))
    foreign = new_request(theirs)["id"]
    head = head_of_office(client)
    settings.today_override = dt.date(2026, 3, 23)
    staff = client.post("/api/v1/supervision/bulk", json={
        "action": "assign", "request_ids": ids, "on": "2026-03-20", "assignee": "王芳"})
    assert staff.status_code == 403
    approved = head.post("/api/v1/supervision/bulk", json={
        "action": "approve_extension", "request_ids": [*ids, foreign], "on": "2026-03-23"}).json()
    assert [(r["id"], r["status"]) for r in approved["results"]] == [
        (ids[0], 200), (ids[1], 200), (ids[2], 422), (foreign, 404)]
    assert "no extension is asked" in approved["results"][2]["error"]
    assigned = head.post("/api/v1/supervision/bulk", json={
        "action": "assign", "request_ids": ids, "on": "2026-03-23", "assignee": "王芳"}).json()
    assert [r["status"] for r in assigned["results"]] == [200, 200, 200]
    for rid in ids:
        events = client.get(f"/api/v1/requests/{rid}/history").json()
        assert events["verified"] is True
        assert [e["event"] for e in events["events"]].count("assign") == 1
        assert client.get(f"/api/v1/requests/{rid}").json()["assignee"] == "王芳"
    assert client.get(f"/api/v1/requests/{ids[0]}").json()["due_on"] == "2026-04-07"
    twice = head.post("/api/v1/supervision/bulk", json={
        "action": "assign", "request_ids": [ids[0], ids[0]], "on": "2026-03-23", "assignee": "x"})
    assert twice.status_code == 422 and twice.json()["detail"][0]["field"] == "request_ids"
