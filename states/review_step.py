"""The review step's records and rules (审核): 保密审查 before anything is disclosed, internal
consultations that leave the clock running, the legal reviewer's sign-off (法制审核) before the
replies an agency names, and fees computed under 109号.

The machine (states/machine.py) calls these from its guards and actions, inside the one door's
transaction; they read and write the tables of states/models.py.
"""

from __future__ import annotations

import json

from sqlmodel import select

from states.applicants import place_in_month
from states.codes import (CONFIDENTIALITY_LABELS, PRIVACY, REVIEWED_OUTCOMES, WITHHELD_GROUNDS,
                          Confidentiality, InternalBody)
from states.errors import RuleViolation
from states.fees import MAX_PAGES, METHODS, Fee, per_item, per_volume
from states.models import ConfidentialityReview, InternalConsultation



def _require(cond: bool, field: str, rule: str, zh: str | None = None) -> None:
    if not cond:
        raise RuleViolation(field, rule, zh)


def review_of(session, request_id: int) -> ConfidentialityReview | None:
    return session.exec(select(ConfidentialityReview)
                        .where(ConfidentialityReview.request_id == request_id)).first()


def redactions_of(review: ConfidentialityReview | None) -> list[dict]:
    return json.loads(review.redactions) if review and review.redactions else []


# --- 保密审查 ---------------------------------------------------------------------------

def check_confidentiality(ctx, data: dict) -> None:
    conclusion = data.get("conclusion")
    _require(conclusion in list(Confidentiality), "conclusion",
             "must be disclosable, partly_disclosable or not_disclosable",
             "应为可以公开、部分可以公开或不得公开")
    _require(bool((data.get("basis") or "").strip()), "basis",
             "state the basis of the review (审查依据: the 定密 status, the laws and the facts checked)",
             "请写明审查依据（定密情况、所依据的法律法规和核实的事实）")
    _require(bool((data.get("reviewed_by") or "").strip()), "reviewed_by", "who reviewed it",
             "应写明审查人")
    redactions = data.get("redactions") or []
    if conclusion == Confidentiality.partly_disclosable:
        _require(bool(redactions), "redactions", "a partial conclusion marks the parts withheld or "
                 "de-identified, each with its ground",
                 "部分可以公开的，应逐项写明不予公开或去标识化处理的内容及其理由")
    else:
        _require(not redactions, "redactions", f"only a partly_disclosable review marks parts; this "
                 f"one concludes {conclusion}",
                 "只有结论为部分可以公开的审查才列明不予公开的内容")
    for i, item in enumerate(redactions):
        _require(isinstance(item, dict) and bool((item.get("part") or "").strip()),
                 f"redactions.{i}.part", "name the part (what is withheld or de-identified)",
                 f"第{i + 1}项：请写明不予公开或去标识化的内容")
        _require(item.get("ground") in (*WITHHELD_GROUNDS, PRIVACY), f"redactions.{i}.ground",
                 f"one of {', '.join(WITHHELD_GROUNDS)} or {PRIVACY} (去标识化)",
                 f"第{i + 1}项：理由应为不予公开的法定理由之一或个人隐私（去标识化）")


def record_confidentiality(ctx, data: dict) -> None:
    review = review_of(ctx.session, ctx.row.id)
    if review is not None:
        ctx.recorded["previous"] = {"conclusion": review.conclusion, "reviewer": review.reviewer,
                                    "reviewed_on": review.reviewed_on}
    review = review or ConfidentialityReview(request_id=ctx.row.id, reviewed_on=ctx.on,
                                             reviewer="", conclusion="", basis="")
    review.reviewed_on, review.reviewer = ctx.on, data["reviewed_by"].strip()
    review.conclusion, review.basis = data["conclusion"], data["basis"].strip()
    parts = [{"part": r["part"].strip(), "ground": r["ground"]} for r in data.get("redactions") or []]
    review.redactions = json.dumps(parts, ensure_ascii=False) if parts else None
    ctx.session.add(review)


