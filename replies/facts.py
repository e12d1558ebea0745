"""The facts a letter is drafted from: plain strings and lists only, never ORM objects.

What reaches a template is JSON-serialisable, so it can be frozen with the letter and so an
agency-edited template (run in a sandbox) cannot reach Python objects behind it.
"""

from __future__ import annotations

import datetime as dt

from core.config import Agency
from replies.catalog import DRAFT_PARTS, LetterSpec, as_printed
from replies.remedy import remedy_sentence
from states.codes import OUTCOMES, PRIVACY, WITHHELD_GROUNDS, Channel
from states.models import Consultation, Decision, Request

PRIVACY_LABEL = "涉及个人隐私，作去标识化处理"
CHANNEL_LABELS = {Channel.in_person: "当面提交", Channel.post: "邮寄", Channel.online: "互联网",
                  Channel.fax: "传真", Channel.oral: "口头提出"}


def cn_date(d: dt.date | None) -> str:
    """2026-03-02 → 2026年3月2日 (the way agencies date letters); None → ''."""
    return f"{d.year}年{d.month}月{d.day}日" if d else ""


_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """15 → 十五, 20 → 二十, 7 → 七: periods are written in words in letters (1–99)."""
    if n < 10:
        return _DIGITS[n]
    tens, ones = divmod(n, 10)
    return (("" if tens == 1 else _DIGITS[tens]) + "十" + (_DIGITS[ones] if ones else ""))


def provisional_note(years: list[int]) -> str:
    if not years:
        return ""
    named = "、".join(f"{y}年" for y in years)
    return (f"本文书所载日期涉及的{named}节假日安排国务院尚未公布，系按暂定工作日历（周一至周五，"
            "扣除法定节假日）计算；如与国务院公布的安排不一致，以据此重新计算的日期为准。")


def clean_parts(parts: dict) -> dict:
    """Staff text is set into sentences the template closes: strip trailing punctuation."""
    out: dict = {}
    for key in DRAFT_PARTS:
        value = parts.get(key)
        if key == "attachments":
            out[key] = [a.strip() for a in (value or []) if a and a.strip()]
        else:
            out[key] = as_printed(value)
    for key, value in parts.items():
        if key not in out:
            out[key] = as_printed(value) if isinstance(value, str) else value
    return out


def doc_number(agency: Agency, spec: LetterSpec, year: int, seq: int | None, number: str) -> str:
    """The 文号 from the letter register: one number per document, in the year it is issued.
    `seq` None (a preview): the number is given when the letter is sent."""
    if seq is None:
        return "（发文时编号）"
    return agency.doc_number_pattern.format(abbr=agency.abbr, code=spec.code, year=year, seq=seq,
                                            number=number)


# 补正 grounds (Art 29 ¶2, Art 30): what the notice says is wrong with the request.
SUPPLEMENT_GROUNDS = {
    "content": "所需政府信息的名称、文号或者便于查询的其他特征性描述不明确",
    "identity": "未提供申请人的身份证明",
    "contact": "未提供申请人的联系方式",
    "form": "未写明政府信息的形式要求或者获取信息的方式、途径",
    "other": "不符合《中华人民共和国政府信息公开条例》第二十九条第二款规定的申请内容要求",
}


def supplement_grounds(grounds: list[str]) -> tuple[str, str]:
    """(what is wrong, the articles relied on) for the 补正告知书, worded by item."""
    said = "；".join(SUPPLEMENT_GROUNDS[g] for g in grounds if g in SUPPLEMENT_GROUNDS)
    basis = "第三十条" if set(grounds) <= {"content"} else "第二十九条第二款和第三十条"
    return said, basis


def receipt_sentence(row: Request, correction: bool = False) -> str:
    """The receipt sentence, with the 补正 dates when there was one (Art 30: the period ran afresh)."""
    what = "政府信息更正申请" if correction else "政府信息公开申请"
    s = f"本机关于{cn_date(row.received_on)}收到您提出的{what}"
    if row.supplement_received_on:
        s += (f"，于{cn_date(row.supplement_requested_on)}向您发出补正告知，"
              f"并于{cn_date(row.supplement_received_on)}收到您的补正材料")
    return s


