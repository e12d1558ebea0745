"""Every notice and decision letter drafts from a realistic request, says the right remedy, and an
agency-edited template cannot reach past the sandbox."""

from __future__ import annotations

import datetime as dt

import pytest

from replies.catalog import DECISIONS, all_specs
from replies.facts import build_facts
from replies.remedy import PRIOR_REVIEW_LAW
from replies.render import TemplateProblem, render_html
from states.codes import OUTCOMES
from states.models import Consultation, Decision, Request
from tests.conftest import AGENCY

PARTS = {
    "findings": "本机关在档案室和业务系统中进行了检索",
    "reasons": "所涉内容为施工单位的报价明细，属于商业秘密",
    "withheld_parts": "施工单位的报价明细",
    "provision": "现将相关信息以电子邮件方式随本答复书提供",
    "where_public": "西湖区人民政府门户网站“政府信息公开”栏目",
    "public_interest_reason": "该项目资金涉及全区居民的切身利益",
    "attachments": ["2025年老旧小区改造资金使用情况表"],
    "items": ["请明确所需信息的年份", "请提供身份证明复印件"],
    "note": "您于本年度已提出同类申请四十二件",
    "reason": "所需信息涉及多个部门，需要征求其他机关意见",
    "basis": "按件计收，第十一件至第三十件每件收费100元",
    "how_to_pay": "通过银行转账缴纳至西湖区财政局非税收入账户",
    "where_to_apply": "杭州市不动产登记中心",
    "disclosed": "该公司的中标金额",
}


def _request() -> Request:
    return Request(
        id=7, number="2026-000123", state="decided", applicant_kind="natural_person",
        applicant_name="李明", channel="post", received_on=dt.date(2026, 3, 2),
        description="2025年本区老旧小区改造项目的资金使用明细", requested_form="电子邮件",
        supplement_requested_on=dt.date(2026, 3, 5), supplement_items="\n".join(PARTS["items"]),
        supplement_deadline=dt.date(2026, 3, 26), supplement_received_on=dt.date(2026, 3, 10),
        reasons_requested_on=dt.date(2026, 3, 12), extension_days=15,
        extension_approved_by="陈静", fee_notified_on=dt.date(2026, 3, 13), fee_amount_yuan=200,
        due_on=dt.date(2026, 4, 28), last_event_on=dt.date(2026, 3, 25),
        created_at=dt.datetime(2026, 3, 2, 9, 0))


def _facts(spec, outcome: str = "disclosed", correction: str | None = None) -> dict:
    decision = Decision(request_id=7, outcome=outcome, reason="所涉内容属于商业秘密",
                        responsible_agency="杭州市西湖区住房和城乡建设局",
                        responsible_agency_contact="杭州市西湖区文二路2号，电话0571-87111111",
                        withheld_ground="withheld_third_party_rights", correction=correction,
                        decided_on=dt.date(2026, 3, 24), decided_by="staff:wang")
    consultation = Consultation(id=3, request_id=7, party="third_party", name="某建筑有限公司",
                                sent_on=dt.date(2026, 3, 16), lapses_on=dt.date(2026, 4, 7),
                                opinion="objection")
    recipient = "某建筑有限公司" if spec.audience != "applicant" else "李明"
    return build_facts(spec=spec, row=_request(), agency=AGENCY, issued_on=dt.date(2026, 3, 25),
                       parts=PARTS, recipient=recipient, doc_seq=123, decision=decision,
                       consultation=consultation, fee_pay_by=dt.date(2026, 4, 10))


def _outcome_of(spec) -> tuple[str, str | None]:
    kind, _, code = spec.kind.partition(":")
    if kind == "decision":
        return code, None
    if kind == "correction":
        return "other", code
    return "disclosed", None


@pytest.mark.parametrize("spec", all_specs(), ids=lambda s: s.kind)
def test_every_letter_renders_for_a_realistic_request_with_everything_in_place(spec):
    outcome, correction = _outcome_of(spec)
    html = render_html(spec.template, _facts(spec, outcome, correction)).html
    assert html.startswith("<!DOCTYPE html>")
    for text in (spec.title, "西政办政信", "〔2026〕123号", "杭州市西湖区人民政府办公室",
                 "2026年3月25日", "联系电话：0571-87000000"):
        assert text in html, text
    assert ("某建筑有限公司：" if spec.audience != "applicant" else "李明：") in html
    for part in spec.parts:
        values = PARTS[part] if isinstance(PARTS[part], list) else [PARTS[part]]
        assert all(v in html for v in values), part
    assert "None" not in html and "{{" not in html and "根据的规定" not in html
    if spec.audience == "applicant" and spec.kind != "acknowledgement":
        # the receipt sentence carries the 补正 dates, since the period ran afresh from them
        what = "政府信息更正申请" if spec.kind.startswith("correction:") else "政府信息公开申请"
        assert f"本机关于2026年3月2日收到您提出的{what}" in html
        assert ("更正申请" in html) == spec.kind.startswith("correction:")
        assert "于2026年3月5日向您发出补正告知，并于2026年3月10日收到您的补正材料" in html


