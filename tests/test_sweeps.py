"""Lapses close themselves, through the one door, as system:sweep_deadlines — once per day; a
request the door or the database refuses is named and the others are closed; flags follow what
staff did since the last sweep."""

from __future__ import annotations

import datetime as dt


from workflows.deadlines import flag_deadlines
from workflows.sweeps import apply_lapses, find_lapses, sweep_lapses
from tests.conftest import fire, new_request, refuse_deciding, serve


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


def _lapsed_supplement(client, received_on="2026-03-02") -> int:
    """A request whose 补正 (5 working days from its service on 3 March) ran out on 10 March."""
    rid = new_request(client, received_on=received_on)["id"]
    fire(client, rid, "register", received_on)
    fire(client, rid, "request_supplement", "2026-03-03", items=["请提供身份证明"], period_days=5)
    serve(client, rid, "supplement_notice", "2026-03-03")
    return rid


def test_one_request_the_door_refuses_does_not_stop_the_rest_of_its_batch(client, engine, settings):
    first, second, third = (_lapsed_supplement(client) for _ in range(3))
    lapses = find_lapses(engine, dt.date(2026, 3, 11), settings)
    assert [lapse.number for lapse in lapses] == ["2026-000001", "2026-000002", "2026-000003"]
    # Between the sweep's reading and its closing, the applicant withdraws the second request.
    fire(client, second, "withdraw", "2026-03-11", reason="申请人撤回")
    before = len(client.get(f"/api/v1/requests/{second}/history").json()["events"])
    outcomes = apply_lapses(engine, lapses, settings)  # one batch, one transaction
    assert [(o.lapse.number, o.result) for o in outcomes] == [
        ("2026-000001", "closed"), ("2026-000002", "refused"), ("2026-000003", "closed")]
    assert "withdrawn" in outcomes[1].problem
    for rid in (first, third):
        r = client.get(f"/api/v1/requests/{rid}").json()
        assert (r["state"], r["decision"]["outcome"]) == ("decided", "other_no_supplement")
    assert client.get(f"/api/v1/requests/{second}").json()["state"] == "withdrawn"
    assert len(client.get(f"/api/v1/requests/{second}/history").json()["events"]) == before


def test_a_request_the_database_refuses_is_named_and_the_others_are_closed(client, engine, settings):
    first, second = _lapsed_supplement(client), _lapsed_supplement(client)
    refuse_deciding(engine, first)
    result = sweep_lapses(engine, dt.date(2026, 3, 11), settings)
    assert result.no_supplement == ["2026-000002"] and result.unexpected == ["2026-000001"]
    assert "refused_by_test" in result.failed["2026-000001"]
    assert "李明" not in result.failed["2026-000001"]  # PostgreSQL's failing row is masked
    assert client.get(f"/api/v1/requests/{first}").json()["state"] == "awaiting_supplement"
    assert client.get(f"/api/v1/requests/{second}").json()["state"] == "decided"
    # Nothing of the refused request was written: its chain ends where it did.
    assert client.get(f"/api/v1/requests/{first}/history").json()["events"][-1]["event"] == "record_service"


def _flags(client, *ids) -> list[str | None]:
    return [client.get(f"/api/v1/requests/{rid}").json()["deadline_flag"] for rid in ids]


def test_a_request_staff_moved_after_the_morning_sweep_is_re_evaluated_when_the_sweep_runs_again(
        client, engine, settings):
    today = dt.date(2026, 3, 25)
    soon = new_request(client, received_on="2026-03-02")["id"]       # due 30 March
    fire(client, soon, "register", "2026-03-02")
    fire(client, soon, "review", "2026-03-02")
    late = new_request(client, received_on="2026-02-02")["id"]       # due 2 March
    fire(client, late, "register", "2026-02-02")
    calm = new_request(client, received_on="2026-03-20")["id"]
    fire(client, calm, "register", "2026-03-20")
    morning = flag_deadlines(engine, today, settings)
    assert (morning.due_soon, morning.overdue, morning.cleared) == (["2026-000001"], ["2026-000002"], [])
    assert _flags(client, soon, late, calm) == ["due_soon", "overdue", None]
    # During the day staff send the first for another agency's opinion (its clock stands still)
    # and the applicant withdraws the second.
    fire(client, soon, "open_consultation", "2026-03-25", party="agency", name="区财政局")
    fire(client, late, "withdraw", "2026-03-25", reason="申请人撤回")
    counts = [len(client.get(f"/api/v1/requests/{r}/history").json()["events"]) for r in (soon, late, calm)]
    evening = flag_deadlines(engine, today, settings)
    assert (evening.due_soon, evening.overdue, evening.cleared) == ([], [], ["2026-000001", "2026-000002"])
    assert _flags(client, soon, late, calm) == [None, None, None]
    cleared = client.get(f"/api/v1/requests/{soon}/history").json()["events"][-1]
    assert (cleared["event"], cleared["actor"], cleared["data"]["flag"], cleared["data"]["previous"]) == (
        "flag_deadline", "system:sweep_deadlines", None, "due_soon")
    assert [len(client.get(f"/api/v1/requests/{r}/history").json()["events"])
            for r in (soon, late, calm)] == [counts[0] + 1, counts[1] + 1, counts[2]]
    assert flag_deadlines(engine, today, settings).changed == 0  # and a third run: nothing


def test_an_unflagged_request_whose_consultation_lapsed_unrecorded_is_flagged_on_its_live_clock(
        client, engine, settings):
    """A consultation that ran out holds the clock no more, recorded or not: the request is flagged
    by its live clock, and its stored due date already counts the stop to the lapse."""
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-02")
    fire(client, rid, "open_consultation", "2026-03-03", party="third_party", name="某公司")
    # Presumed lapse 24 March (not served: never closed by the sweep); due 21 April.
    assert flag_deadlines(engine, dt.date(2026, 3, 24), settings).changed == 0    # still stopped
    assert flag_deadlines(engine, dt.date(2026, 4, 16), settings).due_soon == ["2026-000001"]
    assert flag_deadlines(engine, dt.date(2026, 4, 22), settings).overdue == ["2026-000001"]
    assert flag_deadlines(engine, dt.date(2026, 4, 22), settings).changed == 0