def check_withheld_ground(ctx, ground: str | None) -> None:
    """A partial disclosure cites the ground of a part the review marked (a privacy part is
    withheld under Art 15, the third party's rights), so the letter's article is the right one."""
    grounds = {("withheld_third_party_rights" if r["ground"] == PRIVACY else r["ground"])
               for r in redactions_of(review_of(ctx.session, ctx.row.id))}
    _require(not grounds or ground in grounds, "withheld_ground",
             f"the confidentiality review withholds parts on {', '.join(sorted(grounds))}: cite one "
             "of those (or review again)",
             "保密审查认定的不予公开理由与所选理由不一致：请选择审查认定的理由（或重新审查）")


def check_reviewed(ctx, outcome: str, field: str = "outcome") -> None:
    """A disclosure (全部 or 部分) needs a recorded review that allows it (先审查后公开)."""
    needed = REVIEWED_OUTCOMES.get(outcome)
    if needed is None:
        return
    review = review_of(ctx.session, ctx.row.id)
    _require(review is not None, field, f"'{outcome}' discloses information: record the "
             "confidentiality review first (保密审查, review_confidentiality: 先审查后公开)",
             "公开信息前须先进行保密审查（先审查后公开）")
    _require(review.conclusion == needed, field,
             f"the confidentiality review of {review.reviewed_on} concluded "
             f"{CONFIDENTIALITY_LABELS[Confidentiality(review.conclusion)]} ({review.conclusion}); "
             f"'{outcome}' needs {needed}: review again or decide otherwise",
             f"{review.reviewed_on}的保密审查结论为“{CONFIDENTIALITY_LABELS[Confidentiality(review.conclusion)]}”，"
             f"与所作决定不符：请重新审查或改变决定")


# --- 内部会商 --------------------------------------------------------------------------

def internal_consultations_of(session, request_id: int) -> list[InternalConsultation]:
    return list(session.exec(select(InternalConsultation)
                             .where(InternalConsultation.request_id == request_id)
                             .order_by(InternalConsultation.id)).all())


def check_open_internal(ctx, data: dict) -> None:
    _require(data.get("body") in list(InternalBody), "body",
             "must be legal_adviser (法律顾问), justice_bureau (司法局), joint_meeting (联席会议) or other",
             "应为法律顾问、司法局、联席会议或其他内部会商")
    _require(bool((data.get("name") or "").strip()), "name", "name whom you consult",
             "请填写会商对象")


def record_open_internal(ctx, data: dict) -> None:
    c = InternalConsultation(request_id=ctx.row.id, body=data["body"], name=data["name"].strip(),
                             matter=(data.get("matter") or "").strip() or None, sent_on=ctx.on)
    ctx.session.add(c)
    ctx.session.flush()
    ctx.recorded["internal_consultation_id"] = c.id


def _open_internal(ctx, data: dict) -> InternalConsultation:
    cid = data.get("internal_consultation_id")
    c = ctx.session.get(InternalConsultation, cid) if isinstance(cid, int) else None
    if c is None or c.request_id != ctx.row.id or c.closed_on is not None:
        raise RuleViolation("internal_consultation_id",
                            f"{cid} is not an open internal consultation of this request",
                            f"{cid}不是本申请尚未结束的内部会商")
    return c


def check_close_internal(ctx, data: dict) -> None:
    c = _open_internal(ctx, data)
    _require(ctx.on >= c.sent_on, "on", f"cannot close before it was asked on {c.sent_on}",
             f"不能早于会商发起之日{c.sent_on}")
    _require(bool((data.get("opinion") or "").strip()), "opinion", "record the opinion given",
             "请填写会商意见")


def record_close_internal(ctx, data: dict) -> None:
    c = _open_internal(ctx, data)
    c.closed_on, c.opinion = ctx.on, data["opinion"].strip()
    ctx.session.add(c)


# --- 法制审核 -------------------------------------------------------------------------

