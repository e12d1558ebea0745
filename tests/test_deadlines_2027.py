"""Deadlines that hold from December 2026 on, before the State Council publishes 2027's holidays.

Every date below was counted by hand on the provisional calendar (Mon–Fri less the statutory
holidays of 全国年节及纪念日放假办法 as amended 2024) and checked against the engine.
"""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.app import create_app
from states.workdays import package_years, provisional_year, statutory_holidays
from states.calendar_years import recompute_open_clocks, store_year
from tests.conftest import authenticate, extend, fire, letter_of, new_request

D = dt.date


def test_the_statutory_holidays_of_2027_come_from_the_lunar_and_solar_term_dates():
    # 春节: 除夕 Fri 5 Feb to 初三 Mon 8 Feb; 清明 Mon 5 Apr; 端午 Wed 9 Jun; 中秋 Wed 15 Sep.
    assert sorted(statutory_holidays(2027)) == [
        D(2027, 1, 1), D(2027, 2, 5), D(2027, 2, 6), D(2027, 2, 7), D(2027, 2, 8), D(2027, 4, 5),
        D(2027, 5, 1), D(2027, 5, 2), D(2027, 6, 9), D(2027, 9, 15),
        D(2027, 10, 1), D(2027, 10, 2), D(2027, 10, 3)]
    # Only weekday holidays matter to a working-day count, and there are no make-up days.
    assert provisional_year(2027).makeup_workdays == frozenset()
    assert D(2027, 2, 6) not in provisional_year(2027).holidays  # a Saturday


@pytest.mark.parametrize("year", [2025, 2026])
def test_every_statutory_weekday_holiday_is_also_a_holiday_in_the_official_calendar(year):
    # The rule the provisional calendar uses, checked against the years the State Council has
    # published: it never counts as a working day a day the official calendar gives off.
    assert provisional_year(year).holidays <= package_years()[year].holidays


def test_a_request_received_on_10_december_2026_is_due_on_8_january_2027_marked_provisional(client):
    r = new_request(client, received_on="2026-12-10")
    # 15 working days left in December, 元旦 (Fri 1 Jan) off, then 4–8 January.
    assert r["due_on"] == "2027-01-08" and r["due_on_provisional"] is True
    assert r["clock"]["provisional"] is True and r["clock"]["error"] is None
    assert "2027年节假日安排尚未加载，按暂定日历" in r["clock"]["explanation_zh"]
    listed = client.get("/api/v1/requests").json()["items"][0]
    assert (listed["due_on"], listed["due_on_provisional"]) == ("2027-01-08", True)
    settled = new_request(client, received_on="2026-11-02")
    assert (settled["due_on"], settled["due_on_provisional"]) == ("2026-11-30", False)


def test_a_supplement_notice_counting_into_2027_is_sent_with_its_period_marked_provisional(client):
    rid = new_request(client, received_on="2026-12-24")["id"]
    fire(client, rid, "register", "2026-12-24")
    # 31 Dec is working day 5 after the 24th: inside Art 30's 7 working days, so it must go out.
    r = fire(client, rid, "request_supplement", "2026-12-31", items=["请提供身份证明"])
    supplement = r["supplement"]
    # 15 working days from the presumed service on 31 Dec: 4–8, 11–15, 18–22 January.
    assert supplement["deadline"] == "2027-01-22"
    assert supplement["deadline_presumed"] is True and supplement["deadline_provisional"] is True


def test_an_extension_into_2027_is_issued_with_its_new_date_and_the_provisional_sentence(client):
    rid = new_request(client, received_on="2026-12-01")["id"]
    fire(client, rid, "register", "2026-12-01")
    r = fire(client, rid, "review", "2026-12-01")
    assert r["due_on"] == "2026-12-29" and r["due_on_provisional"] is False
    r = extend(client, rid, "2026-12-28", days=10, approved_by="陈静", reason="涉及多个部门")
    # 10 working days after 29 Dec: 30, 31 Dec, (1 Jan off), 4–8, 11–13 January.
    assert r["due_on"] == "2027-01-13" and r["due_on_provisional"] is True
    letter = letter_of(client, rid, "extension_notice")
    html = client.get(f"/api/v1/requests/{rid}/letters/{letter['id']}.html").content.decode()
    assert "本机关将于2027年1月13日前作出答复" in html
    assert ("本文书所载日期涉及的2027年节假日安排国务院尚未公布，系按暂定工作日历（周一至周五，"
            "扣除法定节假日）计算") in html


