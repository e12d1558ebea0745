"""Service dates (送达): periods the law gives a letter's recipient run from its receipt, consultations
stop the clock only until their lapse, the clock is live for today, and a 补正 starts a fresh period.

Dates in March–April 2026 (清明: 4–6 April off).
"""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient

from api.app import create_app
from tests.conftest import authenticate, extend, fire, letter_of, new_request, serve
from workflows.sweeps import sweep_lapses


def _consulting(client, party="third_party", name="某建筑有限公司", on="2026-03-03"):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    r = fire(client, rid, "open_consultation", on, party=party, name=name)
    return rid, r["consultations"][-1]["id"]


def test_a_posted_consultation_lapses_15_working_days_after_it_was_signed_for(client):
    rid, cid = _consulting(client)
    r = client.get(f"/api/v1/requests/{rid}").json()
    # Until the service date is recorded, the lapse is presumed from the day it was sent.
    c = r["consultations"][0]
    assert (c["served_on"], c["lapses_on"], c["lapse_presumed"]) == (None, "2026-03-24", True)
    letter = letter_of(client, rid, "consultation_third_party")
    assert (letter["starts_period"], letter["service_pending"]) == ("consultation", True)
    silent = fire(client, rid, "close_consultation", "2026-03-25", expect=422, consultation_id=cid,
                  opinion="no_reply")
    assert silent["detail"][0]["field"] == "opinion" and "service date" in silent["detail"][0]["rule"]

    no_tracking = serve(client, rid, "consultation_third_party", "2026-03-06", method="post",
                        expect=422)
    assert no_tracking["detail"][0]["field"] == "tracking_number"
    served = serve(client, rid, "consultation_third_party", "2026-03-06", method="post",
                   tracking_number="1180012345678")
    letter = [x for x in served["letters"] if x["kind"] == "consultation_third_party"][0]
    assert letter["service"]["served_on"] == "2026-03-06" and letter["service_pending"] is False
    r = client.get(f"/api/v1/requests/{rid}").json()
    c = r["consultations"][0]
    # Signed for on Friday 6 March: 9–13, 16–20, 23–27 March.
    assert (c["served_on"], c["lapses_on"], c["lapse_presumed"]) == ("2026-03-06", "2026-03-27", False)
    early = fire(client, rid, "close_consultation", "2026-03-26", expect=422, consultation_id=cid,
                 opinion="no_reply")
    assert early["detail"][0]["rule"] == ("no_reply only once the 15 working days have run out "
                                          "on 2026-03-27")
    closed = fire(client, rid, "close_consultation", "2026-03-27", consultation_id=cid,
                  opinion="no_reply")
    # 20 working days from 2 March (30 March), plus the 18 held (4–27 March): 31 March – 3 April,
    # 清明 (6 April) off, 7–10, 13–17, 20–24 April.
    assert closed["clock"]["stopped_workdays"] == 18 and closed["due_on"] == "2026-04-24"
    events = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    service = [e for e in events if e["event"] == "record_service"]
    assert [(e["data"]["method"], e["data"]["served_on"], e["data"]["tracking_number"],
             e["data"]["lapses_on"]) for e in service] == [
        ("post", "2026-03-06", "1180012345678", "2026-03-27")]


def test_a_service_date_is_checked_and_a_correction_must_say_why(client):
    rid, _ = _consulting(client, party="agency", name="区财政局")
    before = serve(client, rid, "consultation_agency", "2026-03-02", expect=422)
    assert before["detail"][0] == {"field": "served_on",
                                   "rule": "2026-03-02 is before the letter was issued on 2026-03-03"}
    future = serve(client, rid, "consultation_agency", "2027-01-04", expect=422)
    assert future["detail"][0]["field"] == "served_on"
    wrong = serve(client, rid, "consultation_agency", "2026-03-03", method="fax", expect=422)
    assert wrong["detail"][0]["field"] == "method"
    serve(client, rid, "consultation_agency", "2026-03-03", method="email")
    again = serve(client, rid, "consultation_agency", "2026-03-04", method="email", expect=422)
    assert again["detail"][0]["field"] == "note"
    corrected = serve(client, rid, "consultation_agency", "2026-03-04", method="email",
                      note="电子邮件于3月4日才送达对方邮箱，更正")
    letter = [x for x in corrected["letters"] if x["kind"] == "consultation_agency"][0]
    assert [s["served_on"] for s in letter["service_history"]] == ["2026-03-03", "2026-03-04"]
    assert client.get(f"/api/v1/requests/{rid}").json()["consultations"][0]["lapses_on"] == "2026-03-25"
    missing = client.post(f"/api/v1/requests/{rid}/letters/999/service",
                          json={"method": "email", "served_on": "2026-03-04"})
    assert missing.status_code == 404
    huge = client.post(f"/api/v1/requests/{rid}/letters/{10**20}/service",
                       json={"method": "email", "served_on": "2026-03-04"})
    assert huge.status_code == 422 and huge.json()["detail"][0]["field"] == "letter_id"
    for field in ("tracking_number", "note"):
        nul = client.post(f"/api/v1/requests/{rid}/letters/{letter_of(client, rid, 'consultation_agency')['id']}/service",
                          json={"method": "post", "served_on": "2026-03-04", "tracking_number": "EMS1",
                                "note": "更正", field: "EMS\x00\x0b1"})
        assert nul.status_code == 422 and nul.json()["detail"][0]["field"] == field


