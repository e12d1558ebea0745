"""Letters a legal reviewer would sign, for a configured county bureau: each defect the review
found, through the API, asserting the words of the letter as issued."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from api.app import create_app
from core.config import Settings
from tests.conftest import (TODAY, authenticate, extend, fire, legal_signoff, letter_of, new_request,
                            review, serve)

ROOT = Path(__file__).resolve().parent.parent


def _text(client, rid, kind, nth=-1) -> str:
    letter = letter_of(client, rid, kind, nth)
    return client.get(f"/api/v1/requests/{rid}/letters/{letter['id']}.html").content.decode()


def _reviewing(client, received_on="2026-03-02", **extra) -> int:
    rid = new_request(client, received_on=received_on, **extra)["id"]
    fire(client, rid, "register", received_on)
    fire(client, rid, "review", received_on)
    return rid


def _reply(client, rid, on, **parts) -> str:
    r = client.put(f"/api/v1/requests/{rid}/letters/draft", json=parts)
    assert r.status_code == 200, r.text
    if "legal_signoff" in client.get(f"/api/v1/requests/{rid}").json()["signoffs_required"]:
        legal_signoff(client, rid, on)  # 法制审核 of the final text, as the agency requires
    fire(client, rid, "send_reply", on)
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    decision = [x for x in letters if x["kind"].startswith(("decision:", "correction:"))][-1]
    return client.get(f"/api/v1/requests/{rid}/letters/{decision['id']}.html").content.decode()


def test_art_35_excess_is_refused_only_after_reasons_were_asked_and_their_period_ran(client):
    rid = _reviewing(client)
    never = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="not_processed_excessive",
                 reason="一年内提出同类申请四十二件")
    assert never["detail"][0]["field"] == "outcome" and "ask_reasons" in never["detail"][0]["rule"]
    fire(client, rid, "ask_reasons", "2026-03-03", note="您本年度已提出同类申请四十二件")
    notice = _text(client, rid, "reasons_notice")
    assert "请您自收到本告知书之日起十五个工作日内，以书面形式" in notice
    unserved = fire(client, rid, "decide", "2026-04-30", expect=422, outcome="not_processed_excessive",
                    reason="未说明理由")
    assert "service date is not recorded" in unserved["detail"][0]["rule"]
    serve(client, rid, "reasons_notice", "2026-03-04", method="post", tracking_number="EMS3")
    # 15 working days from 4 March: 5–6, 9–13, 16–20, 23–25 March.
    early = fire(client, rid, "decide", "2026-03-25", expect=422, outcome="not_processed_excessive",
                 reason="未说明理由")
    assert early["detail"][0] == {"field": "on", "rule": "the applicant has until 2026-03-25 to give reasons"}
    fire(client, rid, "decide", "2026-03-26", outcome="not_processed_excessive",
         reason="您提出的申请明显超过合理范围")
    html = _reply(client, rid, "2026-03-27", findings="您本年度已提出同类申请四十二件")
    assert ("本机关于2026年3月3日向您发出说明理由告知书（2026年3月4日送达），请您自收到之日起十五个"
            "工作日内（即2026年3月25日前）说明理由，您逾期未说明理由。您提出的申请明显超过合理范围。") in html


def test_reasonable_reasons_defer_the_reply_to_a_later_date_not_an_extension(client):
    rid = _reviewing(client)
    fire(client, rid, "ask_reasons", "2026-03-03", note="您本年度已提出同类申请四十二件")
    fire(client, rid, "receive_reasons", "2026-03-10", reasonable=True, note="用于课题研究")
    refused = fire(client, rid, "decide", "2026-03-11", expect=422, outcome="not_processed_excessive",
                   reason="x")
    assert "found reasonable" in refused["detail"][0]["rule"]
    too_soon = fire(client, rid, "defer_reply", "2026-03-11", expect=422, reply_by="2026-03-20",
                    reason="需要调取大量档案")
    assert too_soon["detail"][0]["field"] == "reply_by"
    too_far = fire(client, rid, "defer_reply", "2026-03-11", expect=422, reply_by="9999-12-31",
                   reason="需要调取大量档案")
    assert too_far["detail"][0]["rule"] == "a reasonable later date is within a year of the deferral (Art 35)"
    r = fire(client, rid, "defer_reply", "2026-03-11", reply_by="2026-06-30", reason="需要调取大量档案")
    assert r["due_on"] == "2026-06-30"
    assert "依照条例第三十五条确定延迟答复期限至2026-06-30" in r["clock"]["explanation_zh"]
    deferral = _text(client, rid, "deferral_notice")
    assert "政府信息公开申请延迟答复告知书" in deferral
    assert "您于2026年3月10日说明了理由。经审查，您说明的理由合理，但需要调取大量档案" in deferral
    assert "本机关确定延迟答复的合理期限，将于2026年6月30日前作出答复" in deferral
    assert r["due_on_provisional"] is False and "暂定" not in deferral
    refused = extend(client, rid, "2026-03-12", expect=422, days=5, approved_by="陈静", reason="x")
    assert "Art 35" in refused["detail"][0]["rule"]


def test_the_art_32_notice_goes_only_to_the_overridden_third_party_and_names_only_its_part(client):
    rid = _reviewing(client)
    fire(client, rid, "open_consultation", "2026-03-03", party="third_party", name="甲建筑有限公司",
         matter="甲公司的报价明细")
    b = fire(client, rid, "open_consultation", "2026-03-03", party="third_party", name="乙监理有限公司",
             matter="乙公司的监理合同")
    ids = {c["name"]: c["id"] for c in b["consultations"]}
    fire(client, rid, "close_consultation", "2026-03-05", consultation_id=ids["甲建筑有限公司"],
         opinion="objection")
    fire(client, rid, "close_consultation", "2026-03-05", consultation_id=ids["乙监理有限公司"],
         opinion="objection")
    # Each consultation letter quotes its own matter, not the applicant's whole description.
    assert "申请公开“甲公司的报价明细”" in _text(client, rid, "consultation_third_party", 0)
    assert "申请公开“乙公司的监理合同”" in _text(client, rid, "consultation_third_party", 1)
    review(client, rid, "2026-03-10")
    silent = fire(client, rid, "decide", "2026-03-10", expect=422, outcome="disclosed")
    assert silent["detail"][0]["field"] == "overrides"  # an objection is never passed over silently
    # The review is revised (one review per request, each version in the chain): 乙's part is withheld.
    review(client, rid, "2026-03-10", "partly_disclosable",
           redactions=[{"part": "乙公司的监理合同", "ground": "withheld_third_party_rights"}])
    fire(client, rid, "decide", "2026-03-10", outcome="partially_disclosed",
         reason="乙公司的监理合同涉及商业秘密", withheld_ground="withheld_third_party_rights",
         overrides=[{"consultation_id": ids["甲建筑有限公司"], "disclosed": "甲公司的中标总价",
                     "reason": "该项目使用财政资金，涉及公众切身利益"}])
    draft = client.get(f"/api/v1/requests/{rid}/letters").json()["draft"]
    assert draft["letter"]["required_parts"] == ["findings", "provision", "withheld_parts", "reasons"]
    _reply(client, rid, "2026-03-11", findings="该信息由本机关制作", provision="现随本答复书提供",
           withheld_parts="乙公司的监理合同", attachments=["中标结果公告"])
    letters = client.get(f"/api/v1/requests/{rid}/letters").json()["letters"]
    notices = [x for x in letters if x["kind"] == "public_interest_notice"]
    assert [x["recipient"] for x in notices] == ["甲建筑有限公司"]
    notice = _text(client, rid, "public_interest_notice")
    assert "本机关于2026年3月3日就“甲公司的报价明细”的公开书面征求你方意见" in notice
    assert "决定公开的政府信息内容为：“甲公司的中标总价”" in notice
    assert "乙" not in notice and "中标结果公告" not in notice


def test_a_partial_disclosure_cites_the_withheld_ground_and_the_form_of_provision(client):
    rid = _reviewing(client, assignee="王芳")
    missing = fire(client, rid, "decide", "2026-03-10", expect=422, outcome="partially_disclosed",
                   reason="涉及个人隐私")
    assert missing["detail"][0]["field"] == "withheld_ground"
    query = fire(client, rid, "decide", "2026-03-10", expect=422, outcome="partially_disclosed",
                 reason="x", withheld_ground="withheld_administrative_query")
    assert query["detail"][0]["field"] == "withheld_ground"  # Art 36(7) withholds nothing
    unreviewed = fire(client, rid, "decide", "2026-03-10", expect=422, outcome="partially_disclosed",
                      reason="涉及个人隐私", withheld_ground="withheld_third_party_rights")
    assert unreviewed["detail"][0]["field"] == "outcome"  # 先审查后公开
    review(client, rid, "2026-03-10", "partly_disclosable",
           redactions=[{"part": "住户姓名和身份证号", "ground": "privacy"}])
    fire(client, rid, "decide", "2026-03-10", outcome="partially_disclosed", reason="涉及个人隐私",
         withheld_ground="withheld_third_party_rights")
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "经检索，该信息由本机关制作", "provision": "现随本答复书提供",
                     "withheld_parts": "住户姓名和身份证号", "provided_form": "纸质"})
    draft = client.get(f"/api/v1/requests/{rid}/letters").json()["draft"]
    assert draft["letter"]["required_parts"][-1] == "form_reason"
    refused = fire(client, rid, "send_reply", "2026-03-11", expect=422)
    assert refused["detail"][0]["field"] == "form_reason"
    html = _reply(client, rid, "2026-03-11", form_reason="电子文件涉及扫描大量档案，成本过高")
    assert "<p>经检索，该信息由本机关制作。" in html  # never "经审查，经检索，"
    assert ("其中，住户姓名和身份证号不予公开（涉及商业秘密、个人隐私等，公开会对第三方合法权益造成损害），"
            "理由如下：涉及个人隐私。"
            "根据《中华人民共和国政府信息公开条例》第十五条和第三十六条第（三）项的规定，该部分不予公开。"
            "经保密审查，以下内容不予公开或者作去标识化处理：1.住户姓名和身份证号（涉及个人隐私，作去标识化处理）。") in html
    assert ("您申请以“电子邮件”的形式获取政府信息。根据《中华人民共和国政府信息公开条例》第四十条的规定，"
            "本机关以“纸质”的形式提供，理由是：电子文件涉及扫描大量档案，成本过高。") in html
    assert "联系人：王芳；联系地址：杭州市西湖区文三路1号" in html


def test_not_this_agency_names_how_to_reach_the_responsible_one(client):
    rid = _reviewing(client)
    refused = fire(client, rid, "decide", "2026-03-05", expect=422, outcome="unavailable_not_this_agency",
                   responsible_agency="杭州市西湖区住房和城乡建设局")
    assert refused["detail"][0]["field"] == "responsible_agency_contact"
    fire(client, rid, "decide", "2026-03-05", outcome="unavailable_not_this_agency",
         responsible_agency="杭州市西湖区住房和城乡建设局",
         responsible_agency_contact="杭州市西湖区文二路2号，电话0571-87111111")
    html = _reply(client, rid, "2026-03-06", findings="该信息由区住建局制作并保存")
    assert ("告知您该政府信息由杭州市西湖区住房和城乡建设局负责公开，您可以向其提出申请，"
            "联系方式：杭州市西湖区文二路2号，电话0571-87111111。") in html


def test_refusal_and_not_held_letters_say_what_the_law_says(client):
    query = _reviewing(client)
    fire(client, query, "decide", "2026-03-05", outcome="withheld_administrative_query",
         reason="不动产登记资料的查询适用《不动产登记资料查询暂行办法》")
    html = _reply(client, query, "2026-03-06", findings="您申请的是某房屋的登记信息",
                  where_to_apply="杭州市不动产登记服务中心（杭州市西湖区文三路100号）")
    assert ("根据《中华人民共和国政府信息公开条例》第三十六条第（七）项的规定，本机关不予公开，告知您依照"
            "有关法律、行政法规的规定，向杭州市不动产登记服务中心（杭州市西湖区文三路100号）申请查询") in html
    assert "予以公开" not in html and "先自收到本答复书之日起六十日内" in html  # 复议前置
    held = _reviewing(client)
    fire(client, held, "decide", "2026-03-05", outcome="unavailable_not_held")
    html = _reply(client, held, "2026-03-06", findings="本机关在档案室和业务系统中进行了检索")
    assert ("经检索，本机关在档案室和业务系统中进行了检索，本机关未检索到您申请获取的政府信息。"
            "根据《中华人民共和国政府信息公开条例》第三十六条第（四）项的规定，告知您该政府信息不存在。") in html
    assert "未制作或者获取" not in html


def test_a_supplement_notice_is_worded_by_its_items(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03",
         items=[{"kind": "identity", "text": "请提供申请人身份证复印件"}])
    notice = _text(client, rid, "supplement_notice")
    assert ("经审查，您的申请未提供申请人的身份证明。根据《中华人民共和国政府信息公开条例》"
            "第二十九条第二款和第三十条的规定，请您对下列事项作出补正") in notice
    assert "不明确" not in notice
    # A multi-line item would print as several numbered items: one line an item.
    two = new_request(client, received_on="2026-03-02")["id"]
    fire(client, two, "register", "2026-03-02")
    split = fire(client, two, "request_supplement", "2026-03-03", expect=422,
                 items=["请提供：\n1）身份证复印件"])
    assert split["detail"][0]["field"] == "items" and "one line an item" in split["detail"][0]["rule"]
    other = new_request(client, received_on="2026-03-02")["id"]
    fire(client, other, "register", "2026-03-02")
    fire(client, other, "request_supplement", "2026-03-03", items=["请明确所需信息的年份"])
    assert "不明确。根据《中华人民共和国政府信息公开条例》第三十条的规定" in _text(client, other, "supplement_notice")


def test_every_document_has_its_own_number_in_its_issue_year(client):
    old = new_request(client, received_on="2025-12-30")["id"]
    fire(client, old, "register", "2025-12-30")
    fire(client, old, "review", "2025-12-30")
    fire(client, old, "open_consultation", "2025-12-31", party="third_party", name="甲公司")
    fire(client, old, "open_consultation", "2026-01-05", party="third_party", name="乙公司")
    letters = client.get(f"/api/v1/requests/{old}/letters").json()["letters"]
    assert [x["doc_number"] for x in letters] == [
        "西政办政信登〔2025〕1号", "西政办政信征〔2025〕1号", "西政办政信征〔2026〕1号"]
    new = _reviewing(client, received_on="2026-01-06")
    fire(client, new, "open_consultation", "2026-01-07", party="third_party", name="丙公司")
    assert letter_of(client, new, "consultation_third_party")["doc_number"] == "西政办政信征〔2026〕2号"
    assert letter_of(client, new, "acknowledgement")["doc_number"] == "西政办政信登〔2026〕1号"


def test_control_characters_never_reach_a_letter(client):
    body = {"applicant": {"name": "李明", "kind": "natural_person"}, "channel": "post",
            "received_on": "2026-03-02", "description": "资金明细\x00"}
    r = client.post("/api/v1/requests", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "description"
    rid = _reviewing(client)
    review(client, rid, "2026-03-05")
    fire(client, rid, "decide", "2026-03-05", outcome="disclosed")
    for hostile in ("a\x01b", "甲\u202e乙", "丙\u200b丁"):
        bad = client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": hostile})
        assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "findings"
    # A Word paste's vertical tab is a line break, not a character that breaks the DOCX.
    html = _reply(client, rid, "2026-03-06", findings="该信息由本机关制作\x0b共三页",
                  provision="现随本答复书提供")
    assert "该信息由本机关制作\n共三页" in html


def test_an_unconfigured_agency_issues_no_letters_unless_in_demo_mode(engine, tmp_path):
    plain = Settings(data_dir=tmp_path, today_override=TODAY)
    with TestClient(create_app(engine, plain)) as c:
        authenticate(c)
        rid = new_request(c)["id"]  # receiving sends no letter: intake is never refused
        r = c.post(f"/api/v1/requests/{rid}/events/register", json={"on": "2026-03-02"})
        assert r.status_code == 422
        assert r.json()["detail"][0]["field"] == "agency"
        assert "GONGKAI_AGENCY__NAME" in r.json()["detail"][0]["rule"]
        assert c.get(f"/api/v1/requests/{rid}").json()["state"] == "received"
    with TestClient(create_app(engine, plain.model_copy(update={"demo_mode": True}))) as c:
        authenticate(c)
        fire(c, rid, "register", "2026-03-02")
        assert "演示文书，不具法律效力" in _text(c, rid, "acknowledgement")
    checked = subprocess.run([sys.executable, "-m", "cli", "agency", "check"], cwd=ROOT,
                             env={"PATH": "/usr/bin:/bin", "GONGKAI_DATABASE_URL":
                                  engine.url.render_as_string(hide_password=False)},
                             capture_output=True, text=True)
    assert checked.returncode == 1 and "missing: name, abbr, address" in checked.stderr
    assert "GONGKAI_AGENCY__NAME" in checked.stderr
