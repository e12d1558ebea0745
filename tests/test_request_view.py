"""One request's view as GET /requests/{id} reads it: the request with its agency, decision, unit,
the loaded calendar years and which of its records exist, in one statement (states/presence.py
`read_for_view`) — and it says exactly what the view read part by part says."""

from __future__ import annotations

from sqlalchemy import event
from sqlmodel import Session, select

from reports.request_view import request_view
from states.calendar_years import store_year
from states.models import Request
from states.presence import read_for_view
from tests.conftest import (extend, fire, make_user, new_request, reply_disclosing, review,
                            set_agency)
from tests.test_access import _add_agency, _as
from tests.test_calendar_years import YEAR_2027

ALONE = {"name": "周敏", "kind": "natural_person", "phone": "13655556666"}


def _scenario(client) -> dict[str, int]:
    """Requests in the shapes a view takes: a first-time applicant's in a unit, a repeat
    applicant above the agency's monthly threshold, a consultation, a review with an internal
    consultation, a decision, an extension, an archived reply, and one running into 2027."""
    engine = client.app.state.engine
    set_agency(engine, "main", excess_threshold=2)
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    assert admin.post("/api/v1/agencies/main/units", json={"name": "信息公开科"}).status_code == 201
    ids = {"alone": new_request(client, applicant=ALONE, unit="信息公开科",
                                description="请公开东湖路12号地块的征收补偿方案")["id"]}
    for name in ("repeat_1", "repeat_2", "repeat_3"):
        ids[name] = new_request(client, received_on="2026-03-03")["id"]
    rid = ids["consulting"] = ids["repeat_1"]
    fire(client, rid, "register", "2026-03-03")
    fire(client, rid, "review", "2026-03-04")
    fire(client, rid, "open_consultation", "2026-03-04", party="third_party", name="某建筑有限公司",
         matter="施工单位的报价明细")
    rid = ids["reviewed"] = ids["repeat_2"]
    fire(client, rid, "register", "2026-03-03")
    fire(client, rid, "review", "2026-03-04")
    review(client, rid, "2026-03-05")
    fire(client, rid, "open_internal_consultation", "2026-03-05", body="justice_bureau",
         name="西湖区司法局", matter="拟公开的范围")
    extend(client, rid, "2026-03-20", days=10, reason="需要会商")
    fire(client, rid, "decide", "2026-03-25", outcome="disclosed")
    rid = ids["archived"] = new_request(client, received_on="2026-02-02", applicant=ALONE,
                                        description="申请公开2025年本街道垃圾分类经费")["id"]
    reply_disclosing(client, rid, registered="2026-02-02", reviewed="2026-02-03",
                     checked="2026-02-04", decided="2026-02-05", sent="2026-02-06",
                     findings="您申请的信息由本机关制作")
    fire(client, rid, "archive", "2026-02-09")
    with Session(engine) as session:
        store_year(session, YEAR_2027, "staff:li.na")
        session.commit()
    ids["into_2027"] = new_request(client, received_on="2026-12-10", applicant={**ALONE, "phone": "13500000000"},
                                   description="申请公开2026年度区级财政预算执行情况")["id"]
    return ids


def test_a_requests_view_read_in_one_statement_says_what_it_says_read_part_by_part(client, settings):
    ids = _scenario(client)
    engine = client.app.state.engine
    for name, rid in ids.items():
        with Session(engine) as session:
            by_parts = request_view(session, session.get(Request, rid), settings)
        with Session(engine) as session:
            at_once = request_view(session, read_for_view(session, rid), settings)
        assert at_once == by_parts, name
    with Session(engine) as session:
        assert read_for_view(session, max(ids.values()) + 1) is None


