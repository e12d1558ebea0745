"""Which letters exist: for each notice and each decision, its title, template, 文号 code,
addressee, remedy wording, and the parts staff must write (everything else is drafted from facts).
"""

from __future__ import annotations

from dataclasses import dataclass

from states.codes import CORRECTIONS, OUTCOMES

# What each staff-written part is, for error messages and the API's schema.
PARTS = {
    "findings": "经审查/经检索的情况",
    "reasons": "不予公开（或不予提供、不予处理）的理由",
    "withheld_parts": "不予公开的部分",
    "provision": "提供信息的方式和时间",
    "where_public": "已主动公开信息的获取方式和途径",
    "public_interest_reason": "不公开可能对公共利益造成重大影响的理由（第三十二条）",
    "where_to_apply": "办理查询的机关和途径（第三十六条第（七）项）",
    "provided_form": "本机关提供信息的形式（与申请人要求的形式不同时填写）",
    "form_reason": "未按申请人要求的形式提供的理由（第四十条）",
    "attachments": "附件清单",
    "disclosed": "决定公开的该第三方的信息（第三十二条）",
    # parts that come with the event that issues the notice
    "items": "需要补正的事项",
    "note": "说明",
    "reason": "理由",
    "basis": "收费依据和标准",
    "how_to_pay": "缴费方式",
}
DRAFT_PARTS = ("findings", "reasons", "withheld_parts", "provision", "where_public",
               "where_to_apply", "provided_form", "form_reason", "attachments")


@dataclass(frozen=True)
class LetterSpec:
    kind: str
    title: str
    template: str
    code: str                 # 文号 code: 登 补 理 延 征 函 告 费 答
    audience: str             # applicant / third_party / agency
    remedy: str               # none / ordinary / refusal / partial
    parts: tuple[str, ...] = ()
    # Dates the letter prints ("request.due_on" …): required ones must be known before it is
    # issued (no letter is frozen with a blank date); any on a provisional calendar year adds
    # the provisional-calendar sentence.
    dates: tuple[str, ...] = ()
    optional_dates: tuple[str, ...] = ()


def _notice(kind, title, code, audience="applicant", remedy="none", parts=(), dates=(),
            optional_dates=()):
    return LetterSpec(kind, title, f"notices/{kind}.html.j2", code, audience, remedy, tuple(parts),
                      tuple(dates), tuple(optional_dates))


# What each date a letter may print is, for error messages.
DATES = {
    "request.due_on": "答复期限",
    "extension.new_due_on": "延长后的答复期限",
    "reasons.deferred_to": "延迟答复的期限",
    "supplement.deadline": "补正期限",
    "fee.pay_by": "缴费期限",
    "consultation.reply_by": "提出意见的期限",
}


NOTICES: dict[str, LetterSpec] = {s.kind: s for s in [
    _notice("acknowledgement", "政府信息公开申请登记回执", "登", optional_dates=["request.due_on"]),
    _notice("supplement_notice", "政府信息公开申请补正告知书", "补", parts=["items"]),
    _notice("reasons_notice", "政府信息公开申请说明理由告知书", "理", parts=["note"]),
    _notice("extension_notice", "政府信息公开申请延期答复告知书", "延", parts=["reason"],
            dates=["extension.new_due_on"]),
    # Art 35: reasons accepted, but the reply needs longer than Art 33 allows (not an extension).
    _notice("deferral_notice", "政府信息公开申请延迟答复告知书", "迟", parts=["reason"],
            dates=["reasons.deferred_to"]),
    _notice("consultation_third_party", "政府信息公开征求第三方意见书", "征", audience="third_party",
            optional_dates=["consultation.reply_by"]),
    _notice("consultation_agency", "政府信息公开征求意见函", "函", audience="agency",
            optional_dates=["consultation.reply_by"]),
    _notice("public_interest_notice", "第三方政府信息公开决定告知书", "告", audience="third_party",
            remedy="ordinary", parts=["disclosed", "public_interest_reason"]),
    _notice("fee_notice", "政府信息公开信息处理费收费通知书", "费", parts=["basis", "how_to_pay"],
            optional_dates=["fee.pay_by"]),
]}
# 视为放弃申请告知书: the letter of the decisions other_no_supplement and other_fee_unpaid; both
# decision templates extend notices/abandonment_notice.html.j2.
ABANDONMENT_TITLE = "视为放弃政府信息公开申请告知书"

# Staff-written parts each decision needs; attachments are always optional.
_DECISION_PARTS = {
    "disclosed_already_public": ("findings", "where_public"),
    "disclosed": ("findings", "provision"),
    "partially_disclosed": ("findings", "provision", "withheld_parts", "reasons"),
    "withheld_administrative_query": ("findings", "reasons", "where_to_apply"),
    "other_no_supplement": (),
    "other_fee_unpaid": (),
}


def _decision_spec(outcome: str) -> LetterSpec:
    info = OUTCOMES[outcome]
    if outcome in ("other_no_supplement", "other_fee_unpaid"):
        title = ABANDONMENT_TITLE
    else:
        title = "政府信息公开申请答复书"
    remedy = "partial" if outcome == "partially_disclosed" else "refusal" if info.refusal else "ordinary"
    parts = _DECISION_PARTS.get(outcome, ("findings", "reasons") if info.refusal else ("findings",))
    dates = {"other_no_supplement": ("supplement.deadline",),
             "other_fee_unpaid": ("fee.pay_by",)}.get(outcome, ())
    return LetterSpec(f"decision:{outcome}", title, f"decisions/{outcome}.html.j2", "答",
                      "applicant", remedy, parts, dates)


DECISIONS: dict[str, LetterSpec] = {o: _decision_spec(o) for o in OUTCOMES}
CORRECTION_REPLIES: dict[str, LetterSpec] = {
    c: LetterSpec(f"correction:{c}", "政府信息更正申请答复书", f"decisions/correction_{c}.html.j2",
                  "答", "applicant", "ordinary", ("findings",))
    for c in CORRECTIONS
}


def decision_spec(outcome: str, correction: str | None = None) -> LetterSpec:
    return CORRECTION_REPLIES[correction] if correction else DECISIONS[outcome]


def all_specs() -> list[LetterSpec]:
    return [*NOTICES.values(), *DECISIONS.values(), *CORRECTION_REPLIES.values()]


# Which notice an event issues (the decision letter is issued by send_reply, see service).
NOTICE_OF_EVENT = {
    "register": "acknowledgement",
    "request_supplement": "supplement_notice",
    "ask_reasons": "reasons_notice",
    "approve_extension": "extension_notice",  # sent once the head has approved it
    "defer_reply": "deferral_notice",
    "notify_fee": "fee_notice",
}


def required_parts(spec: LetterSpec, parts: dict, requested_form: str | None) -> list[str]:
    """What sending this letter will demand, given what is drafted: the one list the draft view
    shows and `send_reply` checks. A form of provision other than the one asked for needs its
    Art 40 reason."""
    required = list(spec.parts)
    # Compared as the letter prints them (stripped of the trailing punctuation a sentence closes).
    provided, requested = as_printed(parts.get("provided_form")), as_printed(requested_form)
    if provided and requested and provided != requested and "provision" in spec.parts:
        required.append("form_reason")
    return required


# Staff text is set into sentences the template closes: trailing punctuation is dropped.
_TRAILING = "。.；;，, \n\t"


def as_printed(text: str | None) -> str:
    """Text as a letter prints it inside a sentence (stripped of closing punctuation)."""
    return (text or "").strip().rstrip(_TRAILING)