def test_there_is_a_decision_letter_for_every_outcome_code_and_three_correction_replies():
    kinds = {s.kind for s in all_specs()}
    assert {f"decision:{o}" for o in OUTCOMES} <= kinds
    assert {"correction:corrected", "correction:transferred", "correction:not_verified"} <= kinds
    assert {"acknowledgement", "supplement_notice", "reasons_notice", "extension_notice",
            "consultation_third_party", "consultation_agency", "public_interest_notice",
            "fee_notice"} <= kinds
    assert DECISIONS["other_no_supplement"].title == "视为放弃政府信息公开申请告知书"


@pytest.mark.parametrize("outcome", list(OUTCOMES))
def test_refusals_must_go_to_review_first_and_no_other_decision_says_so(outcome):
    spec = DECISIONS[outcome]
    html = render_html(spec.template, _facts(spec, outcome)).html
    assert "杭州市西湖区人民政府申请行政复议" in html
    if OUTCOMES[outcome].refusal:
        assert f"根据{PRIOR_REVIEW_LAW}的规定，应当先自收到本答复书之日起六十日内" in html
    else:
        assert PRIOR_REVIEW_LAW not in html
        assert "六个月内向杭州市西湖区人民法院提起行政诉讼" in html
    if outcome == "partially_disclosed":  # the disclosed part keeps the ordinary choice
        assert "对本答复书其他内容不服的，可以自收到本答复书之日起六十日内" in html


def test_notices_that_decide_nothing_carry_no_remedy_sentence():
    for spec in all_specs():
        if spec.remedy == "none":
            html = render_html(spec.template, _facts(spec)).html
            assert "行政复议" not in html and "行政诉讼" not in html, spec.kind


def test_a_staff_part_missing_from_the_facts_is_an_error_not_a_blank(tmp_path):
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "disclosed.html.j2").write_text(
        '{% extends "decisions/base.html.j2" %}{% block conclusion %}{{ parts.summary }}{% endblock %}')
    spec = DECISIONS["disclosed"]
    with pytest.raises(TemplateProblem, match="UndefinedError: 'dict object' has no attribute 'summary'"):
        render_html(spec.template, _facts(spec), tmp_path)


@pytest.mark.parametrize("source, error", [
    ("{{ ''.__class__.__mro__ }}", "SecurityError"),
    ("{{ cycler.__init__.__globals__ }}", "SecurityError"),
    ("{{ request.update({'number': 'forged'}) }}", "SecurityError"),
    ('{% include "/etc/passwd" %}', "TemplateNotFound"),
    ('{% include "../../../../etc/passwd" %}', "TemplateNotFound"),
])
def test_an_agency_template_cannot_reach_python_objects_or_files(tmp_path, source, error):
    (tmp_path / "decisions").mkdir()
    (tmp_path / "decisions" / "disclosed.html.j2").write_text(source)
    spec = DECISIONS["disclosed"]
    with pytest.raises(TemplateProblem, match=error) as refused:
        render_html(spec.template, _facts(spec), tmp_path)
    assert refused.value.field == "template"


def test_an_agency_override_replaces_one_template_and_changes_its_version(tmp_path):
    spec = DECISIONS["disclosed"]
    builtin = render_html(spec.template, _facts(spec))
    (tmp_path / "layout.html.j2").write_text(
        (render_html.__globals__["BUILTIN"] / "layout.html.j2").read_text()
        .replace('<p class="signature">', '<p class="seal">（印章）</p>\n<p class="signature">'))
    agency = render_html(spec.template, _facts(spec), tmp_path)
    assert "（印章）" in agency.html and "（印章）" not in builtin.html
    assert agency.template == builtin.template == "decisions/disclosed.html.j2"
    assert agency.template_version != builtin.template_version
    other = DECISIONS["unavailable_not_held"]
    assert "（印章）" in render_html(other.template, _facts(other, "unavailable_not_held"), tmp_path).html


def test_findings_that_open_with_their_own_lead_get_no_second_one():
    from replies.render import lead
    assert lead("经审查：该信息由本机关制作", "经审查") == "经审查：该信息由本机关制作"
    assert lead("经检索，未找到", "经审查") == "经检索，未找到"
    assert lead("经费使用明细由区财政局保存", "经审查") == "经审查，经费使用明细由区财政局保存"


def test_a_template_edited_added_or_removed_while_running_changes_the_next_letters_version(tmp_path):
    import os

    spec = DECISIONS["disclosed"]
    layout = render_html.__globals__["BUILTIN"] / "layout.html.j2"
    first = render_html(spec.template, _facts(spec), tmp_path)  # no override yet
    override = tmp_path / "layout.html.j2"
    override.write_text(layout.read_text().replace('<p class="signature">', '<p>甲</p><p class="signature">'))
    added = render_html(spec.template, _facts(spec), tmp_path)
    assert "甲" in added.html and added.template_version != first.template_version
    override.write_text(layout.read_text().replace('<p class="signature">', '<p>乙</p><p class="signature">'))
    os.utime(override, (override.stat().st_mtime + 5,) * 2)  # an edit within the same instant
    edited = render_html(spec.template, _facts(spec), tmp_path)
    assert "乙" in edited.html and edited.template_version not in (first.template_version,
                                                                    added.template_version)
    override.unlink()
    assert render_html(spec.template, _facts(spec), tmp_path).template_version == first.template_version
