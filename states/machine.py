"""The request's state machine (python-statemachine 3): which event may happen when, the law's
guards, and the facts each event records.

Validators raise `RuleViolation` naming the field and the rule; the `before_<event>` actions record
the event's facts in the ledger (`ctx`); the state groups every room uses are defined at the
bottom. The machine is built on the locked row inside `advance()` only.
"""

from __future__ import annotations

import datetime as dt
import operator
from functools import reduce

from statemachine import State, StateChart

from states.clock import MAX_EXTENSION_DAYS
from states.codes import CORRECTIONS, OUTCOMES, ConsultationParty, Opinion
from states.errors import RuleViolation


def _date(value):
    """Event data arrives as JSON: a date may be an ISO string."""
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return value


def _record_decision(ctx, outcome: str, reason: str | None, data: dict) -> None:
    """The request's one decision row, created or revised (decide again while decided)."""
    import json

    from sqlmodel import select

    from states.models import Decision  # the tables name the machine's states

    row = ctx.row
    decision = ctx.session.exec(select(Decision).where(Decision.request_id == row.id)).first()
    decision = decision or Decision(request_id=row.id, outcome=outcome, decided_on=ctx.on,
                                    decided_by=ctx.actor)
    decision.outcome, decision.reason, decision.decided_on = outcome, reason, ctx.on
    decision.decided_by = ctx.actor
    decision.responsible_agency = data.get("responsible_agency")
    decision.responsible_agency_contact = data.get("responsible_agency_contact")
    decision.withheld_ground = data.get("withheld_ground")
    decision.overrides = (json.dumps(data["overrides"], ensure_ascii=False, sort_keys=True)
                          if data.get("overrides") else None)
    decision.correction = data.get("correction")
    ctx.session.add(decision)
    row.decided_on, row.outcome = decision.decided_on, decision.outcome  # for the annual report


def _drop_pending_extension(ctx, why: str | None) -> None:
    """Clear an extension asked and not approved; `why`: record it in the event (lapsed, moot…)."""
    row = ctx.row
    if row.extension_requested_days is None:
        return
    if why:
        ctx.recorded[why] = {"days": row.extension_requested_days,
                             "requested_by": row.extension_requested_by,
                             "requested_on": row.extension_requested_on}
    row.extension_requested_days = row.extension_requested_by = None
    row.extension_requested_on = row.extension_request_reason = None


def _given_today(ctx) -> None:
    """An approval is dated the day the head gives it: a date in the past would let an extension
    be approved after the period ran out, or a sign-off predate the text it signs."""
    today = ctx.settings.today()
    _require(ctx.on == today, "on", f"an approval is dated the day it is given ({today})",
             f"审批日期应为审批当日（{today}）")


def _require(cond: bool, field: str, rule: str, zh: str | None = None) -> None:
    if not cond:
        raise RuleViolation(field, rule, zh)


class _ReviewStep:
    """states.review_step, imported on first use: it reads the tables, whose module imports this
    one for the state names."""
    def __getattr__(self, name):
        from states import review_step as module
        return getattr(module, name)


review_step = _ReviewStep()


def _stays(validator: str, *states: State):
    """An event that leaves the request in whichever of `states` it is in, checked by `validator`."""
    return reduce(operator.or_, (s.to.itself(internal=True, validators=validator) for s in states))


