"""What a supervisor sees today: the live overdue and due-soon lists agree with each request's
own clock, never list a lawfully extended or stopped request, page by keyset, and count per
agency; the on-time rate counts replies made by their due date."""

from __future__ import annotations

import datetime as dt

from tests.conftest import authenticate, extend, fire, new_request, serve

TODAY = dt.date(2026, 3, 25)  # a Wednesday


def _watched(client) -> dict[str, int]:
    ids = {}
    for name, received in (("late", "2026-02-02"), ("later", "2026-01-26"), ("soon", "2026-03-02"),
                           ("calm", "2026-03-20"), ("extended", "2026-02-03"),
                           ("consulting", "2026-02-04")):
        ids[name] = new_request(client, received_on=received, assignee="王芳")["id"]
        fire(client, ids[name], "register", received)
    fire(client, ids["extended"], "review", "2026-03-02")
    extend(client, ids["extended"], "2026-03-02", days=20, approved_by="李主任",
         reason="涉及多个部门，需要协调")
    fire(client, ids["consulting"], "review", "2026-03-02")
    fire(client, ids["consulting"], "open_consultation", "2026-03-02", party="third_party",
         name="某建设公司")
    serve(client, ids["consulting"], "consultation_third_party", "2026-03-03")
    return ids


def test_the_overdue_list_is_the_requests_whose_own_clock_says_overdue_most_late_first(
        client, settings):
    settings.today_override = TODAY
    ids = _watched(client)
    views = {name: client.get(f"/api/v1/requests/{rid}").json() for name, rid in ids.items()}
    late_by_view = {name for name, v in views.items() if v["overdue"]}
    assert late_by_view == {"late", "later"}  # extended and consulting are lawfully not late
    page = client.get("/api/v1/supervision/overdue").json()
    assert [i["id"] for i in page["items"]] == [ids["later"], ids["late"]]  # the most late first
    assert page["total"] == 2 and page["next_after"] is None
    for item in page["items"]:
        name = next(n for n, rid in ids.items() if rid == item["id"])
        assert item["days_left"] == views[name]["days_left"] < 0
        assert (item["agency"], item["assignee"]) == ("main", "王芳")
    first = client.get("/api/v1/supervision/overdue", params={"limit": 1}).json()
    assert [i["id"] for i in first["items"]] == [ids["later"]] and first["total"] == 2
    second = client.get("/api/v1/supervision/overdue",
                        params={"limit": 1, "after": first["next_after"]}).json()
    assert [i["id"] for i in second["items"]] == [ids["late"]] and second["next_after"] is None
    assert client.get("/api/v1/supervision/overdue", params={"assignee": "别人"}).json()["total"] == 0
    assert client.get("/api/v1/supervision/overdue", params={"stage": "reviewing"}).json()["total"] == 0


def test_due_soon_leaves_out_what_is_stopped_and_counts_agree(client, settings):
    settings.today_override = TODAY
    ids = _watched(client)
    soon = client.get("/api/v1/supervision/due-soon").json()
    by_view = {name for name, rid in ids.items()
               if (v := client.get(f"/api/v1/requests/{rid}").json())["days_left"] is not None
               and 0 <= v["days_left"] <= settings.due_soon_days and not v["stopped"]}
    assert {i["id"] for i in soon["items"]} == {ids[n] for n in by_view} == {ids["soon"]}
    assert soon["items"][0]["days_left"] == 3  # 26, 27 and 30 March
    counts = client.get("/api/v1/supervision/counts").json()["items"]
    assert counts == [{"agency": "main", "open": 6, "overdue": 2, "due_soon": 1}]


def test_the_on_time_rate_counts_replies_by_their_due_date(client, settings):
    settings.today_override = TODAY
    in_time = new_request(client, received_on="2026-03-02")["id"]
    late = new_request(client, received_on="2026-01-26")["id"]
    for rid, on in ((in_time, "2026-03-02"), (late, "2026-01-26")):
        fire(client, rid, "register", on)
        fire(client, rid, "review", on)
        fire(client, rid, "decide", "2026-03-20", outcome="unavailable_not_held",
             reason="经检索，本机关未制作或保存该信息")
        client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经检索未找到"})
        fire(client, rid, "send_reply", "2026-03-20")
    rates = client.get("/api/v1/supervision/on-time", params={"from": "2026-03-01",
                                                              "to": "2026-03-31"}).json()
    assert rates["items"] == [{"agency": "main", "replied": 2, "in_time": 1, "rate": 0.5}]
    assert rates["from"] == "2026-03-01"
    bad = client.get("/api/v1/supervision/on-time", params={"from": "2026-03-31", "to": "2026-03-01"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "to"


def test_another_agencys_staff_see_none_of_it(client, settings):
    settings.today_override = TODAY
    _watched(client)
    from tests.test_access import _add_agency, _as
    from tests.conftest import make_user
    _add_agency(client)
    theirs = _as(client, make_user(client.app.state.engine, "chen.jing", "staff", agency="zhujian"))
    assert theirs.get("/api/v1/supervision/overdue").json() == {"total": 0, "next_after": None,
                                                                 "items": []}
    assert theirs.get("/api/v1/supervision/counts").json() == {"items": []}
    authenticate(client, "zhao.lei", "supervisor", agency=None, scope="all")
    assert client.get("/api/v1/supervision/overdue", params={"agency": "zhujian"}).json()["total"] == 0
    assert client.get("/api/v1/supervision/overdue", params={"agency": "main"}).json()["total"] == 2


def test_a_cursor_that_is_no_date_is_a_422_naming_it(client):
    for after in ("0155-31-94:94606", "0000-01-01:1", "2026-02-30:7"):
        r = client.get("/api/v1/supervision/due-soon", params={"after": after})
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "after", after


def test_a_consultation_opened_after_the_due_date_excuses_no_lateness(client, settings):
    settings.today_override = TODAY
    rid = new_request(client, received_on="2026-01-05")["id"]  # due 2 February
    fire(client, rid, "register", "2026-01-05")
    fire(client, rid, "review", "2026-01-05")
    view = fire(client, rid, "open_consultation", "2026-03-02", party="third_party", name="某公司")
    assert (view["overdue"], view["stopped"], view["due_on"]) == (True, False, "2026-02-02")
    assert "不予扣除" in client.get(f"/api/v1/requests/{rid}").json()["clock"]["explanation_zh"]
    [item] = client.get("/api/v1/supervision/overdue").json()["items"]
    assert (item["id"], item["days_left"]) == (rid, view["days_left"])