# A made-up official 2027 notice that differs from the provisional calendar around 春节:
# holidays 5–13 February, Sunday 14 February a make-up working day.
YEAR_2027 = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知（测试）",
             "holidays": [["2027-01-01", "2027-01-03"], ["2027-02-05", "2027-02-13"], "2027-04-05",
                          ["2027-05-01", "2027-05-05"], "2027-06-09", "2027-09-15",
                          ["2027-10-01", "2027-10-07"]],
             "makeup_workdays": ["2027-02-14"]}


def test_loading_the_official_2027_notice_recomputes_provisional_dates_and_lists_the_changes(
        client, engine, settings):
    rid = new_request(client, received_on="2026-12-31")["id"]
    fire(client, rid, "register", "2026-12-31")
    fire(client, rid, "review", "2026-12-31")
    r = extend(client, rid, "2026-12-31", days=20, approved_by="陈静", reason="涉及多个部门")
    # Provisional: 29 Jan + 20 working days, 5 and 8 Feb off → 2 March.
    assert (r["due_on"], r["due_on_provisional"]) == ("2027-03-02", True)
    years = {y["year"]: y for y in client.get("/api/v1/calendar/years").json()["items"]}
    assert years[2026]["kind"] == "official" and years[2027]["kind"] == "provisional"
    with Session(engine) as session:
        store_year(session, YEAR_2027, "staff:li.na")
        session.commit()
    result = recompute_open_clocks(engine, actor="staff:li.na", reason="2027年节假日安排已加载",
                                   on=D(2026, 12, 31), settings=settings,
                                   data={"calendar_year": 2027})
    assert result["changes"] == [{"request_id": rid, "number": "2026-000001",
                                  "old_due_on": D(2027, 3, 2), "new_due_on": D(2027, 3, 5)}]
    # Official: 1–4 Feb, Sunday 14 Feb, 15–19, 22–26 Feb, 1–5 March.
    r = client.get(f"/api/v1/requests/{rid}").json()
    assert (r["due_on"], r["due_on_provisional"]) == ("2027-03-05", False)
    years = {y["year"]: y for y in client.get("/api/v1/calendar/years").json()["items"]}
    assert years[2027]["kind"] == "official" and years[2027]["source"] == YEAR_2027["source"]
    changes = client.get("/api/v1/calendar/changes?year=2027").json()["items"]
    assert [(c["number"], c["old_due_on"], c["new_due_on"], c["actor"]) for c in changes] == [
        ("2026-000001", "2027-03-02", "2027-03-05", "staff:li.na")]
    history = client.get(f"/api/v1/requests/{rid}/history").json()
    assert history["verified"] is True and history["events"][-1]["event"] == "recompute_clock"


def test_receipt_dates_before_the_regulations_are_refused_unless_configured(client, engine, settings):
    for day in ("0001-01-01", "2003-12-31", "2019-05-14"):
        body = {"applicant": {"name": "李明", "kind": "natural_person"}, "channel": "post",
                "received_on": day, "description": "某文件"}
        r = client.post("/api/v1/requests", json=body)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == "received_on"
        assert "GONGKAI_EARLIEST_RECEIVED_ON" in r.json()["detail"][0]["rule"]
    assert new_request(client, received_on="2019-05-15")["due_on"] == "2019-06-13"
    migrating = settings.model_copy(update={"earliest_received_on": D(2015, 1, 1)})
    with TestClient(create_app(engine, migrating)) as c:
        authenticate(c)
        assert new_request(c, received_on="2018-06-01")["received_on"] == "2018-06-01"
    assert client.get("/api/v1/requests", params={"total": "true"}).json()["total"] == 2


def test_gongkai_calendar_import_lists_the_requests_whose_due_date_moved(tmp_path, settings):
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    from core.db import make_engine
    from core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'cli.db'}"
    upgrade(url)
    with TestClient(create_app(make_engine(url), settings)) as c:
        authenticate(c)
        rid = new_request(c, received_on="2026-12-31")["id"]
        fire(c, rid, "register", "2026-12-31")
        fire(c, rid, "review", "2026-12-31")
        extend(c, rid, "2026-12-31", days=20, approved_by="陈静", reason="涉及多个部门")
    notice = tmp_path / "2027.json"
    notice.write_text(json.dumps(YEAR_2027, ensure_ascii=False), encoding="utf-8")
    env = {**os.environ, "GONGKAI_DATABASE_URL": url, "GONGKAI_TODAY": "2026-12-31"}
    done = subprocess.run([sys.executable, "-m", "cli", "calendar", "import", str(notice),
                           "--by", "staff:li.na"], cwd=Path(__file__).resolve().parent.parent,
                          env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-2:] == [
        "2026-000001  答复期限 2027-03-02 → 2027-03-05",
        "2027 loaded; 1 open requests checked, 1 changed"]
