"""The review step as the law and agencies' own standards ask: 保密审查 before any disclosure,
internal consultations that leave the clock running, the legal reviewer's sign-off, repeats and
clusters of similar requests, Art 35's monthly counts, and fees computed under 109号."""

from __future__ import annotations

import datetime as dt

import pytest

from states.fees import item_price, per_item, per_volume
from tests.conftest import (fire, head_of_office, legal_reviewer, legal_signoff, make_user,
                            new_request, review, set_agency)
from tests.test_access import _as

PERSON = {"name": "王小红", "kind": "natural_person", "phone": "13911112222"}


def _reviewing(client, received_on="2026-03-02", **extra) -> int:
    rid = new_request(client, received_on=received_on, **extra)["id"]
    fire(client, rid, "register", received_on)
    fire(client, rid, "review", received_on)
    return rid


def _letter(client, rid, kind) -> str:
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    letter = [x for x in letters if x["kind"] == kind][-1]
    return client.get(f"/api/v1/requests/{rid}/letters/{letter['id']}.html").content.decode()


# --- 保密审查 --------------------------------------------------------------------------

def test_nothing_is_disclosed_before_a_recorded_confidentiality_review(client):
    rid = _reviewing(client)
    refused = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="disclosed")
    assert refused["detail"][0]["field"] == "outcome" and "保密审查" in refused["detail"][0]["rule"]
    no_basis = fire(client, rid, "review_confidentiality", "2026-03-05", expect=422,
                    conclusion="disclosable", basis="")
    assert no_basis["detail"][0]["field"] == "basis"
    typed = fire(client, rid, "review_confidentiality", "2026-03-05", expect=422,
                 conclusion="disclosable", basis="不涉密", reviewed_by="别人")
    assert typed["detail"][0]["field"] == "reviewed_by"  # the reviewer is who is logged in
    secret = review(client, rid, "2026-03-05", "not_disclosable", basis="属于机密级国家秘密")
    assert secret["confidentiality_review"] == {
        "conclusion": "not_disclosable", "basis": "属于机密级国家秘密", "reviewer": "zhang.wei",
        "reviewed_on": "2026-03-05", "redactions": []}
    refused = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="disclosed")
    assert "not_disclosable" in refused["detail"][0]["rule"]
    decided = fire(client, rid, "decide", "2026-03-05", outcome="withheld_state_secret",
                   reason="所申请信息属于国家秘密")
    assert decided["decision"]["outcome"] == "withheld_state_secret"
    events = [e["event"] for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]]
    assert events[-2:] == ["review_confidentiality", "decide"]


def test_a_partial_review_marks_the_parts_and_the_letter_lists_them(client):
    rid = _reviewing(client)
    unmarked = fire(client, rid, "review_confidentiality", "2026-03-05", expect=422,
                    conclusion="partly_disclosable", basis="部分涉及个人隐私")
    assert unmarked["detail"][0]["field"] == "redactions"
    review(client, rid, "2026-03-05", "partly_disclosable", basis="部分涉及个人隐私和商业秘密",
           redactions=[{"part": "住户姓名和联系电话", "ground": "privacy"},
                       {"part": "施工单位报价明细", "ground": "withheld_third_party_rights"}])
    whole = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="disclosed")
    assert "partly_disclosable" in whole["detail"][0]["rule"]
    fire(client, rid, "decide", "2026-03-05", outcome="partially_disclosed", reason="涉及个人隐私和商业秘密",
         withheld_ground="withheld_third_party_rights")
    draft = client.get(f"/api/v1/requests/{rid}/letters/draft/preview")
    assert draft.status_code == 422  # findings and provision still to write
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "经检索，该信息由本机关制作", "provision": "现随本答复书提供"})
    legal_signoff(client, rid, "2026-03-06")
    fire(client, rid, "send_reply", "2026-03-06")
    html = _letter(client, rid, "decision:partially_disclosed")
    # The withheld parts default to the parts the review marked; each is listed with its ground.
    assert "其中，住户姓名和联系电话、施工单位报价明细不予公开" in html
    assert ("经保密审查，以下内容不予公开或者作去标识化处理：1.住户姓名和联系电话（涉及个人隐私，作去标识化处理）；"
            "2.施工单位报价明细（涉及商业秘密、个人隐私等，公开会对第三方合法权益造成损害）。") in html