class RequestMachine(StateChart):
    """依申请公开 workflow: 接收 → 登记 → 审核 → 办理/征求意见 → 答复 → 归档."""

    allow_event_without_transition = False  # an event that moves nothing is an error
    catch_errors_as_events = False          # a failing guard or action must raise, not be swallowed

    received = State("接收", initial=True)
    registered = State("登记")
    reviewing = State("审核")
    awaiting_supplement = State("待补正")
    consulting = State("征求意见")
    awaiting_fee = State("待缴费")
    decided = State("已决定")
    replied = State("已答复")
    withdrawn = State("已撤回")
    archived = State("归档", final=True)

    register = received.to(registered)
    review = registered.to(reviewing)
    request_supplement = (registered.to(awaiting_supplement, validators="check_request_supplement")
                          | reviewing.to(awaiting_supplement, validators="check_request_supplement"))
    receive_supplement = awaiting_supplement.to(reviewing, validators="check_receive_supplement")
    open_consultation = (reviewing.to(consulting, validators="check_open_consultation")
                         | consulting.to.itself(internal=True, validators="check_open_consultation"))
    close_consultation = (consulting.to(reviewing, cond="closes_last_consultation",
                                        validators="check_close_consultation")
                          | consulting.to.itself(internal=True, validators="check_close_consultation"))
    # Art 33 ¶2: staff ask, the OGI office head approves (or refuses) as themselves; only the
    # approval extends the period.
    request_extension = (reviewing.to.itself(internal=True, validators="check_request_extension")
                         | consulting.to.itself(internal=True, validators="check_request_extension"))
    approve_extension = (reviewing.to.itself(internal=True, validators="check_approve_extension")
                         | consulting.to.itself(internal=True, validators="check_approve_extension"))
    refuse_extension = (reviewing.to.itself(internal=True, validators="check_refuse_extension")
                        | consulting.to.itself(internal=True, validators="check_refuse_extension"))
    # Who handles it (经办人), changed while it is open; one audit event each, bulk or not.
    assign = _stays("check_assign", received, registered, reviewing, awaiting_supplement, consulting,
                    awaiting_fee, decided)
    # 负责人签批 of the decided reply, where the agency requires it for the outcome's group.
    approve_reply = decided.to.itself(internal=True, validators="check_approve_reply")
    # 保密审查 (先审查后公开, 一事一审): recorded before anything is disclosed; revisable until sent.
    review_confidentiality = _stays("check_review_confidentiality", reviewing, consulting, awaiting_fee,
                                    decided)
    # 内部会商 (法律顾问, 司法局, 联席会议): recorded; the clock runs on (Art 33 ¶3).
    open_internal_consultation = _stays("check_open_internal_consultation", reviewing, consulting,
                                        awaiting_fee, decided)
    close_internal_consultation = _stays("check_close_internal_consultation", reviewing, consulting,
                                         awaiting_fee, decided)
    # 法制审核: the legal reviewer signs the decided reply off (or returns it) as themselves.
    legal_signoff = decided.to.itself(internal=True, validators="check_legal_signoff")
    # Art 35: a request clearly excessive in number or frequency — ask the applicant for reasons
    # (说明理由告知书). The answer leads to not_processed_excessive or a reasonable later date.
    ask_reasons = reviewing.to.itself(internal=True, validators="check_ask_reasons")
    receive_reasons = (reviewing.to.itself(internal=True, validators="check_receive_reasons")
                       | consulting.to.itself(internal=True, validators="check_receive_reasons"))
    # Art 35: reasons accepted but the reply needs longer — a reasonable later date, which is
    # neither capped by Art 33 nor an Art 33 extension (延迟答复告知书).
    defer_reply = (reviewing.to.itself(internal=True, validators="check_defer_reply")
                   | consulting.to.itself(internal=True, validators="check_defer_reply"))
    notify_fee = reviewing.to(awaiting_fee, validators="check_notify_fee")
    receive_fee = awaiting_fee.to(reviewing)
    decide = (reviewing.to(decided, validators="check_decide")
              | awaiting_supplement.to(decided, validators="check_decide")
              | awaiting_fee.to(decided, validators="check_decide")
              | decided.to.itself(internal=True, validators="check_decide"))
    send_reply = decided.to(replied, validators="check_send_reply")
    archive = replied.to(archived) | withdrawn.to(archived)
    withdraw = (received.to(withdrawn) | registered.to(withdrawn) | reviewing.to(withdrawn)
                | awaiting_supplement.to(withdrawn) | consulting.to(withdrawn)
                | awaiting_fee.to(withdrawn) | decided.to(withdrawn))

    # --- actions: the facts each event records in the ledger (the clock is derived from them).
    # `before_<event>` runs after the validators and before the state changes (the row is
    # still in its source state while they flush); if one raises, the state stays as it was
    # and advance() rolls the whole transaction back.

    def before_register(self, ctx, data):
        row = ctx.row
        row.department = data.get("department") or row.department
        row.assignee = data.get("assignee") or row.assignee

    def before_request_supplement(self, ctx, data):
        row = ctx.row
        row.supplement_requested_on = ctx.on
        items = [i if isinstance(i, dict) else {"kind": "content", "text": i} for i in data["items"]]
        row.supplement_items = "\n".join(i["text"] for i in items)
        row.supplement_grounds = ",".join(dict.fromkeys(i["kind"] for i in items))
        row.supplement_period_days = data.get("period_days") or ctx.settings.supplement_period_days
        _drop_pending_extension(ctx, "extension_request_lapsed")
        if row.extension_days:
            # Art 30: the period runs afresh from the supplement, so an extension of the old
            # period lapses with it; one extension may be approved on the fresh period.
            ctx.recorded["extension_lapsed"] = {"days": row.extension_days,
                                                "approved_by": row.extension_approved_by,
                                                "extended_on": row.extended_on}
            row.extension_days, row.extension_approved_by, row.extended_on = 0, None, None

    def before_receive_supplement(self, ctx, data):
        ctx.row.supplement_received_on = ctx.on

    def before_open_consultation(self, ctx, data):
        from states.models import Consultation  # the tables name the machine's states

        c = Consultation(request_id=ctx.row.id, party=data["party"], name=data["name"].strip(),
                         sent_on=ctx.on, matter=(data.get("matter") or "").strip() or None)
        ctx.session.add(c)
        ctx.session.flush()
        ctx.consultations.append(c)
        ctx.recorded["consultation_id"] = c.id

    def before_close_consultation(self, ctx, data):
        c = next(c for c in ctx.consultations if c.id == data["consultation_id"])
        c.closed_on, c.opinion, c.note = ctx.on, data["opinion"], data.get("note")
        ctx.session.add(c)

    def before_request_extension(self, ctx, data):
        row = ctx.row
        row.extension_requested_days = data["days"]
        row.extension_request_reason = data["reason"].strip()
        row.extension_requested_by, row.extension_requested_on = ctx.actor, ctx.on

    def before_approve_extension(self, ctx, data):
        row = ctx.row
        ctx.recorded.update(days=row.extension_requested_days, reason=row.extension_request_reason,
                            requested_by=row.extension_requested_by,
                            requested_on=row.extension_requested_on)
        row.extension_days = row.extension_requested_days
        row.extension_reason = row.extension_request_reason
        row.extension_approved_by = data["approved_by"].strip()
        row.extended_on = ctx.on
        _drop_pending_extension(ctx, None)

    def before_refuse_extension(self, ctx, data):
        _drop_pending_extension(ctx, "refused")

    def before_assign(self, ctx, data):
        ctx.recorded["previous_assignee"] = ctx.row.assignee
        ctx.row.assignee = data["assignee"].strip()
        if data.get("department"):
            ctx.recorded["previous_department"] = ctx.row.department
            ctx.row.department = data["department"].strip()

    def before_approve_reply(self, ctx, data):
        ctx.row.reply_approved_by, ctx.row.reply_approved_on = data["approved_by"].strip(), ctx.on

    def before_ask_reasons(self, ctx, data):
        ctx.row.reasons_requested_on = ctx.on
        ctx.row.reasons_period_days = data.get("period_days") or ctx.settings.reasons_period_days

    def before_receive_reasons(self, ctx, data):
        ctx.row.reasons_answered_on, ctx.row.reasons_reasonable = ctx.on, data["reasonable"]

    def before_defer_reply(self, ctx, data):
        ctx.row.deferred_to = _date(data["reply_by"])
        ctx.row.deferral_reason = data["reason"].strip()

    def before_review_confidentiality(self, ctx, data):
        review_step.record_confidentiality(ctx, data)
        review_step.withdraw_signoffs(ctx, "the confidentiality review changed")

    def before_open_internal_consultation(self, ctx, data):
        review_step.record_open_internal(ctx, data)

    def before_close_internal_consultation(self, ctx, data):
        review_step.record_close_internal(ctx, data)

    def before_legal_signoff(self, ctx, data):
        review_step.record_legal_signoff(ctx, data)

    def before_notify_fee(self, ctx, data):
        fee = review_step.compute_fee(ctx, data)
        row = ctx.row
        row.fee_notified_on, row.fee_amount_yuan = ctx.on, fee.amount_yuan
        row.fee_method, row.fee_units, row.fee_basis = fee.method, fee.units, fee.basis
        ctx.recorded.update(amount_yuan=fee.amount_yuan, units=fee.units, basis=fee.basis)

    def before_receive_fee(self, ctx, data):
        ctx.row.fee_paid_on = ctx.on

    def before_decide(self, ctx, data):
        _record_decision(ctx, data["outcome"], data.get("reason"), data)
        _drop_pending_extension(ctx, "extension_request_moot")  # decided: no extension follows
        review_step.withdraw_signoffs(ctx, "the decision changed")  # not the one they signed

    def before_withdraw(self, ctx, data):
        _record_decision(ctx, "other", data.get("reason") or "申请人撤回申请", {})
        _drop_pending_extension(ctx, "extension_request_moot")

    def before_send_reply(self, ctx, data):
        ctx.row.replied_on = ctx.on

    def before_archive(self, ctx, data):
        ctx.row.archived_on = ctx.on

    # --- guards (the law) -------------------------------------------------------------

    def check_request_supplement(self, ctx, data):
        row = ctx.row
        _require(row.supplement_requested_on is None, "event",
                 "a 补正 may be asked only once (Art 30: 一次性告知)",
                 "补正只能要求一次（第三十条：一次性告知）")
        due = ctx.clock.supplement_notice_due
        _require(due is None or ctx.on <= due, "on",
                 f"the 补正 notice must go out within 7 working days of receipt, by {due}",
                 f"补正告知应自收到申请之日起7个工作日内发出，即不晚于{due}")
        _require(bool(data.get("items")), "items",
                 "list everything the applicant must supplement, in one notice",
                 "应在一次告知中列明需要补正的全部事项")

    def check_receive_supplement(self, ctx, data):
        late = ctx.row.supplement_deadline and ctx.on > ctx.row.supplement_deadline
        _require(not late or bool(data.get("reason")), "reason",
                 f"the supplement arrived after the deadline {ctx.row.supplement_deadline}: "
                 "state the good reason (正当理由) for accepting it",
                 f"补正材料晚于补正期限{ctx.row.supplement_deadline}收到：请写明予以接收的正当理由")

    def check_open_consultation(self, ctx, data):
        _require(data.get("party") in list(ConsultationParty), "party",
                 "must be third_party (Art 32) or agency (Art 34)",
                 "应为第三方（第三十二条）或其他机关（第三十四条）")
        _require(bool((data.get("name") or "").strip()), "name", "name whom you consult",
                 "请填写征求意见的对象")

    def _open_consultation(self, ctx, data):
        cid = data.get("consultation_id")
        for c in ctx.consultations:
            if c.id == cid and c.closed_on is None:
                return c
        raise RuleViolation("consultation_id", f"{cid} is not an open consultation of this request",
                            f"{cid}不是本申请尚未结束的征求意见")

    def check_close_consultation(self, ctx, data):
        c = self._open_consultation(ctx, data)
        _require(data.get("opinion") in list(Opinion), "opinion",
                 "must be consent, objection or no_reply", "应为同意公开、不同意公开或逾期未答复")
        _require(ctx.on >= c.sent_on, "on", f"cannot close before it was sent on {c.sent_on}",
                 f"不能早于征求意见发出之日{c.sent_on}")
        if data["opinion"] == Opinion.no_reply:
            _require(c.served_on is not None, "opinion",
                     "no_reply needs the service date of the consultation letter recorded: the "
                     "15 working days run from its receipt (Art 32, 34)",
                     "尚未登记征求意见书的送达日期：15个工作日自对方收到之日起算（第三十二条、第三十四条）")
            _require(c.lapses_on is not None and ctx.on >= c.lapses_on, "opinion",
                     f"no_reply only once the 15 working days have run out on {c.lapses_on}",
                     f"15个工作日于{c.lapses_on}届满后，方可按逾期未答复处理")

    def closes_last_consultation(self, ctx, data):
        cid = data.get("consultation_id")
        return all(c.closed_on is not None or c.id == cid for c in ctx.consultations)

    def _check_extensible(self, ctx) -> None:
        _require(ctx.row.deferred_to is None, "event",
                 f"the reply was deferred to {ctx.row.deferred_to} under Art 35; no Art 33 extension follows",
                 f"已依第三十五条延后至{ctx.row.deferred_to}答复，不再适用第三十三条延期")
        _require(ctx.row.extension_days == 0, "event",
                 "the reply period may be extended once only (Art 33)", "答复期限只能延长一次（第三十三条）")
        due = ctx.clock.due_on
        _require(due is None or ctx.on <= due, "on",
                 f"an extension must be decided before the period runs out on {due}",
                 f"延期应在答复期限{due}届满前决定")

    def check_request_extension(self, ctx, data):
        self._check_extensible(ctx)
        _require(ctx.row.extension_requested_days is None, "event",
                 f"an extension was asked on {ctx.row.extension_requested_on} and awaits the "
                 "head's approval", f"已于{ctx.row.extension_requested_on}申请延期，正待负责人批准")
        days = data.get("days")
        _require(isinstance(days, int) and 1 <= days <= MAX_EXTENSION_DAYS, "days",
                 f"an extension is 1 to {MAX_EXTENSION_DAYS} working days (Art 33)",
                 f"延长期限为1至{MAX_EXTENSION_DAYS}个工作日（第三十三条）")
        _require(bool((data.get("reason") or "").strip()), "reason",
                 "say why the period cannot be met (quoted in the 延期答复告知书)",
                 "请写明不能按期答复的理由（将写入延期答复告知书）")

    def check_approve_extension(self, ctx, data):
        _require(ctx.row.extension_requested_days is not None, "event",
                 "no extension is asked (request_extension first)", "尚无延期申请（请先申请延期答复）")
        _given_today(ctx)
        self._check_extensible(ctx)
        _require(bool((data.get("approved_by") or "").strip()), "approved_by",
                 "the head of the OGI office who approves it (Art 33)",
                 "应由政府信息公开工作机构负责人批准（第三十三条）")

    def check_refuse_extension(self, ctx, data):
        _require(ctx.row.extension_requested_days is not None, "event", "no extension is asked",
                 "尚无延期申请")
        _require(bool((data.get("reason") or "").strip()), "reason", "say why it is refused",
                 "请写明不批准的理由")

    def check_assign(self, ctx, data):
        _require(bool((data.get("assignee") or "").strip()), "assignee", "name who handles it",
                 "请填写承办人")

    def check_approve_reply(self, ctx, data):
        _given_today(ctx)
        _require(bool((data.get("approved_by") or "").strip()), "approved_by",
                 "the head who signs the reply off", "应由负责人签批")
        _require(ctx.row.reply_approved_by is None, "event",
                 f"the reply was signed off by {ctx.row.reply_approved_by} on {ctx.row.reply_approved_on}",
                 f"答复已由{ctx.row.reply_approved_by}于{ctx.row.reply_approved_on}签批")

    def check_send_reply(self, ctx, data):
        from sqlmodel import select

        from states.models import Decision  # the tables name the machine's states

        decision = ctx.session.exec(select(Decision).where(Decision.request_id == ctx.row.id)).first()
        group = OUTCOMES[decision.outcome].report_group if decision else None
        if decision:
            review_step.check_reviewed(ctx, decision.outcome, "event")  # a review revised since
        _require(ctx.row.legal_returned_on is None, "event",
                 f"the legal reviewer returned this reply on {ctx.row.legal_returned_on} (法制审核意见 "
                 "in the history): revise the decision, review or letter draft first",
                 f"法制审核人员已于{ctx.row.legal_returned_on}退回本答复（审核意见见办理记录）：请先修改答复决定、审查或答复书草稿")
        if group in ctx.legal_groups:
            _require(ctx.row.legal_signed_by is not None, "event",
                     f"this agency's {group} replies need the legal reviewer's sign-off (法制审核) "
                     "before they are sent: legal_signoff",
                     f"本机关“{group}”类答复送出前须经法制审核")
        if group in ctx.signoff_groups:
            _require(ctx.row.reply_approved_by is not None, "event",
                     f"this agency's {group} replies need the head's sign-off (负责人签批) before "
                     "they are sent: approve_reply",
                     f"本机关“{group}”类答复送出前须经负责人签批")

    def check_ask_reasons(self, ctx, data):
        _require(ctx.row.reasons_requested_on is None, "event",
                 "the applicant is asked for reasons once per request (Art 35)",
                 "同一申请只能要求申请人说明理由一次（第三十五条）")
        _require(bool((data.get("note") or "").strip()), "note",
                 "say why the number or frequency of requests exceeds a reasonable range (Art 35)",
                 "请写明申请数量、频次明显超过合理范围的情况（第三十五条）")

    def check_receive_reasons(self, ctx, data):
        row = ctx.row
        _require(row.reasons_requested_on is not None, "event",
                 "the applicant was not asked for reasons (ask_reasons, Art 35)",
                 "尚未要求申请人说明理由（第三十五条）")
        _require(row.reasons_answered_on is None, "event",
                 f"the applicant's reasons were recorded on {row.reasons_answered_on}",
                 f"申请人的理由已于{row.reasons_answered_on}登记")
        _require(isinstance(data.get("reasonable"), bool), "reasonable",
                 "say whether the reasons given are reasonable (Art 35)", "请选择理由是否合理（第三十五条）")

    def check_defer_reply(self, ctx, data):
        row = ctx.row
        _require(row.reasons_reasonable is True, "event",
                 "a reply is deferred under Art 35 only after the applicant's reasons were found reasonable",
                 "申请人的理由经审查合理后，方可依第三十五条延后答复")
        _require(row.deferred_to is None, "event", f"the reply was already deferred to {row.deferred_to}",
                 f"答复已延后至{row.deferred_to}")
        due, later = ctx.clock.due_on, _date(data.get("reply_by"))
        _require(due is None or ctx.on <= due, "on",
                 f"a deferral must be decided before the reply period runs out on {due}",
                 f"延后答复应在答复期限{due}届满前决定")
        _require(later is not None and (due is None or later > due), "reply_by",
                 f"a deferral sets a date later than the reply period in force ({due})",
                 f"延后的答复日期应晚于现行答复期限（{due}）")
        _require(later is not None and later <= ctx.on + dt.timedelta(days=366), "reply_by",
                 "a reasonable later date is within a year of the deferral (Art 35)",
                 "合理的延后日期应在决定延后之日起一年内（第三十五条）")
        _require(bool((data.get("reason") or "").strip()), "reason",
                 "say why the reply cannot be given within the Art 33 period",
                 "请写明不能在第三十三条规定期限内答复的理由")

    def check_notify_fee(self, ctx, data):
        _require(ctx.row.fee_notified_on is None, "event", "a fee may be charged once per request",
                 "同一申请只能收费一次")
        review_step.compute_fee(ctx, data)  # refuses a method that charges nothing

    def check_review_confidentiality(self, ctx, data):
        review_step.check_confidentiality(ctx, data)

    def check_open_internal_consultation(self, ctx, data):
        review_step.check_open_internal(ctx, data)

    def check_close_internal_consultation(self, ctx, data):
        review_step.check_close_internal(ctx, data)

    def check_legal_signoff(self, ctx, data):
        _given_today(ctx)
        review_step.check_legal_signoff(ctx, data)

    def check_decide(self, ctx, data):
        outcome = data.get("outcome")
        _require(outcome in OUTCOMES, "outcome", "must be one of the outcome codes of ogi-rules.md",
                 "不是可选的处理结果")
        info = OUTCOMES[outcome]
        if info.needs_reason:
            _require(bool((data.get("reason") or "").strip()), "reason",
                     f"'{outcome}' needs the reason stated (说明理由)",
                     f"“{info.label}”须说明理由")
        state = self.current_state_value
        if state == "awaiting_supplement":
            _require(outcome == "other_no_supplement", "outcome",
                     "while a 补正 is awaited the only decision is other_no_supplement",
                     "等待补正期间，只能作出“申请人无正当理由逾期不补正”的处理")
        if outcome == "other_no_supplement":
            _require(state == "awaiting_supplement", "outcome",
                     "other_no_supplement needs a 补正 that is awaited", "须在等待补正时作出")
            _require(ctx.row.supplement_served_on is not None, "on",
                     "the 补正 notice's service date is not recorded: the period runs from the "
                     "applicant's receipt of it (Art 30)",
                     "尚未登记补正告知书的送达日期：补正期限自申请人收到之日起算（第三十条）")
            deadline = ctx.row.supplement_deadline
            _require(deadline is not None and ctx.on > deadline, "on",
                     f"the applicant has until {deadline} to supplement",
                     f"补正期限至{deadline}届满，届满前不能按逾期不补正处理")
        if state == "awaiting_fee":
            _require(outcome == "other_fee_unpaid", "outcome",
                     "while a fee is awaited the only decision is other_fee_unpaid",
                     "等待缴费期间，只能作出“申请人逾期未缴纳费用”的处理")
        if outcome == "other_fee_unpaid":
            _require(state == "awaiting_fee", "outcome", "other_fee_unpaid needs a fee that is awaited",
                     "须在等待缴费时作出")
            _require(ctx.row.fee_served_on is not None, "on",
                     "the fee notice's service date is not recorded: the 20 working days run "
                     "from the applicant's receipt of it (国办函〔2020〕109号)",
                     "尚未登记收费通知书的送达日期：20个工作日自申请人收到之日起算（国办函〔2020〕109号）")
            _require(ctx.fee_deadline is not None, "on",
                     "the payment deadline cannot be counted: its year's holiday calendar is not loaded",
                     "缴费期限所在年度的放假安排尚未导入，无法计算")
            _require(ctx.on > ctx.fee_deadline, "on", f"the applicant has until {ctx.fee_deadline} to pay",
                     f"缴费期限至{ctx.fee_deadline}届满，届满前不能按逾期未缴费处理")
        if outcome == "not_processed_excessive":
            row = ctx.row
            _require(row.reasons_requested_on is not None, "outcome",
                     "not_processed_excessive needs the applicant asked for reasons first (ask_reasons, Art 35)",
                     "须先要求申请人说明理由（第三十五条）")
            if row.reasons_answered_on is not None:
                _require(row.reasons_reasonable is False, "outcome",
                         "the applicant's reasons were found reasonable: reply, or defer the reply (Art 35)",
                         "申请人的理由经审查合理：应予答复，或延后答复（第三十五条）")
            else:
                _require(row.reasons_served_on is not None, "on",
                         "the reasons notice's service date is not recorded: its period runs from "
                         "the applicant's receipt of it",
                         "尚未登记说明理由告知书的送达日期：期限自申请人收到之日起算")
                _require(ctx.reasons_deadline is not None and ctx.on > ctx.reasons_deadline, "on",
                         f"the applicant has until {ctx.reasons_deadline} to give reasons",
                         f"说明理由的期限至{ctx.reasons_deadline}届满")
        if data.get("responsible_agency"):
            _require(bool((data.get("responsible_agency_contact") or "").strip()),
                     "responsible_agency_contact",
                     "name how to reach the responsible agency (address, telephone; Art 36(5))",
                     "请写明负责公开的机关的联系方式（地址、电话；第三十六条第（五）项）")
        if outcome == "partially_disclosed":
            ground = data.get("withheld_ground")
            _require(ground in OUTCOMES and OUTCOMES[ground].report_group == "不予公开"
                     and ground != "withheld_administrative_query", "withheld_ground",
                     "the outcome code (withheld_…, Art 14–16) of the part not disclosed (Art 37)",
                     "请选择不予公开部分的理由（第十四条至第十六条；第三十七条）")
        review_step.check_reviewed(ctx, outcome)  # 先审查后公开
        if outcome == "partially_disclosed":
            review_step.check_withheld_ground(ctx, data.get("withheld_ground"))
        overrides = data.get("overrides") or []
        if outcome == "disclosed":
            overridden = {o.get("consultation_id") for o in overrides}
            for c in ctx.consultations:
                if (c.party == ConsultationParty.third_party and c.opinion == Opinion.objection
                        and c.id not in overridden):
                    raise RuleViolation("overrides", f"{c.name} objected (consultation {c.id}): "
                                        "disclosing all needs its objection overridden in the public "
                                        "interest with what and why (Art 32), or withhold its part",
                                        f"{c.name}不同意公开（征求意见编号{c.id}）：全部公开须写明因公共利益"
                                        "决定公开的内容和理由（第三十二条），或对其部分不予公开")
        if overrides:
            _require(outcome in ("disclosed", "partially_disclosed"), "overrides",
                     "an objection is overridden only by a decision to disclose (Art 32)",
                     "只有决定公开时才涉及第三方不同意仍予公开（第三十二条）")
            objecting = {c.id for c in ctx.consultations
                         if c.party == ConsultationParty.third_party and c.opinion == Opinion.objection}
            ids = [o.get("consultation_id") for o in overrides]
            _require(len(set(ids)) == len(ids), "overrides", "each third party once",
                     "每个第三方只写一次")
            for o in overrides:
                _require(o.get("consultation_id") in objecting, "overrides",
                         f"{o.get('consultation_id')} is not a third party's consultation that objected",
                         f"征求意见编号{o.get('consultation_id')}不是第三方不同意公开的征求意见")
                _require(bool((o.get("disclosed") or "").strip()), "overrides",
                         "name what of that third party's information is disclosed (Art 32)",
                         "请写明公开该第三方的哪些信息（第三十二条）")
                _require(bool((o.get("reason") or "").strip()), "overrides",
                         "give the public-interest reason for disclosing it (Art 32)",
                         "请写明因公共利益决定公开的理由（第三十二条）")
        if data.get("correction") is not None:
            _require(outcome == "other", "correction",
                     "an Art 41 correction reply is decided with outcome 'other'",
                     "第四十一条更正答复应选择“其他处理”")
            _require(data["correction"] in CORRECTIONS, "correction",
                     f"must be one of {', '.join(CORRECTIONS)} (Art 41)", "不是可选的更正答复类型（第四十一条）")
        if outcome == "unavailable_unclear_after_supplement":
            _require(ctx.row.supplement_received_on is not None, "outcome",
                     "needs a supplement that was received (Art 30)", "须在收到补正材料后作出（第三十条）")


# State groups, defined once, here beside the machine.
STATES = tuple(str(s.id) for s in RequestMachine.states)
# The reply is not sent yet: the statutory clock is watched (and recomputed on a calendar load).
OPEN_STATES = ("received", "registered", "reviewing", "awaiting_supplement", "consulting",
               "awaiting_fee", "decided")
# The reply clock may run today (consulting and awaiting_fee once their stops have lapsed);
# awaiting_supplement has no period until the supplement arrives.
CLOCKED_STATES = tuple(s for s in OPEN_STATES if s != "awaiting_supplement")
# Replied, withdrawn or archived: nothing is due, and the letters are frozen.
FINISHED_STATES = ("replied", "withdrawn", "archived")
# A decision is taken: no 补正 notice is due any more.
DECIDED_STATES = ("decided", *FINISHED_STATES)
assert set(OPEN_STATES) | set(FINISHED_STATES) == set(STATES)