def build_facts(*, spec: LetterSpec, row: Request, agency: Agency, issued_on: dt.date,
                parts: dict, recipient: str, doc_seq: int | None, decision: Decision | None = None,
                redactions: list[dict] | None = None,
                consultation: Consultation | None = None,
                fee_pay_by: dt.date | None = None, fee_stops_clock: bool = True,
                supplement_period_days: int | None = None, reasons_deadline: dt.date | None = None,
                provisional_years: list[int] | None = None, demo: bool = False) -> dict:
    """The letter's facts. Periods a recipient is given run from its receipt of the letter, so
    a notice states them in words; the computed last day appears only once the service date is
    recorded (`reply_by`, `pay_by` are then set)."""
    parts = clean_parts(parts)
    info = OUTCOMES.get(decision.outcome) if decision else None
    ground = OUTCOMES.get(decision.withheld_ground) if decision and decision.withheld_ground else None
    served = consultation is not None and consultation.served_on is not None
    grounds = [g for g in (row.supplement_grounds or "").split(",") if g] or ["content"]
    grounds_said, grounds_basis = supplement_grounds(grounds)
    matter = (consultation.matter if consultation is not None and consultation.matter else
              row.description)
    return {
        "agency": {"name": agency.name, "letterhead": agency.letterhead or agency.name,
                   "address": agency.address, "postcode": agency.postcode, "phone": agency.phone,
                   "review_body": agency.review_body, "court": agency.court,
                   "signature": agency.signature or agency.name,
                   # 联系人: the request's assignee, else the agency's configured contact
                   "contact_person": row.assignee or agency.contact_person,
                   "demo": demo},
        "letter": {"kind": spec.kind, "title": spec.title,
                   "doc_number": doc_number(agency, spec, issued_on.year, doc_seq, row.number),
                   "date": cn_date(issued_on), "recipient": recipient},
        "request": {"number": row.number, "applicant_name": row.applicant_name,
                    "received_on": cn_date(row.received_on),
                    "channel": CHANNEL_LABELS.get(row.channel, row.channel),
                    "description": as_printed(row.description),
                    "requested_form": as_printed(row.requested_form),
                    "due_on": cn_date(row.due_on)},
        "receipt": receipt_sentence(row, correction=spec.kind.startswith("correction:")),
        "supplement": {"requested_on": cn_date(row.supplement_requested_on),
                       "items": [i for i in (row.supplement_items or "").split("\n") if i.strip()],
                       "grounds": grounds_said, "basis": grounds_basis,
                       "period": cn_number(supplement_period_days) if supplement_period_days else "",
                       "served_on": cn_date(row.supplement_served_on),
                       "deadline": cn_date(row.supplement_deadline if row.supplement_served_on else None),
                       "received_on": cn_date(row.supplement_received_on)},
        "reasons_requested_on": cn_date(row.reasons_requested_on),
        "reasons": {"requested_on": cn_date(row.reasons_requested_on),
                    "period": cn_number(row.reasons_period_days) if row.reasons_period_days else "",
                    "served_on": cn_date(row.reasons_served_on),
                    "deadline": cn_date(reasons_deadline if row.reasons_served_on else None),
                    "answered_on": cn_date(row.reasons_answered_on),
                    "reasonable": bool(row.reasons_reasonable),
                    "deferred_to": cn_date(row.deferred_to),
                    "deferral_reason": as_printed(row.deferral_reason)},
        "extension": {"days": row.extension_days,
                      "days_cn": cn_number(row.extension_days) if row.extension_days else "",
                      "approved_by": row.extension_approved_by or "",
                      "new_due_on": cn_date(row.due_on)},
        "fee": {"amount": row.fee_amount_yuan or 0, "notified_on": cn_date(row.fee_notified_on),
                "served_on": cn_date(row.fee_served_on),
                "pay_by": cn_date(fee_pay_by if row.fee_served_on else None),
                "stops_clock": fee_stops_clock},
        "consultation": {"name": consultation.name if consultation else "",
                         "sent_on": cn_date(consultation.sent_on) if consultation else "",
                         "served_on": cn_date(consultation.served_on) if served else "",
                         "reply_by": cn_date(consultation.lapses_on) if served else "",
                         "matter": as_printed(matter)},
        "decision": {"outcome": decision.outcome if decision else "",
                     "label": info.label if info else "", "basis": info.basis if info else "",
                     "reason": as_printed(decision.reason) if decision else "",
                     "responsible_agency": (decision.responsible_agency or "") if decision else "",
                     "responsible_agency_contact":
                         (decision.responsible_agency_contact or "") if decision else "",
                     "withheld_ground": decision.withheld_ground or "" if decision else "",
                     "withheld_label": WITHHELD_GROUNDS.get(ground.code, ground.label) if ground else "",
                     "withheld_basis": ground.basis if ground else "",
                     "decided_on": cn_date(decision.decided_on) if decision else ""},
        "parts": parts,
        # 保密审查: the parts withheld or de-identified, each with its ground, as the review marked them
        "review": {"redactions": [{"part": as_printed(r["part"]),
                                   "label": (PRIVACY_LABEL if r["ground"] == PRIVACY
                                             else WITHHELD_GROUNDS.get(r["ground"], ""))}
                                  for r in redactions or []]},
        "remedy": remedy_sentence(spec.remedy, agency, spec.title),
        "calendar": {"provisional_note": provisional_note(provisional_years or [])},
    }