def test_a_review_revised_after_the_decision_withdraws_the_sign_off_and_is_checked_at_send(client):
    rid = _reviewing(client)
    review(client, rid, "2026-03-05", "partly_disclosable",
           redactions=[{"part": "住户姓名", "ground": "privacy"}])
    fire(client, rid, "decide", "2026-03-05", outcome="partially_disclosed", reason="涉及个人隐私",
         withheld_ground="withheld_third_party_rights")
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "该信息由本机关制作", "provision": "现随本答复书提供",
                     "withheld_parts": "住户姓名"})
    signed = legal_signoff(client, rid, "2026-03-06")
    assert signed["legal_signoff"] == {"signed_by": "王律", "on": "2026-03-06"}
    again = review(client, rid, "2026-03-06", "not_disclosable", basis="经保密办复核，属于工作秘密")
    assert again["legal_signoff"] is None
    history = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    assert history[-1]["data"]["legal_signoff_withdrawn"]["by"] == "王律"
    assert history[-1]["data"]["previous"]["conclusion"] == "partly_disclosable"
    refused = fire(client, rid, "send_reply", "2026-03-06", expect=422)
    assert refused["detail"][0]["field"] == "event" and "not_disclosable" in refused["detail"][0]["rule"]


# --- 内部会商 ---------------------------------------------------------------------------

def test_an_internal_consultation_is_recorded_and_the_clock_runs_on(client):
    rid = _reviewing(client)
    before = client.get(f"/api/v1/requests/{rid}").json()
    opened = fire(client, rid, "open_internal_consultation", "2026-03-04", body="justice_bureau",
                  name="西湖区司法局", matter="拟不予公开的法律依据")
    assert opened["state"] == "reviewing" and opened["due_on"] == before["due_on"] == "2026-03-30"
    ic = opened["internal_consultations"][0]
    assert (ic["body"], ic["name"], ic["closed_on"]) == ("justice_bureau", "西湖区司法局", None)
    wrong = fire(client, rid, "close_internal_consultation", "2026-03-20", expect=422,
                 internal_consultation_id=ic["id"] + 99, opinion="同意")
    assert wrong["detail"][0]["field"] == "internal_consultation_id"
    closed = fire(client, rid, "close_internal_consultation", "2026-03-20",
                  internal_consultation_id=ic["id"], opinion="同意依据第十五条不予公开")
    assert closed["internal_consultations"][0]["opinion"] == "同意依据第十五条不予公开"
    # Sixteen days of internal review moved nothing: Art 33 ¶3 stops the clock only for third
    # parties and other agencies.
    assert (closed["due_on"], closed["clock"]["stopped_workdays"]) == ("2026-03-30", 0)
    bad = fire(client, rid, "open_internal_consultation", "2026-03-20", expect=422, body="court", name="x")
    assert bad["detail"][0]["field"] == "body"


# --- 法制审核 ---------------------------------------------------------------------------

def test_a_refusal_goes_out_only_after_the_legal_reviewer_signs_it_off_as_themselves(client, settings):
    rid = _reviewing(client)
    fire(client, rid, "decide", "2026-03-05", outcome="withheld_internal_affairs", reason="属于内部事务信息")
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查"})
    view = client.get(f"/api/v1/requests/{rid}").json()
    assert view["signoffs_required"] == ["legal_signoff"]
    unsigned = fire(client, rid, "send_reply", "2026-03-06", expect=422)
    assert "legal_signoff" in unsigned["detail"][0]["rule"]
    settings.today_override = dt.date(2026, 3, 6)
    staff = client.post(f"/api/v1/requests/{rid}/events/legal_signoff",
                        json={"on": "2026-03-06", "conclusion": "approved"})
    assert staff.status_code == 403  # only a legal reviewer signs
    assert head_of_office(client).post(f"/api/v1/requests/{rid}/events/legal_signoff",
                                       json={"on": "2026-03-06", "conclusion": "approved"}).status_code == 403
    legal = legal_reviewer(client, "王律")
    vague = legal.post(f"/api/v1/requests/{rid}/events/legal_signoff",
                       json={"on": "2026-03-06", "conclusion": "returned"})
    assert vague.status_code == 422 and vague.json()["detail"][0]["field"] == "opinion"
    returned = legal.post(f"/api/v1/requests/{rid}/events/legal_signoff",
                          json={"on": "2026-03-06", "conclusion": "returned",
                                "opinion": "请补充说明属于第十六条哪一类内部事务"})
    assert returned.status_code == 200 and returned.json()["legal_signoff"] is None
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查，属于人事管理信息"})
    signed = legal.post(f"/api/v1/requests/{rid}/events/legal_signoff",
                        json={"on": "2026-03-06", "conclusion": "approved"})
    assert signed.json()["legal_signoff"] == {"signed_by": "王律", "on": "2026-03-06"}
    # A draft changed after the sign-off withdraws it: the reviewer signs the text that is sent.
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查，属于后勤管理信息"})
    assert client.get(f"/api/v1/requests/{rid}").json()["legal_signoff"] is None
    legal.post(f"/api/v1/requests/{rid}/events/legal_signoff", json={"on": "2026-03-06", "conclusion": "approved"})
    assert fire(client, rid, "send_reply", "2026-03-06")["state"] == "replied"
    events = client.get(f"/api/v1/requests/{rid}/history").json()["events"]
    signoffs = [(e["event"], e["actor"], e["data"].get("conclusion")) for e in events
                if e["event"].startswith("legal_signoff")]
    assert [s[0] for s in signoffs] == ["legal_signoff", "legal_signoff", "legal_signoff_withdrawn",
                                        "legal_signoff"]
    assert signoffs[0][2] == "returned" and signoffs[1][2] == "approved"


