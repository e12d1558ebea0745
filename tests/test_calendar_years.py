"""A request that runs into 2027 before the State Council has published 2027's holidays, on an
engine configured to count no provisional years (GONGKAI_PROVISIONAL_CALENDAR_YEARS=0)."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import Session

from core.config import Settings
from states.workdays import YearFileError, parse_year_file
from states.calendar_years import recompute_open_clocks, store_year
from tests.conftest import AGENCY, TODAY, authenticate, extend, fire, new_request, serve

ROOT = Path(__file__).resolve().parent.parent
# A made-up 2027 notice for the tests (the real one is not yet published as this is written).
YEAR_2027 = {"year": 2027, "source": "测试用2027年节假日安排",
             "holidays": [["2027-01-01", "2027-01-03"], ["2027-02-05", "2027-02-13"], "2027-04-05",
                          ["2027-05-01", "2027-05-05"], "2027-06-09", "2027-09-15",
                          ["2027-10-01", "2027-10-07"]],
             "makeup_workdays": ["2027-02-14"]}


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path, log_json=True, today_override=TODAY, agency=AGENCY,
                    provisional_calendar_years=0)


def test_a_request_counting_into_an_unloaded_year_is_received_but_shows_no_due_date(client):
    r = new_request(client, received_on="2026-12-10")
    assert r["due_on"] is None
    assert r["clock"]["error"].startswith("2027年的国务院节假日安排未加载")


def test_loading_the_year_recomputes_open_requests_and_audits_each_change(client, engine, settings):
    waiting = new_request(client, received_on="2026-12-10")["id"]
    settled = new_request(client, received_on="2026-11-02")["id"]  # due in 2026: unchanged
    with Session(engine) as session:
        store_year(session, YEAR_2027, "staff:li.na")
        session.commit()
    result = recompute_open_clocks(engine, actor="staff:li.na", reason="2027年节假日安排已加载",
                                   on=dt.date(2026, 11, 23), settings=settings)
    assert result == {"checked": 2, "changed": 1, "changes": [
        {"request_id": waiting, "number": "2026-000001", "old_due_on": None,
         "new_due_on": dt.date(2027, 1, 8)}]}
    # 10 Dec 2026 + 20 working days: 15 in December, then 1 Jan (holiday) … 4–8 Jan 2027.
    assert client.get(f"/api/v1/requests/{waiting}").json()["due_on"] == "2027-01-08"
    history = client.get(f"/api/v1/requests/{waiting}/history").json()
    assert history["verified"] is True
    last = history["events"][-1]
    assert (last["event"], last["actor"]) == ("recompute_clock", "staff:li.na")
    assert last["data"] == {"old_due_on": None, "new_due_on": "2027-01-08",
                            "reason": "2027年节假日安排已加载", "provisional": False}
    assert [e["event"] for e in client.get(f"/api/v1/requests/{settled}/history").json()["events"]] == ["receive"]
    again = recompute_open_clocks(engine, actor="staff:li.na", reason="again",
                                  on=dt.date(2026, 11, 23), settings=settings)
    assert again == {"checked": 2, "changed": 0, "changes": []}


def test_a_provisional_calendar_counts_mon_to_fri_and_says_so(engine, tmp_path):
    from fastapi.testclient import TestClient
    from api.app import create_app
    provisional = Settings(data_dir=tmp_path, provisional_calendar_years=1, today_override=TODAY)
    # 10 Dec 2026 + 20 working days on Mon–Fri less 元旦 (Fri 1 Jan 2027): 8 Jan 2027
    with TestClient(create_app(engine, provisional)) as c:
        authenticate(c)
        r = new_request(c, received_on="2026-12-10")
    assert r["due_on"] == "2027-01-08" and r["clock"]["provisional"] is True
    assert "暂定日历" in r["clock"]["explanation_zh"]


@pytest.mark.parametrize("change, message", [
    ({"makeup_workdays": ["2027-02-15"]}, "makeup_workdays: 2027-02-15 is a weekday"),
    ({"makeup_workdays": ["2027-02-06"]}, "makeup_workdays: 2027-02-06 is also listed as a holiday"),
    ({"holidays": [["2027-12-30", "2028-01-01"]]}, "holidays: 2028-01-01 is not in 2027"),
    ({"holidays": ["2027-13-01"]}, "holidays: '2027-13-01' is not a date"),
    ({"source": ""}, "source: name the notice"),
    ({"source": "国务院办公厅关于2026年部分节假日安排的通知"}, "source: names 2026年 but the file is for 2027"),
    ({"source": 2027}, "source: must be the notice's title as text"),
    ({"source": "2027年安排\x00"}, "source: must not contain control characters"),
    ({"holidays": [["2027-01-01", "2027-01-03"]]},
     r"holidays: 2027-02-05 \(春节\) is a statutory holiday under 全国年节及纪念日放假办法"),
])
def test_an_inconsistent_year_file_is_refused_naming_the_entry(change, message):
    with pytest.raises(YearFileError, match=message):
        parse_year_file({**YEAR_2027, **change})


def test_gongkai_calendar_load_from_the_command_line(tmp_path):
    env = {**os.environ, "GONGKAI_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}
    run = lambda *a: subprocess.run([sys.executable, "-m", "cli", *a], cwd=ROOT, env=env,
                                    capture_output=True, text=True)
    assert run("db", "upgrade").returncode == 0
    good = tmp_path / "2027.json"
    good.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    loaded = run("calendar", "load", str(good), "--by", "staff:li.na")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().endswith("2027 loaded; 0 open requests checked, 0 changed")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**YEAR_2027, "makeup_workdays": ["2027-02-15"]}), encoding="utf-8")
    refused = run("calendar", "load", str(bad), "--by", "staff:li.na")
    assert refused.returncode == 2 and "is a weekday" in refused.stderr


def test_a_fee_noticed_in_late_december_before_2027_is_loaded_gives_a_clear_answer_not_a_500(client):
    rid = new_request(client, received_on="2026-11-30")["id"]
    fire(client, rid, "register", "2026-11-30")
    fire(client, rid, "review", "2026-11-30")
    noticed = fire(client, rid, "notify_fee", "2026-12-28", method="per_volume", pages=50, how_to_pay="银行转账")
    assert noticed["state"] == "awaiting_fee" and noticed["due_on"] is None
    assert noticed["clock"]["error"].startswith("2027年的国务院节假日安排未加载")
    serve(client, rid, "fee_notice", "2026-12-29")
    refused = fire(client, rid, "decide", "2026-12-31", expect=422, outcome="other_fee_unpaid")
    assert refused["detail"] == [{"field": "on", "rule": "the payment deadline cannot be counted: "
                                  "its year's holiday calendar is not loaded"}]
    assert fire(client, rid, "receive_fee", "2026-12-31")["state"] == "reviewing"


def test_a_consultation_whose_lapse_date_falls_in_an_unloaded_year_is_refused_with_a_422(client):
    rid = new_request(client, received_on="2026-11-30")["id"]
    fire(client, rid, "register", "2026-11-30")
    fire(client, rid, "review", "2026-11-30")
    refused = fire(client, rid, "open_consultation", "2026-12-15", expect=422, party="agency",
                   name="区财政局")
    assert refused["detail"][0]["field"] == "on"
    assert refused["detail"][0]["rule"].startswith("2027年的国务院节假日安排未加载")
    assert "gongkai calendar import" in refused["detail"][0]["rule"]
    events = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    assert [e["event"] for e in events] == ["receive", "register", "issue_letter", "review"]


def test_no_letter_is_frozen_without_its_date_an_extension_into_an_unloaded_year_is_refused(client):
    rid = new_request(client, received_on="2026-12-01")["id"]
    fire(client, rid, "register", "2026-12-01")
    fire(client, rid, "review", "2026-12-01")
    refused = extend(client, rid, "2026-12-28", expect=422, days=10, approved_by="陈静",
                   reason="涉及多个部门")
    assert refused["detail"][0]["field"] == "on"
    assert refused["detail"][0]["rule"].startswith("the 政府信息公开申请延期答复告知书 would be issued "
                                                    "without its 延长后的答复期限")
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert r["extension"] is None and r["due_on"] == "2026-12-29"
    kinds = [x["kind"] for x in client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]]
    assert kinds == ["acknowledgement"]