def test_the_nightly_sweep_never_closes_a_period_whose_service_is_not_recorded(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请提供身份证明"], period_days=5)
    assert sweep_lapses(engine, dt.date(2026, 4, 30), settings).changed == 0
    refused = fire(client, rid, "decide", "2026-04-30", expect=422, outcome="other_no_supplement")
    assert "service date is not recorded" in refused["detail"][0]["rule"]
    # Signed for on Monday 9 March: 5 working days → 16 March; lapsed from 17 March.
    serve(client, rid, "supplement_notice", "2026-03-09", method="post", tracking_number="EMS001")
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert (r["supplement"]["deadline"], r["supplement"]["deadline_presumed"]) == ("2026-03-16", False)
    assert sweep_lapses(engine, dt.date(2026, 3, 16), settings).changed == 0
    assert sweep_lapses(engine, dt.date(2026, 3, 17), settings).no_supplement == ["2026-000001"]


def test_a_fee_is_payable_within_20_working_days_of_the_notice_being_served(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "notify_fee", "2026-03-05", method="per_volume", pages=50, how_to_pay="银行转账")
    fee = client.get(f"/api/v1/requests/{rid}").json()["fee"]
    assert (fee["pay_by"], fee["pay_by_presumed"]) == ("2026-04-02", True)
    serve(client, rid, "fee_notice", "2026-03-09", method="post", tracking_number="EMS002")
    fee = client.get(f"/api/v1/requests/{rid}").json()["fee"]
    # 10 March … 3 April is 19 working days; 6 April (清明) off; 7 April the 20th.
    assert (fee["pay_by"], fee["pay_by_presumed"]) == ("2026-04-07", False)
    assert sweep_lapses(engine, dt.date(2026, 4, 7), settings).changed == 0
    assert sweep_lapses(engine, dt.date(2026, 4, 8), settings).fee_unpaid == ["2026-000001"]
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert r["decision"]["outcome"] == "other_fee_unpaid"
    fire(client, rid, "send_reply", "2026-04-09")
    html = client.get(f"/api/v1/requests/{rid}/letters/"
                      f"{letter_of(client, rid, 'decision:other_fee_unpaid')['id']}.html").content.decode()
    assert "请您于2026年4月7日前缴纳信息处理费人民币200元" in html


def test_an_answer_after_the_lapse_stops_the_clock_only_until_the_lapse(client):
    rid, cid = _consulting(client, party="agency", name="区财政局")
    serve(client, rid, "consultation_agency", "2026-03-03")
    # Lapses 24 March; the answer comes three working days late, on 27 March.
    late = fire(client, rid, "close_consultation", "2026-03-27", consultation_id=cid, opinion="consent")
    assert late["clock"]["stopped_workdays"] == 15 and late["due_on"] == "2026-04-21"
    assert "2026-03-27答复，晚于届满日，只计至届满日" in late["clock"]["explanation_zh"]


def _at(engine, settings, today):
    client = TestClient(create_app(engine, settings.model_copy(update={"today_override": today})))
    authenticate(client)
    return client


def test_a_lapsed_consultation_nobody_closed_no_longer_holds_the_clock(client, engine, settings):
    rid, _ = _consulting(client, party="agency", name="区财政局")
    serve(client, rid, "consultation_agency", "2026-03-03")
    with _at(engine, settings, dt.date(2026, 3, 20)) as c:
        r = c.get(f"/api/v1/requests/{rid}").json()
        # Stopped on 3 March with 19 working days left; frozen while it lasts.
        assert (r["clock"]["stopped"], r["days_left"], r["overdue"]) == (True, 19, False)
    with _at(engine, settings, dt.date(2026, 4, 20)) as c:
        r = c.get(f"/api/v1/requests/{rid}").json()
        assert r["state"] == "consulting" and r["clock"]["stopped"] is False
        assert (r["due_on"], r["days_left"], r["overdue"]) == ("2026-04-21", 1, False)
        listed = c.get("/api/v1/requests").json()["items"][0]
        assert (listed["stopped"], listed["days_left"]) == (False, 1)
    with _at(engine, settings, dt.date(2026, 4, 22)) as c:
        r = c.get(f"/api/v1/requests/{rid}").json()
        assert (r["days_left"], r["overdue"]) == (-1, True)


def test_days_left_and_overdue_agree_on_the_weekend_after_a_friday_due_date(client, engine, settings):
    rid = new_request(client, received_on="2026-03-06")["id"]
    assert client.get(f"/api/v1/requests/{rid}").json()["due_on"] == "2026-04-03"  # a Friday
    expected = {dt.date(2026, 4, 3): (0, False), dt.date(2026, 4, 4): (-1, True),
                dt.date(2026, 4, 6): (-1, True),   # 清明 Monday: still the first day late
                dt.date(2026, 4, 7): (-1, True), dt.date(2026, 4, 8): (-2, True)}
    for today, (left, overdue) in expected.items():
        with _at(engine, settings, today) as c:
            r = c.get(f"/api/v1/requests/{rid}").json()
            assert (r["days_left"], r["overdue"]) == (left, overdue), today


def test_an_extension_granted_before_a_supplement_lapses_and_one_may_be_granted_afresh(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    extend(client, rid, "2026-03-04", days=10, approved_by="陈静", reason="涉及多个部门")
    r = fire(client, rid, "request_supplement", "2026-03-05", items=["请明确所需信息的年份"])
    assert r["extension"] is None
    event = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    lapsed = [e for e in event if e["event"] == "request_supplement"][0]["data"]["extension_lapsed"]
    assert lapsed == {"days": 10, "approved_by": "陈静", "extended_on": "2026-03-04"}
    r = fire(client, rid, "receive_supplement", "2026-03-10")
    # 20 working days afresh from 10 March, not 30: 11 March … 3 April is 18, 清明, 7–8 April.
    assert r["due_on"] == "2026-04-08"
    r = extend(client, rid, "2026-03-20", days=5, approved_by="陈静", reason="涉及多个部门")
    assert r["due_on"] == "2026-04-15"


def test_a_service_date_cannot_move_a_period_already_acted_on_or_follow_the_answer(client, engine, settings):
    rid, cid = _consulting(client, party="agency", name="区财政局")
    serve(client, rid, "consultation_agency", "2026-03-03")
    fire(client, rid, "close_consultation", "2026-03-24", consultation_id=cid, opinion="no_reply")
    moved = serve(client, rid, "consultation_agency", "2026-03-10", method="email", expect=422,
                  note="更正送达日")
    assert "can no longer change" in moved["detail"][0]["rule"]
    other, ocid = _consulting(client)
    fire(client, other, "close_consultation", "2026-03-05", consultation_id=ocid, opinion="consent")
    after = serve(client, other, "consultation_third_party", "2026-03-20", expect=422)
    assert after["detail"][0]["rule"] == "2026-03-20 is after the answer recorded on 2026-03-05"
    supplement = new_request(client, received_on="2026-03-02")["id"]
    fire(client, supplement, "register", "2026-03-02")
    fire(client, supplement, "request_supplement", "2026-03-03", items=["请提供身份证明"], period_days=5)
    serve(client, supplement, "supplement_notice", "2026-03-03")
    assert sweep_lapses(engine, dt.date(2026, 3, 11), settings).no_supplement == ["2026-000003"]
    late = serve(client, supplement, "supplement_notice", "2026-03-09", method="email", expect=422,
                 note="实际送达日更正")
    assert "deemed abandoned" in late["detail"][0]["rule"]


def test_an_unserved_letter_marks_the_due_date_it_moves_as_presumed(client):
    rid, cid = _consulting(client, party="agency", name="区财政局")
    late = fire(client, rid, "close_consultation", "2026-03-27", consultation_id=cid, opinion="consent")
    # Cut at the presumed lapse (24 March): the due date rests on a presumption until served.
    assert (late["due_on"], late["due_on_presumed"]) == ("2026-04-21", True)
    serve(client, rid, "consultation_agency", "2026-03-10", method="post", tracking_number="EMS9")
    r = client.get(f"/api/v1/requests/{rid}").json()
    # Served 10 March: lapses 31 March, so the answer on 27 March holds the clock to then.
    assert (r["due_on"], r["due_on_presumed"]) == ("2026-04-24", False)


def test_the_sweep_never_closes_a_period_that_lapsed_on_a_provisional_year(client, engine, settings):
    rid = new_request(client, received_on="2026-12-24")["id"]
    fire(client, rid, "register", "2026-12-24")
    fire(client, rid, "request_supplement", "2026-12-28", items=["请提供身份证明"], period_days=5)
    serve(client, rid, "supplement_notice", "2026-12-28")
    # 5 working days from 28 Dec: 29–31 Dec, (1 Jan off), 4–5 Jan 2027 — on the provisional calendar.
    assert client.get(f"/api/v1/requests/{rid}").json()["supplement"]["deadline"] == "2027-01-05"
    result = sweep_lapses(engine, dt.date(2027, 1, 6), settings.model_copy(
        update={"today_override": dt.date(2027, 1, 6)}))
    assert result.no_supplement == [] and result.held_provisional == ["2026-000001"]
    assert client.get(f"/api/v1/requests/{rid}").json()["state"] == "awaiting_supplement"