def test_an_agency_without_legal_sign_off_sends_refusals_directly(client, engine):
    set_agency(engine, "main", legal_signoff="")
    rid = _reviewing(client)
    fire(client, rid, "decide", "2026-03-05", outcome="withheld_internal_affairs", reason="属于内部事务信息")
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查"})
    assert client.get(f"/api/v1/requests/{rid}").json()["signoffs_required"] == []
    # A legal reviewer who looks anyway and returns it stops the reply until it is revised.
    returned = legal_signoff(client, rid, "2026-03-06", conclusion="returned", opinion="理由不充分")
    assert returned["legal_returned_on"] == "2026-03-06"
    held = fire(client, rid, "send_reply", "2026-03-06", expect=422)
    assert "returned" in held["detail"][0]["rule"]
    client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "经审查，属于人事管理信息"})
    assert client.get(f"/api/v1/requests/{rid}").json()["legal_returned_on"] is None
    assert fire(client, rid, "send_reply", "2026-03-06")["state"] == "replied"


# --- 重复申请, Art 44 ------------------------------------------------------------------

def test_the_same_applicants_earlier_similar_request_is_offered_as_a_repeat(client):
    first = new_request(client, received_on="2026-03-02", applicant=PERSON,
                        description="申请公开2025年本区老旧小区改造项目的资金使用明细")["id"]
    other_topic = new_request(client, received_on="2026-03-03", applicant=PERSON,
                              description="请公开东湖路12号地块的征收补偿方案")["id"]
    someone_else = new_request(client, received_on="2026-03-04",
                               applicant={**PERSON, "phone": "13700001111", "name": "赵强"},
                               description="申请公开2025年本区老旧小区改造项目的资金使用明细")["id"]
    again = new_request(client, received_on="2026-03-10", applicant=PERSON,
                        description="您好，申请公开：2025年本区老旧小区改造项目资金使用明细。谢谢！")
    similar = again["similar_requests"]
    assert [s["id"] for s in similar] == [first]
    assert similar[0]["url"] == f"/api/v1/requests/{first}" and similar[0]["similarity"] >= 0.65
    prompt = [p for p in again["prompts"] if p["kind"] == "possible_repeat"][0]
    assert "第三十六条第（六）项" in prompt["message"] and prompt["count"] == 1
    assert other_topic not in [s["id"] for s in similar] and someone_else not in [s["id"] for s in similar]
    other_year = new_request(client, received_on="2026-03-11", applicant=PERSON,
                             description="申请公开2024年本区老旧小区改造项目的资金使用明细")
    assert other_year["similar_requests"] == []  # another year is other information


