"""Lapses close themselves, through the one door, as system:sweep_deadlines — once per day."""

from __future__ import annotations

import datetime as dt

from workflows.sweeps import sweep_lapses
from tests.conftest import fire, new_request, serve


def test_a_lapsed_supplement_closes_the_request_and_a_second_run_changes_nothing(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请提供身份证明"], period_days=5)
    assert sweep_lapses(engine, dt.date(2026, 3, 11), settings).changed == 0  # not served yet
    serve(client, rid, "supplement_notice", "2026-03-03")
    assert sweep_lapses(engine, dt.date(2026, 3, 10), settings).changed == 0  # deadline day itself
    first = sweep_lapses(engine, dt.date(2026, 3, 11), settings)
    assert first.no_supplement == ["2026-000001"] and first.failed == {}
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert r["state"] == "decided" and r["decision"]["outcome"] == "other_no_supplement"
    last = client.get(f"/api/v1/requests/{rid}/history").json()["events"][-1]
    assert (last["actor"], last["event"], last["on"]) == ("system:sweep_deadlines", "decide", "2026-03-11")
    second = sweep_lapses(engine, dt.date(2026, 3, 11), settings)
    assert second.changed == 0
    # receive, register, its 登记回执, request_supplement, its 补正告知书, its service, decide
    assert len(client.get(f"/api/v1/requests/{rid}/history").json()["events"]) == 7


def test_a_lapsed_agency_consultation_resumes_the_clock_from_its_lapse_date(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "open_consultation", "2026-03-03", party="agency", name="区财政局")
    serve(client, rid, "consultation_agency", "2026-03-03", method="email")
    result = sweep_lapses(engine, dt.date(2026, 3, 26), settings)
    assert result.consultations_lapsed == ["2026-000001"]
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert r["state"] == "reviewing" and r["clock"]["stopped"] is False
    assert r["consultations"][0]["closed_on"] == "2026-03-24"  # its lapse date
    assert r["consultations"][0]["opinion"] == "no_reply"
    assert r["due_on"] == "2026-04-21"  # 30 Mar + 15 working days held, skipping 清明
    assert sweep_lapses(engine, dt.date(2026, 3, 26), settings).changed == 0


def test_an_unpaid_fee_closes_as_other_fee_unpaid(client, engine, settings):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "notify_fee", "2026-03-05", method="per_volume", pages=50, how_to_pay="银行转账")
    serve(client, rid, "fee_notice", "2026-03-05")
    assert sweep_lapses(engine, dt.date(2026, 4, 2), settings).changed == 0  # pay by 2 April
    assert sweep_lapses(engine, dt.date(2026, 4, 3), settings).fee_unpaid == ["2026-000001"]
    assert client.get(f"/api/v1/requests/{rid}").json()["decision"]["outcome"] == "other_fee_unpaid"