def check_legal_signoff(ctx, data: dict) -> None:
    _require(data.get("conclusion") in ("approved", "returned"), "conclusion",
             "approved (同意) or returned (退回修改)", "应为审核通过或退回修改")
    _require(bool((data.get("signed_by") or "").strip()), "signed_by", "the legal reviewer",
             "应写明法制审核人员")
    if data["conclusion"] == "returned":
        _require(bool((data.get("opinion") or "").strip()), "opinion",
                 "say what must change (法制审核意见)", "退回修改的，请写明法制审核意见")
    _require(ctx.row.legal_signed_by is None, "event",
             f"the reply was signed off by {ctx.row.legal_signed_by} on {ctx.row.legal_signed_on}",
             f"答复已由{ctx.row.legal_signed_by}于{ctx.row.legal_signed_on}审核通过")


def record_legal_signoff(ctx, data: dict) -> None:
    if data["conclusion"] == "approved":
        ctx.row.legal_signed_by, ctx.row.legal_signed_on = data["signed_by"].strip(), ctx.on
        ctx.row.legal_returned_on = None
    else:  # returned: nothing goes out until the decision, review or draft is revised
        ctx.row.legal_returned_on = ctx.on


def withdraw_signoffs(ctx, why: str) -> None:
    """A decision, review or draft changed after a sign-off: the signed text is not the one that
    would be sent, so each sign-off is withdrawn and recorded."""
    row = ctx.row
    if row.reply_approved_by:
        ctx.recorded["reply_approval_withdrawn"] = {"by": row.reply_approved_by,
                                                    "on": row.reply_approved_on, "why": why}
        row.reply_approved_by = row.reply_approved_on = None
    if row.legal_signed_by:
        ctx.recorded["legal_signoff_withdrawn"] = {"by": row.legal_signed_by,
                                                   "on": row.legal_signed_on, "why": why}
        row.legal_signed_by = row.legal_signed_on = None
    row.legal_returned_on = None  # revised: the reviewer looks again (if the agency asks it)


# --- 信息处理费 -----------------------------------------------------------------------

def compute_fee(ctx, data: dict) -> Fee:
    method, pages = data.get("method"), data.get("pages")
    _require(method in METHODS, "method", "per_item (按件计收) or per_volume (按量计收), one of "
             "the two, never both (国办函〔2020〕109号)",
             "应为按件计收或按量计收，二者只能选其一（国办函〔2020〕109号）")
    if method == "per_item":
        _require(ctx.row.applicant_key is not None, "method",
                 "per_item counts the applicant's requests in the month, but this applicant gave no "
                 "ID number, telephone, e-mail or address to tell them from others of the same name: "
                 "charge per_volume, or record a contact first",
                 "按件计收须统计申请人当月的申请件数，但该申请人未登记身份证件号码、电话、电子邮箱或地址，"
                 "无法与同名者区分：请按量计收，或先登记联系方式")
    if method == "per_volume":
        _require(isinstance(pages, int) and not isinstance(pages, bool) and 1 <= pages <= MAX_PAGES,
                 "pages", f"the pages of the information, 1 to {MAX_PAGES:,}",
                 f"请填写信息的页数（1至{MAX_PAGES}页）")
        fee = per_volume(pages)
        _require(fee.amount_yuan > 0, "pages", f"{pages} pages: the first 30 pages of a request "
                 "are free (109号), so no fee is due",
                 f"共{pages}页：每件申请30页以下免费（109号文），无需收费")
        return fee
    _require(pages is None, "pages", "per_item counts requests, not pages: leave pages out",
             "按件计收不按页数计算：请不填页数")
    row = ctx.row
    n = place_in_month(ctx.session, row)
    fee = per_item(n, f"{row.received_on.year}年{row.received_on.month}月")
    _require(fee.amount_yuan > 0, "method", f"this is the applicant's request no. {n} to this "
             f"agency in {row.received_on:%Y-%m}: the first 10 of a calendar month are free "
             "(109号), so no fee is due",
             f"这是该申请人{row.received_on:%Y年%m月}向本机关提出的第{n}件申请：每月前10件免费（109号文），无需收费")
    return fee