def test_many_applicants_asking_alike_are_a_proactive_disclosure_candidate_until_recorded(client, engine):
    texts = ["申请公开2025年西湖区老旧小区改造项目的资金使用明细",
             "请公开西湖区2025年老旧小区改造项目资金使用明细",
             "本人申请获取2025年西湖区老旧小区改造项目的资金使用明细情况",
             "申请公开2025年西湖区老旧小区改造项目的资金使用明细及验收报告"]
    ids = [new_request(client, received_on=f"2026-03-0{i + 2}", description=text,
                       applicant={**PERSON, "name": f"申请人{i}", "phone": f"1390000000{i}"})["id"]
           for i, text in enumerate(texts)]
    unrelated = new_request(client, received_on="2026-03-06", description="请公开东湖路12号地块的征收补偿方案",
                            applicant={**PERSON, "name": "孙丽", "phone": "13600000000"})["id"]
    staff = client.get("/api/v1/supervision/disclosure-candidates")
    assert staff.status_code == 403
    head = head_of_office(client)
    found = head.get("/api/v1/supervision/disclosure-candidates").json()["items"]
    assert len(found) == 1
    cluster = found[0]
    assert set(cluster["request_ids"]) == set(ids) and unrelated not in cluster["request_ids"]
    assert (cluster["size"], cluster["applicants"], cluster["published_in"]) == (4, 4, [])
    too_few = head.get("/api/v1/supervision/disclosure-candidates?min_applicants=5").json()["items"]
    assert too_few == []
    future = head.post("/api/v1/supervision/proactive-disclosures", json={
        "agency": "main", "title": "2025年老旧小区改造资金使用情况", "published_on": "2027-01-05",
        "location": "区政府门户网站/财政资金", "request_ids": ids})
    assert future.status_code == 422 and future.json()["detail"][0]["field"] == "published_on"
    recorded = head.post("/api/v1/supervision/proactive-disclosures", json={
        "agency": "main", "title": "2025年老旧小区改造资金使用情况", "published_on": "2026-12-30",
        "location": "区政府门户网站/财政资金", "request_ids": ids})
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["request_ids"] == sorted(ids)
    assert head.get("/api/v1/supervision/disclosure-candidates").json()["items"] == []
    listed = head.get("/api/v1/supervision/proactive-disclosures").json()["items"]
    assert [d["title"] for d in listed] == ["2025年老旧小区改造资金使用情况"]
    history = client.get(f"/api/v1/requests/{ids[0]}/history").json()
    assert history["events"][-1]["event"] == "record_proactive_disclosure" and history["verified"]


# --- Art 35 ---------------------------------------------------------------------------

def test_more_requests_in_a_month_than_the_agencys_threshold_prompt_staff_to_ask_for_reasons(client, engine):
    set_agency(engine, "main", excess_threshold=3)
    new_request(client, received_on="2026-02-27", applicant=PERSON, description="二月的一件申请")
    views = [new_request(client, received_on=f"2026-03-0{d}", applicant=PERSON,
                         description=f"第{d}件：申请公开某街道{d}号文件") for d in range(2, 6)]
    assert [p["kind"] for p in views[2]["prompts"] if p["kind"] == "excessive_requests"] == []
    prompt = [p for p in views[3]["prompts"] if p["kind"] == "excessive_requests"][0]
    assert (prompt["count"], prompt["threshold"]) == (4, 3)  # February's does not count
    assert "2026年3月已向本机关提出4件" in prompt["message"] and "第三十五条" in prompt["message"]
    rid = views[3]["id"]
    fire(client, rid, "register", "2026-03-05")
    fire(client, rid, "review", "2026-03-05")
    asked = fire(client, rid, "ask_reasons", "2026-03-06", note="您本月已提出申请四件")
    assert [p for p in asked["prompts"] if p["kind"] == "excessive_requests"] == []  # asked already


# --- 信息处理费 (109号) -------------------------------------------------------------------

@pytest.mark.parametrize("n, price", [(1, 0), (10, 0), (11, 100), (30, 100), (31, 200), (40, 200),
                                      (41, 300), (55, 400)])
def test_per_item_prices_rise_by_band_in_a_calendar_month(n, price):
    assert item_price(n) == price


@pytest.mark.parametrize("pages, amount", [(30, 0), (31, 10), (100, 700), (101, 720), (200, 2700),
                                           (201, 2740), (250, 4700)])
def test_per_volume_is_progressive_band_by_band(pages, amount):
    assert per_volume(pages).amount_yuan == amount


def test_the_fee_notice_prints_the_computed_amount_and_its_basis(client):
    # Eleven requests of one applicant in March: the 11th costs 100 元, the 10th nothing.
    ids = [new_request(client, received_on=f"2026-03-{2 + day:02d}", applicant=PERSON,
                       description=f"申请公开编号{day}的文件")["id"] for day in range(11)]
    rid, tenth_id = ids[-1], ids[-2]
    fire(client, rid, "register", "2026-03-12")
    fire(client, rid, "review", "2026-03-12")
    both = fire(client, rid, "notify_fee", "2026-03-13", expect=422, method="per_item", pages=80,
                how_to_pay="银行转账")
    assert both["detail"][0]["field"] == "pages"  # one method, never both
    noticed = fire(client, rid, "notify_fee", "2026-03-13", method="per_item", how_to_pay="银行转账")
    assert noticed["fee"]["amount_yuan"] == 100
    assert (noticed["fee"]["method"], noticed["fee"]["units"]) == ("per_item", 11)
    html = _letter(client, rid, "fee_notice")
    assert "应缴金额：人民币100元" in html
    assert ("按件计收：本申请为您2026年3月向本机关提出的第11件政府信息公开申请；"
            "累计申请11件至30件（含30件）的部分，每件100元；本件100元") in html
    # The tenth of the month is free: no fee notice can go out for it.
    fire(client, tenth_id, "register", "2026-03-12")
    fire(client, tenth_id, "review", "2026-03-12")
    free = fire(client, tenth_id, "notify_fee", "2026-03-13", expect=422, method="per_item", how_to_pay="转账")
    assert free["detail"][0]["field"] == "method" and "no. 10" in free["detail"][0]["rule"]


