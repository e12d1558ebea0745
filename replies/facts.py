"""The facts a letter is drafted from: plain strings and lists only, never ORM objects.

What reaches a template is JSON-serialisable, so it can be frozen with the letter and so an
agency-edited template (run in a sandbox) cannot reach Python objects behind it.
"""

from __future__ import annotations

import datetime as dt
import re

from core.config import Agency
from replies.catalog import DRAFT_PARTS, LetterSpec
from replies.remedy import remedy_sentence
from states.codes import OUTCOMES, Channel
from states.models import Consultation, Decision, Request

CHANNEL_LABELS = {Channel.in_person: "当面提交", Channel.post: "邮寄", Channel.online: "互联网",
                  Channel.fax: "传真", Channel.oral: "口头提出"}
_TRAILING = "。.；;，, \n\t"


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
            out[key] = (value or "").strip().rstrip(_TRAILING)
    for key, value in parts.items():
        if key not in out:
            out[key] = value.strip().rstrip(_TRAILING) if isinstance(value, str) else value
    return out


def doc_number(agency: Agency, spec: LetterSpec, row: Request) -> str:
    digits = re.findall(r"\d+", row.number)
    seq = int(digits[-1]) if digits else row.id
    return agency.doc_number_pattern.format(abbr=agency.abbr, code=spec.code,
                                            year=row.received_on.year, seq=seq, number=row.number)


def receipt_sentence(row: Request) -> str:
    """The receipt sentence, with the 补正 dates when there was one (Art 30: the period ran afresh)."""
    s = f"本机关于{cn_date(row.received_on)}收到您提出的政府信息公开申请"
    if row.supplement_received_on:
        s += (f"，于{cn_date(row.supplement_requested_on)}向您发出补正告知，"
              f"并于{cn_date(row.supplement_received_on)}收到您的补正材料")
    return s


def build_facts(*, spec: LetterSpec, row: Request, agency: Agency, issued_on: dt.date,
                parts: dict, recipient: str, decision: Decision | None = None,
                consultation: Consultation | None = None, matter: str | None = None,
                fee_pay_by: dt.date | None = None, fee_stops_clock: bool = True,
                supplement_period_days: int | None = None,
                provisional_years: list[int] | None = None) -> dict:
    """The letter's facts. Periods a recipient is given run from its receipt of the letter, so
    a notice states them in words; the computed last day appears only once the service date is
    recorded (`reply_by`, `pay_by` are then set)."""
    parts = clean_parts(parts)
    info = OUTCOMES.get(decision.outcome) if decision else None
    served = consultation is not None and consultation.served_on is not None
    return {
        "agency": {"name": agency.name, "letterhead": agency.letterhead or agency.name,
                   "address": agency.address, "postcode": agency.postcode, "phone": agency.phone,
                   "review_body": agency.review_body, "court": agency.court,
                   "signature": agency.signature or agency.name},
        "letter": {"kind": spec.kind, "title": spec.title, "doc_number": doc_number(agency, spec, row),
                   "date": cn_date(issued_on), "recipient": recipient},
        "request": {"number": row.number, "applicant_name": row.applicant_name,
                    "received_on": cn_date(row.received_on),
                    "channel": CHANNEL_LABELS.get(row.channel, row.channel),
                    "description": row.description.strip().rstrip(_TRAILING),
                    "requested_form": row.requested_form or "", "due_on": cn_date(row.due_on)},
        "receipt": receipt_sentence(row),
        "supplement": {"requested_on": cn_date(row.supplement_requested_on),
                       "items": [i for i in (row.supplement_items or "").split("\n") if i.strip()],
                       "period": cn_number(supplement_period_days) if supplement_period_days else "",
                       "served_on": cn_date(row.supplement_served_on),
                       "deadline": cn_date(row.supplement_deadline if row.supplement_served_on else None),
                       "received_on": cn_date(row.supplement_received_on)},
        "reasons_requested_on": cn_date(row.reasons_requested_on),
        "extension": {"days": row.extension_days, "approved_by": row.extension_approved_by or "",
                      "new_due_on": cn_date(row.due_on)},
        "fee": {"amount": row.fee_amount_yuan or 0, "notified_on": cn_date(row.fee_notified_on),
                "served_on": cn_date(row.fee_served_on),
                "pay_by": cn_date(fee_pay_by if row.fee_served_on else None),
                "stops_clock": fee_stops_clock},
        "consultation": {"name": consultation.name if consultation else "",
                         "sent_on": cn_date(consultation.sent_on) if consultation else "",
                         "served_on": cn_date(consultation.served_on) if served else "",
                         "reply_by": cn_date(consultation.lapses_on) if served else "",
                         "matter": (matter or row.description).strip().rstrip(_TRAILING)},
        "decision": {"outcome": decision.outcome if decision else "",
                     "label": info.label if info else "", "basis": info.basis if info else "",
                     "reason": (decision.reason or "").strip().rstrip(_TRAILING) if decision else "",
                     "responsible_agency": (decision.responsible_agency or "") if decision else "",
                     "decided_on": cn_date(decision.decided_on) if decision else ""},
        "parts": parts,
        "remedy": remedy_sentence(spec.remedy, agency, spec.title),
        "calendar": {"provisional_note": provisional_note(provisional_years or [])},
    }
