"""Staff draft, preview and send letters over HTTP; what was sent is frozen, byte for byte."""

from __future__ import annotations

import hashlib
import io
import shutil
import subprocess
import sys

import pytest
from docx import Document
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.app import create_app
from core.db import session_scope
from replies.remedy import PRIOR_REVIEW_LAW
from replies.service import render_files
from tests.conftest import TODAY, authenticate, extend, fire, legal_signoff, new_request, review


def _letters(client, rid) -> dict:
    response = client.get(f"/api/v1/requests/{rid}/letters")
    assert response.status_code == 200, response.text
    return response.json()


def _download(client, rid, letter_id, fmt) -> tuple[bytes, str]:
    response = client.get(f"/api/v1/requests/{rid}/letters/{letter_id}.{fmt}")
    assert response.status_code == 200, response.text
    assert hashlib.sha256(response.content).hexdigest() == response.headers["x-content-sha256"]
    return response.content, response.headers["x-content-sha256"]


def _decided_refusal(client) -> int:
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "review", "2026-03-03")
    fire(client, rid, "decide", "2026-03-20", outcome="withheld_third_party_rights",
         reason="所涉内容为施工单位的报价明细，属于商业秘密，第三方不同意公开")
    return rid


def test_a_sent_decision_letter_is_frozen_and_its_bytes_never_change(client, engine, tmp_path):
    rid = _decided_refusal(client)
    listing = _letters(client, rid)
    assert [letter["kind"] for letter in listing["letters"]] == ["acknowledgement"]
    assert listing["draft"]["letter"]["required_parts"] == ["findings", "reasons"]

    missing = client.get(f"/api/v1/requests/{rid}/letters/draft/preview")
    assert missing.status_code == 422 and missing.json()["detail"][0]["field"] == "findings"
    saved = client.put(f"/api/v1/requests/{rid}/letters/draft",
                       json={"findings": "您申请的信息由本机关保存", "attachments": ["第三方意见书"]})
    assert saved.status_code == 200 and saved.json()["version"] == 1
    boiler = client.put(f"/api/v1/requests/{rid}/letters/draft", json={"remedy": "可以直接起诉"})
    assert boiler.status_code == 422 and boiler.json()["detail"][0]["field"] == "remedy"
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "您申请的信息由本机关在项目审批中获取并保存", "expected_version": 1})
    stale = client.put(f"/api/v1/requests/{rid}/letters/draft",
                       json={"findings": "x", "expected_version": 1})
    assert stale.status_code == 409
    preview = client.get(f"/api/v1/requests/{rid}/letters/draft/preview")
    assert preview.status_code == 200
    assert "您申请的信息由本机关在项目审批中获取并保存。" in preview.text
    assert f"根据{PRIOR_REVIEW_LAW}的规定，应当先" in preview.text
    assert "2026年12月31日" in preview.text  # previews are dated today

    unsigned = fire(client, rid, "send_reply", "2026-03-23", expect=422)
    assert "法制审核" in unsigned["detail"][0]["rule"]  # a refusal is signed off by legal first
    legal_signoff(client, rid, "2026-03-23")
    fire(client, rid, "send_reply", "2026-03-23")
    decision = _letters(client, rid)["letters"][-1]
    assert decision["kind"] == "decision:withheld_third_party_rights"
    assert decision["title"] == "政府信息公开申请答复书"
    assert decision["doc_number"] == "西政办政信答〔2026〕1号"
    assert decision["issued_on"] == "2026-03-23" and decision["pending_formats"] == ["docx", "pdf"]
    html, html_sha = _download(client, rid, decision["id"], "html")
    assert "2026年3月23日" in html.decode() and "第三方意见书" in html.decode()
    no_pdf = client.get(f"/api/v1/requests/{rid}/letters/{decision['id']}.pdf")
    assert no_pdf.status_code == 404 and no_pdf.json()["error"] == "not_rendered_yet"

    history = client.get(f"/api/v1/requests/{rid}/history").json()
    issued = history["events"][-1]
    assert (issued["event"], issued["data"]["letter_id"]) == ("issue_letter", decision["id"])
    assert issued["data"]["sha256"] == html_sha and issued["data"]["html"].encode() == html
    assert issued["data"]["template"] == "decisions/withheld_third_party_rights.html.j2"
    assert issued["data"]["template_version"] == decision["template_version"]

    with session_scope(engine) as session:  # what the outbox dispatcher does
        added = render_files(session, decision["id"], actor="system:dispatch_outbox", on=TODAY)
        session.commit()
    assert sorted(added) == ["docx", "pdf"]
    docx, docx_sha = _download(client, rid, decision["id"], "docx")
    pdf, pdf_sha = _download(client, rid, decision["id"], "pdf")
    assert docx[:2] == b"PK" and pdf[:5] == b"%PDF-"
    paragraphs = [p.text for p in Document(io.BytesIO(docx)).paragraphs]
    assert paragraphs[:4] == ["杭州市西湖区人民政府办公室", "政府信息公开申请答复书",
                              "西政办政信答〔2026〕1号", "李明："]
    assert paragraphs[-2:] == ["杭州市西湖区人民政府办公室", "2026年3月23日"]
    assert any(PRIOR_REVIEW_LAW in p for p in paragraphs)
    rendered = client.get(f"/api/v1/requests/{rid}/history").json()
    assert rendered["verified"] is True
    assert rendered["events"][-1]["data"]["files"] == {
        "docx": {"sha256": docx_sha, "size": len(docx)}, "pdf": {"sha256": pdf_sha, "size": len(pdf)}}
    assert rendered["events"][-1]["actor"] == "system:dispatch_outbox"

    # The PDF really renders: turn it into PNG pages and read its text back.
    pdf_path = tmp_path / "letter.pdf"
    pdf_path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(pdf_path), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 1 and all(p.stat().st_size > 5_000 for p in pages)
    words = subprocess.run(["pdftotext", str(pdf_path), "-"], check=True, capture_output=True,
                           text=True).stdout.replace("\n", "")
    assert "政府信息公开申请答复书" in words and "杭州市西湖区人民政府申请行政复议" in words

    # Frozen: no more drafting, no second rendering, and the database refuses rewrites.
    late = client.put(f"/api/v1/requests/{rid}/letters/draft", json={"findings": "改了"})
    assert late.status_code == 422 and late.json()["detail"][0]["field"] == "draft"
    with session_scope(engine) as session:
        assert render_files(session, decision["id"], actor="system:dispatch_outbox", on=TODAY) == {}
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("UPDATE letter_file SET content = :c WHERE format = 'html'"), {"c": b"x"})
    with pytest.raises(DBAPIError, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM letter WHERE id = :i"), {"i": decision["id"]})
    for fmt, sha in (("html", html_sha), ("docx", docx_sha), ("pdf", pdf_sha)):
        assert _download(client, rid, decision["id"], fmt)[1] == sha


def test_each_step_sends_its_own_notice_to_the_right_addressee(client):
    rid = new_request(client, received_on="2026-03-02")["id"]
    fire(client, rid, "register", "2026-03-02")
    fire(client, rid, "request_supplement", "2026-03-03", items=["请明确所需信息的年份", "请提供身份证明"])
    fire(client, rid, "receive_supplement", "2026-03-05")
    fire(client, rid, "ask_reasons", "2026-03-06", note="您本年度已提出同类申请四十二件")
    tp = fire(client, rid, "open_consultation", "2026-03-09", party="third_party", name="某建筑有限公司",
              matter="施工单位的报价明细")
    ag = fire(client, rid, "open_consultation", "2026-03-09", party="agency", name="西湖区财政局")
    ids = {c["party"]: c["id"] for c in ag["consultations"]}
    assert tp["consultations"][0]["id"] == ids["third_party"]
    fire(client, rid, "close_consultation", "2026-03-10", consultation_id=ids["agency"], opinion="consent")
    fire(client, rid, "close_consultation", "2026-03-12", consultation_id=ids["third_party"],
         opinion="objection")
    extend(client, rid, "2026-03-16", days=10, approved_by="陈静", reason="所需信息涉及多个部门")
    fire(client, rid, "notify_fee", "2026-03-17", method="per_volume", pages=50, how_to_pay="银行转账")
    fire(client, rid, "receive_fee", "2026-03-18")
    review(client, rid, "2026-03-19")
    # Art 32: overriding the objection is part of the decision, with what and why.
    refused = fire(client, rid, "decide", "2026-03-19", expect=422, outcome="disclosed",
                   overrides=[{"consultation_id": ids["agency"], "disclosed": "x", "reason": "y"}])
    assert refused["detail"][0]["field"] == "overrides"
    fire(client, rid, "decide", "2026-03-19", outcome="disclosed",
         overrides=[{"consultation_id": ids["third_party"], "disclosed": "该公司的中标金额",
                     "reason": "该项目资金涉及全区居民的切身利益"}])
    client.put(f"/api/v1/requests/{rid}/letters/draft",
               json={"findings": "该信息由本机关制作", "provision": "现随本答复书提供",
                     "attachments": ["资金使用情况表"]})
    fire(client, rid, "send_reply", "2026-03-20")

    letters = _letters(client, rid)["letters"]
    assert [(x["kind"], x["recipient"], x["issued_on"]) for x in letters] == [
        ("acknowledgement", "李明", "2026-03-02"),
        ("supplement_notice", "李明", "2026-03-03"),
        ("reasons_notice", "李明", "2026-03-06"),
        ("consultation_third_party", "某建筑有限公司", "2026-03-09"),
        ("consultation_agency", "西湖区财政局", "2026-03-09"),
        ("extension_notice", "李明", "2026-03-16"),
        ("fee_notice", "李明", "2026-03-17"),
        ("decision:disclosed", "李明", "2026-03-20"),
        ("public_interest_notice", "某建筑有限公司", "2026-03-20"),
    ]
    text_of = {x["kind"]: _download(client, rid, x["id"], "html")[0].decode() for x in letters}
    assert "1. 请明确所需信息的年份" in text_of["supplement_notice"]
    # Periods the recipient is given run from its receipt of the letter: stated in words.
    assert "请您自收到本告知书之日起十五个工作日内将补正后的申请提交本机关" in text_of["supplement_notice"]
    assert "申请公开“施工单位的报价明细”" in text_of["consultation_third_party"]
    assert "请你方自收到本意见书之日起十五个工作日内向本机关提出书面意见" in text_of["consultation_third_party"]
    assert "请贵机关自收到本函之日起十五个工作日内向本机关提出意见" in text_of["consultation_agency"]
    assert "请您自收到本通知书次日起二十个工作日内缴纳费用" in text_of["fee_notice"]
    assert "暂定" not in "".join(text_of.values())
    assert "逾期未提出意见的，视为同意公开" in text_of["consultation_agency"]
    assert "答复期限延长十个工作日" in text_of["extension_notice"]
    assert "应缴金额：人民币200元" in text_of["fee_notice"]
    assert "该项目资金涉及全区居民的切身利益" in text_of["public_interest_notice"]
    # It names only what of that company is disclosed, and carries none of the applicant's attachments.
    assert "决定公开的政府信息内容为：“该公司的中标金额”" in text_of["public_interest_notice"]
    assert "资金使用情况表" not in text_of["public_interest_notice"]
    assert "第三十二条" in text_of["public_interest_notice"]
    assert PRIOR_REVIEW_LAW not in text_of["decision:disclosed"]


def test_a_broken_agency_template_refuses_the_send_and_changes_nothing(engine, settings, tmp_path):
    templates = tmp_path / "agency-templates" / "decisions"
    templates.mkdir(parents=True)
    (templates / "disclosed.html.j2").write_text("{{ ''.__class__.__mro__ }}")
    app = create_app(engine, settings.model_copy(update={"templates_dir": templates.parent}))
    with TestClient(app, raise_server_exceptions=False) as client:
        authenticate(client)
        rid = new_request(client)["id"]
        fire(client, rid, "register", "2026-03-02")
        fire(client, rid, "review", "2026-03-02")
        review(client, rid, "2026-03-05")
        fire(client, rid, "decide", "2026-03-05", outcome="disclosed")
        client.put(f"/api/v1/requests/{rid}/letters/draft",
                   json={"findings": "该信息由本机关制作", "provision": "现随本答复书提供"})
        refused = fire(client, rid, "send_reply", "2026-03-06", expect=422)
        assert refused["detail"][0]["field"] == "template"
        assert "SecurityError" in refused["detail"][0]["rule"]
        assert client.get(f"/api/v1/requests/{rid}").json()["state"] == "decided"
        events = [e["event"] for e in client.get(f"/api/v1/requests/{rid}/history").json()["events"]]
        assert events[-1] == "decide"
        assert [x["kind"] for x in _letters(client, rid)["letters"]] == ["acknowledgement"]


def test_unknown_letters_and_formats_are_404s_that_say_what_is_missing(client):
    rid = new_request(client)["id"]
    fire(client, rid, "register", "2026-03-02")
    ack = _letters(client, rid)["letters"][0]
    assert client.get(f"/api/v1/requests/{rid}/letters/{ack['id']}.odt").json()["detail"] == [
        {"field": "format", "rule": "one of html, docx, pdf"}]
    assert client.get(f"/api/v1/requests/{rid}/letters/999.html").status_code == 404
    assert client.get("/api/v1/requests/999/letters").status_code == 404
    no_decision = client.get(f"/api/v1/requests/{rid}/letters/draft/preview")
    assert no_decision.status_code == 422 and no_decision.json()["detail"][0]["field"] == "outcome"
    pdf_preview = client.get(f"/api/v1/requests/{rid}/letters/draft/preview", params={"format": "pdf"})
    assert pdf_preview.status_code == 422


def test_pdftoppm_is_installed_by_the_project_setup():
    assert shutil.which("pdftoppm") and shutil.which("pdftotext")


def test_the_api_never_loads_prefect_so_it_can_never_wait_on_it():
    probe = subprocess.run([sys.executable, "-c", "import sys, api.app; print('prefect' in sys.modules, "
                            "'weasyprint' in sys.modules)"], capture_output=True, text=True, check=True)
    assert probe.stdout.split() == ["False", "False"]  # PDF rendering is the outbox's job too