def test_what_staff_see_on_a_request_in_each_shape(client):
    ids = _scenario(client)
    view = {name: client.get(f"/api/v1/requests/{rid}").json() for name, rid in ids.items()}
    alone = view["alone"]
    assert (alone["unit"], alone["similar_requests"], alone["prompts"]) == ("信息公开科", [], [])
    third = view["repeat_3"]  # the applicant's third request in March, above the threshold of 2
    assert [s["id"] for s in third["similar_requests"]] == [ids["repeat_1"], ids["repeat_2"]]
    assert [(p["kind"], p["count"]) for p in third["prompts"]] == [("excessive_requests", 3),
                                                                    ("possible_repeat", 2)]
    consulting = view["consulting"]
    assert consulting["state"] == "consulting"
    assert [(c["name"], c["closed_on"]) for c in consulting["consultations"]] == [("某建筑有限公司", None)]
    reviewed = view["reviewed"]
    assert reviewed["decision"]["outcome"] == "disclosed"
    assert reviewed["confidentiality_review"]["conclusion"] == "disclosable"
    assert [c["name"] for c in reviewed["internal_consultations"]] == ["西湖区司法局"]
    assert reviewed["extension"]["days"] == 10
    archived = view["archived"]
    assert (archived["state"], archived["decision"]["outcome"]) == ("archived", "disclosed")
    # the other request of the same applicant is earlier, but on another subject
    assert archived["similar_requests"] == [] and archived["prompts"] == []
    # 10 Dec 2026 + 20 working days on the loaded 2027 notice: 15 in December, 1 Jan is a holiday
    into_2027 = view["into_2027"]
    assert (into_2027["due_on"], into_2027["due_on_provisional"]) == ("2027-01-08", False)


def _reads_of_get(client, rid) -> list[str]:
    engine = client.app.state.engine
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        answer = client.get(f"/api/v1/requests/{rid}")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert answer.status_code == 200 and answer.json()["id"] == rid
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_request_on_a_new_subject_is_read_in_one_statement_after_the_callers_token(client):
    new_request(client, received_on="2026-02-02", applicant=ALONE, description="申请公开2025年本街道垃圾分类经费")
    rid = new_request(client, applicant=ALONE, description="请公开东湖路12号地块的征收补偿方案")["id"]
    reads = _reads_of_get(client, rid)
    assert len(reads) == 2, reads  # the bearer token's caller, then the request with its view
    assert "api_token" in reads[0] and "FROM request JOIN agency" in reads[1]
    # the same applicant asking again for the same thing: their earlier request is compared
    again = new_request(client, applicant=ALONE, received_on="2026-03-04",
                        description="申请公开东湖路12号地块的征收补偿方案")["id"]
    reads = _reads_of_get(client, again)
    assert len(reads) == 3 and "request_fingerprint" in reads[2], reads
    assert [s["id"] for s in client.get(f"/api/v1/requests/{again}").json()["similar_requests"]] == [rid]


def test_no_request_of_that_number_is_a_404_as_before(client):
    assert client.get("/api/v1/requests/2147483647").status_code == 404
    with Session(client.app.state.engine) as session:
        assert session.exec(select(Request)).first() is None


def test_the_list_names_each_requests_agency_and_unit_as_its_own_view_does(client):
    ids = _scenario(client)
    engine = client.app.state.engine
    _add_agency(client)
    admin = _as(client, make_user(engine, "root", "admin", scope="all"))
    assert admin.post("/api/v1/agencies/zhujian/units", json={"name": "法制科"}).status_code == 201
    theirs = _as(client, make_user(engine, "chen.jing", "staff", agency="zhujian"))
    ids["theirs"] = new_request(theirs, unit="法制科")["id"]
    everyone = _as(client, make_user(engine, "lin.hui", "supervisor", scope="all"))
    page = everyone.get("/api/v1/requests?limit=3").json()
    rest = everyone.get(f"/api/v1/requests?after={page['next_after']}").json()
    listed = {r["id"]: (r["agency"], r["unit"]) for r in page["items"] + rest["items"]}
    expected = {rid: ("main", "信息公开科" if name == "alone" else None)
                for name, rid in ids.items() if name not in ("consulting", "reviewed")}
    assert listed == {**expected, ids["theirs"]: ("zhujian", "法制科")}
    assert [everyone.get(f"/api/v1/requests/{rid}").json()["unit"] for rid in (ids["alone"], ids["theirs"])] \
        == ["信息公开科", "法制科"]
