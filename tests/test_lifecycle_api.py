"""Staff take a request through its whole life over HTTP; every refusal path answers clearly."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import extend, fire, head_of_office, new_request, review, serve


def test_a_request_goes_from_receipt_to_archive_and_every_step_is_in_a_verified_history(client):
    r = new_request(client, received_on="2026-03-02")
    assert r["number"] == "2026-000001" and r["state"] == "received"
    assert r["due_on"] == "2026-03-30"  # 20 working days after Monday 2 March 2026
    rid = r["id"]
    assert fire(client, rid, "register", "2026-03-02", assignee="王芳")["state"] == "registered"
    assert fire(client, rid, "review", "2026-03-03")["state"] == "reviewing"
    c = fire(client, rid, "open_consultation", "2026-03-04", party="third_party", name="某建筑公司")
    assert c["state"] == "consulting"
    consultation = c["consultations"][0]
    assert consultation["lapses_on"] == "2026-03-25"
    closed = fire(client, rid, "close_consultation", "2026-03-11", consultation_id=consultation["id"],
                  opinion="consent")
    assert closed["state"] == "reviewing"
    # (4 Mar, 11 Mar] holds 5 working days, so the due date moves 5 working days later.
    assert closed["due_on"] == "2026-04-07"  # 4–6 April is the 清明 holiday
    ext = extend(client, rid, "2026-03-20", days=15, approved_by="政务公开办主任 陈静", reason="需要征求第三方意见")
    assert ext["extension"] == {"days": 15, "approved_by": "政务公开办主任 陈静", "on": "2026-03-20",
                                "reason": "需要征求第三方意见"}
    assert ext["extension_request"] is None
    assert ext["due_on"] == "2026-04-28"
    unreviewed = fire(client, rid, "decide", "2026-04-01", expect=422, outcome="disclosed")
    assert unreviewed["detail"][0]["field"] == "outcome"  # 先审查后公开
    review(client, rid, "2026-04-01")
    d = fire(client, rid, "decide", "2026-04-01", outcome="disclosed")
    assert d["state"] == "decided" and d["decision"]["outcome"] == "disclosed"
    no_findings = fire(client, rid, "send_reply", "2026-04-02", expect=422)
    assert no_findings["detail"][0]["field"] == "findings"
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "您申请的信息由本机关制作", "provision": "现随本答复书提供"})
    assert fire(client, rid, "send_reply", "2026-04-02")["state"] == "replied"
    done = fire(client, rid, "archive", "2026-04-03")
    assert done["state"] == "archived" and done["allowed_events"] == []

    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert history["verified"] is True
    # Each step that sends a letter is followed, in the same transaction, by its issue_letter.
    assert [e["event"] for e in history["events"]] == [
        "receive", "register", "issue_letter", "review", "open_consultation", "issue_letter",
        "close_consultation", "request_extension", "approve_extension", "issue_letter",
        "review_confidentiality", "decide", "send_reply", "issue_letter", "archive"]
    assert [e["seq"] for e in history["events"]] == list(range(1, 16))
    # Each step by the authenticated user who took it: the head approved the extension.
    assert {e["actor"] for e in history["events"]} == {"zhang.wei", "head.5dfb2623"}
    approval = next(e for e in history["events"] if e["event"] == "approve_extension")
    assert (approval["actor"], approval["data"]["approved_by"], approval["data"]["requested_by"]) == (
        "head.5dfb2623", "政务公开办主任 陈静", "zhang.wei")
    assert history["events"][7]["data"]["due_on"] == "2026-04-07"  # asked: nothing applies yet
    assert history["events"][8]["data"]["due_on"] == "2026-04-28"  # approved: extended


def test_a_refusal_needs_its_reason_and_counts_as_a_refusal(client):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    err = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="withheld_internal_affairs")
    assert err["detail"] == [{"field": "reason",
                              "rule": "'withheld_internal_affairs' needs the reason stated (说明理由)"}]
    ok = fire(client, rid, "decide", "2026-03-05", outcome="withheld_internal_affairs",
              reason="所申请信息为本机关人事管理信息")
    assert ok["decision"]["reason"] == "所申请信息为本机关人事管理信息"


def test_an_event_the_state_does_not_allow_is_refused_with_409_naming_state_and_allowed_events(client):
    rid = new_request(client)["id"]
    body = fire(client, rid, "decide", "2026-03-02", expect=409, outcome="disclosed")
    assert body["state"] == "received"
    assert body["allowed_events"] == ["assign", "register", "withdraw"]
    assert "not allowed in state 'received'" in body["message"]


def test_supplement_is_asked_once_within_7_working_days_and_restarts_the_period(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    late = fire(client, rid, "request_supplement", "2026-03-12", expect=422, items=["请明确年份"])
    assert late["detail"][0]["field"] == "on" and "2026-03-11" in late["detail"][0]["rule"]
    s = fire(client, rid, "request_supplement", "2026-03-11", items=["请明确项目名称", "请明确年份"])
    assert s["state"] == "awaiting_supplement" and s["due_on"] is None
    assert s["supplement"]["deadline"] == "2026-04-01"  # 15 working days after 11 March
    back = fire(client, rid, "receive_supplement", "2026-03-16")
    assert back["state"] == "reviewing" and back["due_on"] == "2026-04-14"  # afresh from 16 March
    again = fire(client, rid, "request_supplement", "2026-03-17", expect=422, items=["再补"])
    assert again["detail"][0]["rule"] == "a 补正 may be asked only once (Art 30: 一次性告知)"
    assert fire(client, rid, "decide", "2026-03-20",
                outcome="unavailable_unclear_after_supplement")["state"] == "decided"


def test_no_supplement_in_time_closes_as_other_no_supplement_only_after_the_deadline(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请提供身份证明"], period_days=5)
    serve(client, rid, "supplement_notice", "2026-03-03")
    early = fire(client, rid, "decide", "2026-03-10", expect=422, outcome="other_no_supplement")
    assert early["detail"][0] == {"field": "on", "rule": "the applicant has until 2026-03-10 to supplement"}
    wrong = fire(client, rid, "decide", "2026-03-11", expect=422, outcome="disclosed")
    assert wrong["detail"][0]["field"] == "outcome"
    done = fire(client, rid, "decide", "2026-03-11", outcome="other_no_supplement")
    assert done["decision"]["outcome"] == "other_no_supplement"


def test_extension_is_at_most_20_days_once_and_needs_the_approver(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    too_long = extend(client, rid, "2026-03-20", expect=422, days=21, approved_by="陈静", reason="需要征求第三方意见")
    assert too_long["detail"][0]["field"] == "days"
    # Staff ask; only the head approves, as themselves (no name typed in).
    fire(client, rid, "request_extension", "2026-03-20", days=20, reason="需要征求第三方意见")
    assert client.get(f"/api/v1/requests/{rid}").json()["due_on"] == "2026-03-30"  # not yet
    staff_approval = client.post(f"/api/v1/requests/{rid}/events/approve_extension",
                                 json={"on": "2026-03-20"})
    assert staff_approval.status_code == 403
    refused = head_of_office(client).post(f"/api/v1/requests/{rid}/events/refuse_extension",
                                          json={"on": "2026-03-20", "reason": "可以按期答复"})
    assert refused.status_code == 200 and refused.json()["extension_request"] is None
    ok = extend(client, rid, "2026-03-20", days=20, approved_by="陈静", reason="需要征求第三方意见")
    assert ok["due_on"] == "2026-04-28"
    twice = extend(client, rid, "2026-03-23", expect=422, days=1, approved_by="陈静", reason="需要征求第三方意见")
    assert twice["detail"][0]["rule"] == "the reply period may be extended once only (Art 33)"


def test_an_extension_after_the_period_ran_out_is_refused(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    late = extend(client, rid, "2026-03-31", expect=422, days=5, approved_by="陈静", reason="需要征求第三方意见")
    assert late["detail"][0] == {"field": "on",
                                 "rule": "an extension must be decided before the period runs out on 2026-03-30"}


def test_consultation_silence_may_be_recorded_only_after_it_lapses(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    c = fire(client, rid, "open_consultation", "2026-03-03", party="agency", name="区财政局")
    cid = c["consultations"][0]["id"]
    # The tests' today (31 Dec) is long after the presumed lapse: the clock runs again, live.
    assert c["clock"]["stop_lapses_on"] == "2026-03-24" and c["clock"]["stopped"] is False
    assert c["consultations"][0]["lapse_presumed"] is True
    serve(client, rid, "consultation_agency", "2026-03-03")
    early = fire(client, rid, "close_consultation", "2026-03-10", expect=422, consultation_id=cid,
                 opinion="no_reply")
    assert early["detail"][0]["field"] == "opinion"
    bad = fire(client, rid, "close_consultation", "2026-03-10", expect=422, consultation_id=999,
               opinion="consent")
    assert bad["detail"][0] == {"field": "consultation_id",
                                "rule": "999 is not an open consultation of this request"}
    assert c["consultations"][0]["lapses_on"] == "2026-03-24"
    ok = fire(client, rid, "close_consultation", "2026-03-24", consultation_id=cid, opinion="no_reply")
    assert ok["state"] == "reviewing" and ok["clock"]["stopped"] is False
    # The lapsed consultation held the clock 15 working days: 30 Mar + 15, skipping 清明.
    assert ok["clock"]["stopped_workdays"] == 15 and ok["due_on"] == "2026-04-21"


def test_two_open_consultations_keep_the_request_consulting_until_the_last_closes(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    a = fire(client, rid, "open_consultation", "2026-03-03", party="third_party", name="甲公司")
    b = fire(client, rid, "open_consultation", "2026-03-05", party="agency", name="区财政局")
    first, second = (c["id"] for c in b["consultations"])
    assert a["state"] == "consulting"
    mid = fire(client, rid, "close_consultation", "2026-03-09", consultation_id=first, opinion="consent")
    assert mid["state"] == "consulting"
    end = fire(client, rid, "close_consultation", "2026-03-12", consultation_id=second, opinion="consent")
    # (3 Mar, 12 Mar] is 7 working days once, not 4 + 5.
    assert end["state"] == "reviewing" and end["clock"]["stopped_workdays"] == 7
    assert end["due_on"] == "2026-04-09"  # 30 Mar + 7, skipping 清明 4–6 Apr


def test_fee_notice_waits_for_payment_and_unpaid_fee_closes_the_request(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    typed = fire(client, rid, "notify_fee", "2026-03-05", expect=422, method="per_volume", pages=120,
                 amount_yuan=200, how_to_pay="银行转账")
    assert typed["detail"][0]["field"] == "amount_yuan"  # computed, never typed
    free = fire(client, rid, "notify_fee", "2026-03-05", expect=422, method="per_volume", pages=30,
                how_to_pay="银行转账")
    assert free["detail"][0]["field"] == "pages"  # the first 30 pages are free
    f = fire(client, rid, "notify_fee", "2026-03-05", method="per_volume", pages=120, how_to_pay="银行转账")
    assert f["fee"]["amount_yuan"] == 70 * 10 + 20 * 20
    assert f["state"] == "awaiting_fee" and f["clock"]["stop_lapses_on"] == "2026-04-02"
    serve(client, rid, "fee_notice", "2026-03-05")
    early = fire(client, rid, "decide", "2026-03-20", expect=422, outcome="other_fee_unpaid")
    assert early["detail"][0]["field"] == "on"
    closed = fire(client, rid, "decide", "2026-04-03", outcome="other_fee_unpaid")
    assert closed["decision"]["outcome"] == "other_fee_unpaid"


def test_withdrawal_records_other_and_can_be_archived(client):
    rid = new_request(client)["id"]
    w = fire(client, rid, "withdraw", "2026-03-04")
    assert w["state"] == "withdrawn" and w["decision"]["outcome"] == "other"
    assert w["decision"]["reason"] == "申请人撤回申请"
    assert fire(client, rid, "archive", "2026-03-05")["state"] == "archived"
    assert fire(client, rid, "register", "2026-03-05", expect=409)["state"] == "archived"


def test_bad_input_is_a_422_naming_the_field_never_a_500(client):
    bad = client.post("/api/v1/requests", json={"applicant": {"name": "李明", "kind": "alien"},
                                                 "channel": "pigeon", "received_on": "2026-02-30",
                                                 "description": ""})
    assert bad.status_code == 422
    fields = {d["field"] for d in bad.json()["detail"]}
    assert fields == {"applicant.kind", "channel", "received_on", "description"}
    future = client.post("/api/v1/requests", json={
        "applicant": {"name": "李明", "kind": "natural_person"}, "channel": "post",
        "received_on": "2999-01-01", "description": "x"})
    assert future.status_code == 422 and future.json()["detail"][0]["field"] == "received_on"
    rid = new_request(client, received_on="2026-03-02")["id"]
    before = fire(client, rid, "register", "2026-03-01", expect=422)
    assert before["detail"][0] == {"field": "on",
                                   "rule": "2026-03-01 is before the previous step on 2026-03-02"}
    typo = fire(client, rid, "register", "2026-03-02", expect=422, departmnet="x")
    assert typo["detail"][0]["field"] == "departmnet"
    unknown = fire(client, rid, "approve", "2026-03-02", expect=422)
    assert unknown["detail"][0]["field"] == "event"
    assert client.post(f"/api/v1/requests/{rid}/events/register", content=b"{not json").status_code == 422
    assert client.get("/api/v1/requests/999999").status_code == 404
    assert fire(client, 999999, "register", "2026-03-02", expect=404)["error"] == "not_found"
    # X-Actor is not an identity any more: without a credential, whatever it says, 401.
    for claimed in ("", "system:sweep_deadlines", "System:dispatch_outbox", "staff:director"):
        forged = TestClient(client.app).post(f"/api/v1/requests/{rid}/events/register",
                                             json={"on": "2026-03-02"}, headers={"X-Actor": claimed})
        assert forged.status_code == 401, claimed
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert [e["event"] for e in history["events"]] == ["receive"]  # nothing half-written


def test_a_stale_expected_version_is_a_409(client):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02", expected_version=1)
    stale = fire(client, rid, "review", "2026-03-03", expect=409, expected_version=1)
    assert stale["error"] == "concurrent_change"


def test_requests_list_filters_by_state_and_department_and_pages(client):
    ids = [new_request(client, department=dept)["id"] for dept in ("住建局", "住建局", "教育局")]
    fire(client, ids[0], "register", "2026-03-02")
    page = client.get("/api/v1/requests", params={"department": "住建局", "limit": 1,
                                                  "total": "true"}).json()
    assert page["total"] == 2 and [i["id"] for i in page["items"]] == [ids[0]]
    assert page["next_after"] == ids[0]
    page2 = client.get("/api/v1/requests", params={"department": "住建局", "limit": 1, "offset": 1}).json()
    assert [i["id"] for i in page2["items"]] == [ids[1]] and page2["total"] is None
    # The keyset page after the first is the same second request, and the last page says so.
    after = client.get("/api/v1/requests", params={"department": "住建局", "limit": 1,
                                                   "after": page["next_after"]}).json()
    assert [i["id"] for i in after["items"]] == [ids[1]] and after["next_after"] is None
    registered = client.get("/api/v1/requests", params={"state": "registered"}).json()
    assert [i["number"] for i in registered["items"]] == ["2026-000001"]
    assert client.get("/api/v1/requests", params={"state": "nonsense"}).status_code == 422


def test_a_script_that_asks_for_a_minimal_answer_gets_the_requests_row_and_the_same_history(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    reviewed = fire(client, rid, "review", "2026-03-03")
    assert "clock" in reviewed and "similar_requests" in reviewed  # the whole view by default
    r = client.post(f"/api/v1/requests/{rid}/events/open_consultation",
                    json={"on": "2026-03-04", "party": "third_party", "name": "某建筑公司"},
                    headers={"Prefer": "respond-async, " + "x" * 300 + ", return=minimal"})
    assert r.status_code == 200, r.text
    assert r.headers["Preference-Applied"] == "return=minimal"
    brief = r.json()
    # The list's row of the request, as of the tests' today (31 Dec 2026): the consultation's 15
    # working days stop the clock until it lapses on 25 March (its letter's service presumed),
    # so 30 March moves 15 working days on, over 清明 (4–6 April), to 21 April — long past.
    assert brief == {"id": rid, "number": "2026-000001", "state": "consulting", "version": 4,
                     "received_on": "2026-03-02", "channel": "in_person", "agency": "main",
                     "unit": None, "department": "住建局", "assignee": None, "due_on": "2026-04-21",
                     "due_on_provisional": False, "due_on_presumed": True, "due_on_error": None,
                     "days_left": brief["days_left"], "overdue": True, "stopped": False,
                     "allowed_events": brief["allowed_events"], "deadline_flag": None}
    assert "close_consultation" in brief["allowed_events"]
    full = client.get(f"/api/v1/requests/{rid}").json()
    assert {k: full[k] for k in brief} == brief
    # Any other preference is ignored: the whole view, as without the header.
    other = client.post(f"/api/v1/requests/{rid}/events/close_consultation",
                        json={"on": "2026-03-11", "consultation_id": full["consultations"][0]["id"],
                              "opinion": "consent"}, headers={"Prefer": "return=representation"})
    assert other.status_code == 200 and "Preference-Applied" not in other.headers
    assert other.json()["due_on"] == "2026-04-07" and other.json()["consultations"][0]["opinion"] == "consent"
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert history["verified"] is True
    assert [e["event"] for e in history["events"]][-3:] == ["open_consultation", "issue_letter",
                                                           "close_consultation"]