def test_the_per_item_basis_names_the_band(client):
    assert per_item(35, "2026年3月").lines == (
        "按件计收：本申请为您2026年3月向本机关提出的第35件政府信息公开申请；30件以上的部分以10件为一档、"
        "每增加一档每件提高100元，第31件至第40件每件200元；本件200元",)
    assert per_volume(120).basis == (
        "按量计收：本申请所需信息共120页，30页以下（含30页）不收费，31页至100页每页10元，101页至200页每页20元，"
        "200页以上每页40元，分段累计；第1页至第30页共30页不收费；第31页至第100页共70页，每页10元，计700元；"
        "第101页至第120页共20页，每页20元，计400元；合计1100元")


def test_a_legal_reviewer_cannot_act_for_staff(client):
    rid = _reviewing(client)
    legal = _as(client, make_user(client.app.state.engine, "legal.only", "legal"))
    assert legal.post(f"/api/v1/requests/{rid}/events/decide",
                      json={"on": "2026-03-05", "outcome": "disclosed"}).status_code == 403
    # … but records a confidentiality review as themselves.
    assert legal.post(f"/api/v1/requests/{rid}/events/review_confidentiality",
                      json={"on": "2026-03-05", "conclusion": "disclosable", "basis": "不涉密"}).status_code == 200


def test_two_strangers_of_one_name_are_never_one_applicant(client):
    """A fee or a monthly count never rests on another person's requests."""
    for i in range(11):
        new_request(client, received_on=f"2026-03-{2 + i:02d}", description=f"申请公开编号{i}的文件",
                    applicant={"name": "张伟", "kind": "natural_person", "address": "西湖区文一路1号"})
    other = new_request(client, received_on="2026-03-20", description="申请公开编号99的文件",
                        applicant={"name": "张伟", "kind": "natural_person", "address": "滨江区江南大道9号"})
    rid = other["id"]
    fire(client, rid, "register", "2026-03-20")
    fire(client, rid, "review", "2026-03-20")
    free = fire(client, rid, "notify_fee", "2026-03-23", expect=422, method="per_item", how_to_pay="转账")
    assert "no. 1 " in free["detail"][0]["rule"]  # his first, not the other 张伟's twelfth
    nameless = new_request(client, received_on="2026-03-20", description="申请公开编号98的文件",
                           applicant={"name": "张伟", "kind": "natural_person"})["id"]
    fire(client, nameless, "register", "2026-03-20")
    fire(client, nameless, "review", "2026-03-20")
    unknown = fire(client, nameless, "notify_fee", "2026-03-23", expect=422, method="per_item",
                   how_to_pay="转账")
    assert unknown["detail"][0]["field"] == "method" and "per_volume" in unknown["detail"][0]["rule"]


def test_a_partial_disclosure_cites_a_ground_the_review_marked(client):
    rid = _reviewing(client)
    review(client, rid, "2026-03-05", "partly_disclosable",
           redactions=[{"part": "会议纪要", "ground": "withheld_process_information"}])
    wrong = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="partially_disclosed",
                 reason="x", withheld_ground="withheld_third_party_rights")
    assert wrong["detail"][0]["field"] == "withheld_ground"
    fire(client, rid, "decide", "2026-03-05", outcome="partially_disclosed", reason="属于过程性信息",
         withheld_ground="withheld_process_information")


def test_the_repeat_prompt_says_answered_only_of_a_reply_sent(client):
    first = new_request(client, received_on="2026-03-02", applicant=PERSON,
                        description="申请公开2025年本区老旧小区改造项目的资金使用明细")["id"]
    fire(client, first, "withdraw", "2026-03-03")
    again = new_request(client, received_on="2026-03-04", applicant=PERSON,
                        description="申请公开2025年本区老旧小区改造项目的资金使用明细")
    prompt = [p for p in again["prompts"] if p["kind"] == "possible_repeat"][0]
    assert "已有答复" not in prompt["message"] and "告知申请人不予重复处理" in prompt["message"]
    assert again["similar_requests"][0]["replied_on"] is None
