"""The one door: `receive()` creates a request, `advance()` moves it. Nothing else writes a request's state.

Each call is one transaction: lock the row, fire the event on the machine, record the facts,
recompute the clock, append one audit event, queue side effects in the outbox, commit.
Any exception rolls everything back, so a failed call leaves no trace.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy.orm import aliased
from sqlmodel import Session, select
from statemachine.exceptions import TransitionNotAllowed

import audit
from access.models import Agency
from core.config import Settings, get_settings
from core.db import next_in_counter
from core.logging import get_logger
from core.personal_data import applicant_key
from states.agency import signoff_groups
from states.workdays import CalendarYearMissing, WorkCalendar, YearSpec
from states.calendar_years import LOADED_TEXT, calendar_for, years_from_text
from states.clock import Clock, compute_clock
from states.ledger import (clock_for, consultations_of, fee_deadline, ledger_of,  # noqa: F401 (re-exported)
                           reasons_deadline, refresh_deadlines)
from states.errors import (ConcurrentChange, EventNotAllowed, RequestNotFound, RuleViolation,
                           UnknownEvent)
from states import fingerprints, similarity
from states.machine import RequestMachine
from states.codes import ServiceMethod
from states.models import Consultation, Decision, Outbox, Request, RequestCounter, ServiceRecord

log = get_logger("states.service")

EVENTS = sorted(str(e.id) for e in RequestMachine._events)

# Which side effects each event queues (run by workflows' outbox dispatcher).
SIDE_EFFECTS: dict[str, list[str]] = {
    "send_reply": ["deliver_reply"],
    "archive": ["export_archive"],
}
# Letters are issued by the replies room on top of this door (it may import us, not we it).

# Audit events that record a fact about a request without moving it (see `record_fact`).
FACT_EVENTS = ("issue_letter", "render_letter", "recompute_clock", "deliver_reply",
               "export_archive", "flag_deadline", "record_service", "reveal_id_number",
               "record_challenge", "record_challenge_result", "reply_approval_withdrawn",
               "legal_signoff_withdrawn", "record_proactive_disclosure", "attach_file")
# The periods a letter's service date starts (what `record_service` moves).
SERVICE_PERIODS = ("supplement", "consultation", "fee", "reasons")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@dataclass
class Context:
    """What the machine's guards and the recorders see during one event."""
    session: Session
    row: Request
    consultations: list[Consultation]
    on: dt.date
    actor: str
    clock: Clock
    calendar: WorkCalendar
    settings: Settings
    fee_deadline: dt.date | None = None
    reasons_deadline: dt.date | None = None
    signoff_groups: tuple[str, ...] = ()   # the agency's outcome groups that need 负责人签批
    legal_groups: tuple[str, ...] = ()     # … and those that need 法制审核
    recorded: dict[str, Any] = field(default_factory=dict)


def _check_date(field_name: str, on: dt.date, today: dt.date, not_before: dt.date | None) -> None:
    if on > today:
        raise RuleViolation(field_name, f"{on} is in the future (today is {today})",
                            f"{on}晚于今天（{today}）")
    if not_before and on < not_before:
        raise RuleViolation(field_name, f"{on} is before the previous step on {not_before}",
                            f"{on}早于上一步的日期{not_before}")


def _next_number(session: Session, year: int, settings: Settings) -> str:
    seq = next_in_counter(session, RequestCounter, year=year)
    return settings.request_number_pattern.format(year=year, seq=seq)


def _append_audit(ctx: Context, event: str, from_state: str | None, data: dict) -> None:
    row = ctx.row
    # A plain INSERT, no ORM object or flush of its own: nothing in the call reads the event back
    # (~0.5 ms of every event, profiled); the row's new head goes out with the row's UPDATE.
    [ev] = audit.append_many(ctx.session, [dict(
        request_id=row.id, seq=row.audit_seq + 1, prev_hash=row.audit_head, on=ctx.on,
        actor=ctx.actor, event=event, from_state=from_state, to_state=row.state, data=data)])
    row.audit_seq, row.audit_head = ev["seq"], ev["hash"]


def enqueue(session: Session, request_id: int, kind: str, payload: dict) -> Outbox:
    """Queue a side effect in the caller's transaction; the outbox id is its idempotency key."""
    now = _now()
    row = Outbox(request_id=request_id, kind=kind, payload=audit.canonical_json(payload),
                 available_at=now, created_at=now)
    session.add(row)
    return row


def _queue(ctx: Context, event: str, data: dict) -> None:
    for kind in SIDE_EFFECTS.get(event, []):
        enqueue(ctx.session, ctx.row.id, kind, {"event": event, "seq": ctx.row.audit_seq, **data})


def _refresh_clock(ctx: Context) -> Clock:
    clock = compute_clock(ledger_of(ctx.row, ctx.consultations, ctx.calendar, ctx.settings),
                          ctx.calendar)
    ctx.row.due_on = clock.due_on
    if clock.error:
        log.error("calendar_year_missing", request_number=ctx.row.number, problem=clock.error)
    return clock


def receive(session: Session, *, applicant: dict, channel: str, received_on: dt.date,
            description: str, actor: str, agency_id: int, unit_id: int | None = None,
            requested_form: str | None = None,
            department: str | None = None, assignee: str | None = None,
            settings: Settings | None = None, calendar: WorkCalendar | None = None) -> Request:
    """接收: a new request, its first audit event, its clock. Caller commits (see `session_scope`)."""
    settings = settings or get_settings()
    calendar = calendar or calendar_for(session, settings)
    _check_date("received_on", received_on, settings.today(), None)
    if received_on < settings.earliest_received_on:
        raise RuleViolation("received_on", f"{received_on} is before {settings.earliest_received_on}, "
                            "when the regulations (国务院令第711号) took effect; an agency migrating "
                            "older cases sets GONGKAI_EARLIEST_RECEIVED_ON",
                            f"{received_on}早于条例（国务院令第711号）施行之日{settings.earliest_received_on}")
    # Before the number is drawn: its counter row stays locked until commit, so the ~0.1 ms of
    # hashing would otherwise queue every other intake behind it.
    signature = similarity.signature(description)
    now = _now()
    row = Request(number=_next_number(session, received_on.year, settings), state="received",
                  agency_id=agency_id, unit_id=unit_id,
                  applicant_kind=applicant["kind"], applicant_name=applicant["name"],
                  applicant_id_number=applicant.get("id_number"),
                  applicant_phone=applicant.get("phone"), applicant_email=applicant.get("email"),
                  applicant_address=applicant.get("address"),
                  applicant_key=applicant_key(applicant["kind"], applicant["name"],
                                              applicant.get("id_number"), applicant.get("phone"),
                                              applicant.get("email"), applicant.get("address")),
                  channel=channel,
                  received_on=received_on, description=description,
                  requested_form=requested_form, department=department, assignee=assignee,
                  last_event_on=received_on, created_at=now)
    session.add(row)
    session.flush()
    fingerprints.store(session, row, signature, new=True)  # repeats and similar requests
    ctx = Context(session, row, [], received_on, actor, None, calendar, settings)  # type: ignore[arg-type]
    clock = _refresh_clock(ctx)
    # The audit event holds what the request is, but never the applicant's ID or phone.
    _append_audit(ctx, "receive", None, {
        "number": row.number, "agency_id": agency_id, "unit_id": unit_id,
        "channel": channel, "received_on": received_on,
        "applicant_kind": row.applicant_kind, "department": department,
        "due_on": clock.due_on})
    return row


def lock_request(session: Session, request_id: int, *, keep: bool = False) -> Request:
    """The request's row, locked for this transaction and read afresh: a copy loaded earlier in
    the session (say, to check a letter before sending) must not hide a concurrent change.
    Its agency comes in the same statement (every event reads it). `keep`: the API's scope check
    locks the row before the route; the route's own next `lock_request` in the same transaction
    takes that row over instead of reading it again — nobody else can have changed it."""
    kept = session.info.get("locked_rows", {}).pop(request_id, None)
    if kept is not None and kept[0] is session.get_transaction():
        return kept[1]
    found = session.exec(_LOCK, params={"id": request_id},
                         execution_options={"populate_existing": True}).first()
    if found is None:
        raise RequestNotFound(request_id)
    row, agency, consulted, seen_version, calendar = found
    session.info.setdefault("agencies", {})[agency.id] = agency
    session.info["locked_years"] = (session.get_transaction(), years_from_text(calendar))
    # Consultations are only ever added under this lock (by the one door), so none now means
    # none until this session adds one: `_consultations` need not ask. On SQLite the write lock
    # comes before the statement's snapshot. PostgreSQL's FOR UPDATE, having waited for another
    # event's commit, returns the row as committed but evaluates the rest of the statement on
    # the snapshot taken before the wait — and could miss the consultation that event opened.
    # Every event raises the version, so the row's version as that snapshot saw it tells: the
    # same, and nothing was committed to the request in between.
    trusted = not consulted and (session.get_bind().dialect.name == "sqlite"
                                 or seen_version == row.version)
    session.info.setdefault("unconsulted", {})[request_id] = (
        session.get_transaction() if trusted else None)
    if keep:
        session.info.setdefault("locked_rows", {})[request_id] = (session.get_transaction(), row)
    return row


def _consultations(session: Session, row: Request) -> list[Consultation]:
    """The locked request's consultations: none to read when its lock found none."""
    if session.info.get("unconsulted", {}).get(row.id) is session.get_transaction():
        return []
    return consultations_of(session, row.id)


def years_locked_with(session: Session) -> tuple[YearSpec, ...] | None:
    """The calendar years the lock of this transaction read beside the row (`calendar_for`'s
    `loaded`), if a lock did: one statement fewer for every event."""
    transaction, years = session.info.get("locked_years", (None, None))
    return years if transaction is not None and transaction is session.get_transaction() else None


# FOR UPDATE OF request: PostgreSQL would otherwise lock the agency's row too, and every event of
# an agency would queue behind every other. SQLite has no row locks (the write lock covers all).
_SEEN = aliased(Request, name="seen")
_LOCK = (select(Request, Agency, select(1).where(Consultation.request_id == Request.id).exists(),
                select(_SEEN.version).where(_SEEN.id == bindparam("id")).scalar_subquery(),
                LOADED_TEXT)
         .join(Agency, Agency.id == Request.agency_id)
         .where(Request.id == bindparam("id")).with_for_update(of=Request))


class _Held:
    """The model a thread's machine drives: the row of the event being fired. Building a machine
    resolves every callback (~3.5 ms, a third of a `register`, profiled), so each thread keeps
    one and points it at the next row; the machine reads the state from the row every time."""
    __slots__ = ("row",)

    def __init__(self, row: Request) -> None:
        self.row = row

    @property
    def state(self) -> str:
        return self.row.state

    @state.setter
    def state(self, value: str) -> None:
        self.row.state = value


_machines = threading.local()


def _machine_for(row: Request) -> tuple[RequestMachine, _Held]:
    held = getattr(_machines, "held", None)
    if held is None:
        held = _Held(row)
        _machines.machine, _machines.held = RequestMachine(model=held, state_field="state"), held
    held.row = row
    return _machines.machine, held


def _drop_machine() -> None:
    _machines.__dict__.clear()


def allowed_events(row: Request) -> list[str]:
    return list(_allowed_in(row.state))


@lru_cache(maxsize=None)
def _allowed_in(state: str) -> tuple[str, ...]:
    """The events with a transition out of `state` (guards are the one door's to check). Built
    once per state: a machine costs ~2 ms, and every answer that shows a request lists them."""
    machine = RequestMachine(model=SimpleNamespace(state=state), state_field="state")
    return tuple(sorted({str(e.id) for e in machine.allowed_events}))


def record_fact(session: Session, request_id: int, event: str, actor: str, *, on: dt.date,
                data: dict, locked: Request | None = None) -> audit.AuditEvent:
    """Append an audit event that records a fact without moving the request (a letter issued,
    its files rendered). Locks the row like `advance` so the chain stays linear — unless the
    caller passes the row it `locked` in this transaction already. Caller commits."""
    if event not in FACT_EVENTS:
        raise UnknownEvent(event, list(FACT_EVENTS))
    row = locked if locked is not None and locked.id == request_id else lock_request(session, request_id)
    ev = audit.append(session, request_id=row.id, seq=row.audit_seq + 1, prev_hash=row.audit_head,
                      on=on, actor=actor, event=event, from_state=row.state, to_state=row.state,
                      data=data)
    row.audit_seq, row.audit_head = ev.seq, ev.hash
    session.add(row)
    session.flush()
    return ev


DEADLINE_FLAGS = ("due_soon", "overdue")


def set_deadline_flag(session: Session, request_id: int, flag: str | None, actor: str, *,
                      on: dt.date, data: dict) -> bool:
    """Mark (or unmark) a request due soon / overdue, with a `flag_deadline` audit event.
    Returns False, changing nothing, when the request already carries that flag."""
    if flag is not None and flag not in DEADLINE_FLAGS:
        raise RuleViolation("flag", f"one of {', '.join(DEADLINE_FLAGS)} or none", "不是可选的期限提醒")
    row = lock_request(session, request_id)
    if row.deadline_flag == flag:
        return False
    previous = row.deadline_flag
    row.deadline_flag, row.flagged_on = flag, on
    record_fact(session, request_id, "flag_deadline", actor, on=on,
                data={"flag": flag, "previous": previous, **data})
    return True


def set_deadline_flags(session: Session, changes: list[tuple[Request, str | None, dict]],
                       actor: str, *, on: dt.date) -> list[Request]:
    """`set_deadline_flag` for many requests at once, in the caller's
    transaction: each (row locked by the caller, flag, data) whose flag differs gets the flag and
    one `flag_deadline` audit event in its chain (one INSERT for all). Returns the rows changed.
    (Belongs beside `set_deadline_flag` in states/service.py; kept here until it moves.)"""
    events, changed = [], []
    for row, flag, data in changes:
        if flag is not None and flag not in DEADLINE_FLAGS:
            raise RuleViolation("flag", f"one of {', '.join(DEADLINE_FLAGS)} or none", "不是可选的期限提醒")
        if row.deadline_flag == flag:
            continue
        events.append({"request_id": row.id, "seq": row.audit_seq + 1, "prev_hash": row.audit_head,
                       "on": on, "actor": actor, "event": "flag_deadline", "from_state": row.state,
                       "to_state": row.state,
                       "data": {"flag": flag, "previous": row.deadline_flag, **data}})
        row.deadline_flag, row.flagged_on = flag, on
        changed.append(row)
    for row, written in zip(changed, audit.append_many(session, events)):
        row.audit_seq, row.audit_head = written["seq"], written["hash"]
        session.add(row)
    session.flush()
    return changed


def advance(session: Session, request_id: int, event: str, actor: str, *, on: dt.date,
            expected_version: int | None = None, settings: Settings | None = None,
            calendar: WorkCalendar | None = None, **data: Any) -> Request:
    """Fire `event` on request `request_id` as `actor`, effective `on`. Caller commits."""
    settings = settings or get_settings()
    calendar = calendar or calendar_for(session, settings)
    if event not in EVENTS:
        raise UnknownEvent(event, EVENTS)
    row = lock_request(session, request_id)
    if expected_version is not None and expected_version != row.version:
        raise ConcurrentChange(expected_version, row.version)
    _check_date("on", on, settings.today(), row.last_event_on)

    consultations = _consultations(session, row)
    clock = compute_clock(ledger_of(row, consultations, calendar, settings), calendar)
    ctx = Context(session, row, consultations, on, actor, clock, calendar, settings,
                  fee_deadline(row, calendar, settings), reasons_deadline(row, calendar, settings)[0],
                  *signoff_groups(session, row))

    from_state = row.state
    machine, held = _machine_for(row)
    try:
        machine.send(event, ctx=ctx, data=data)
    except TransitionNotAllowed:
        _drop_machine()
        raise EventNotAllowed(event, from_state, allowed_events(row)) from None
    except BaseException:
        _drop_machine()  # whatever a failed event left inside the machine goes with it
        raise
    finally:
        held.row = None  # never keep a session's row alive between events
    changed = refresh_deadlines(row, ctx.consultations, calendar, settings)
    if event == "request_supplement" or "supplement_deadline" in changed:
        ctx.recorded["supplement_deadline"] = row.supplement_deadline
    if event == "open_consultation":
        ctx.recorded["lapses_on"] = ctx.consultations[-1].lapses_on
    for key in ("supplement_deadline", "lapses_on"):
        if key in ctx.recorded and ctx.recorded[key] is None and not settings.provisional_calendar_years:
            missing = CalendarYearMissing(calendar.last_year + 1)
            raise RuleViolation("on", f"{missing}; load that year's notice (gongkai calendar "
                                      "import) or enable provisional years",
                                "期限所在年度的放假安排尚未导入：请导入该年度通知")
    row.last_event_on = on
    row.version += 1
    session.add(row)
    clock = _refresh_clock(ctx)
    audit_data = {k: v for k, v in data.items() if v is not None}
    audit_data.update(ctx.recorded)
    audit_data["due_on"] = clock.due_on
    _append_audit(ctx, event, from_state, audit_data)
    _queue(ctx, event, audit_data)
    session.flush()
    # The consultations as the event left them, for the answer's clock: read once per call.
    session.info.setdefault("consultations", {})[row.id] = ctx.consultations
    return row


def _check_service_fits(session: Session, row: Request, consultations: list[Consultation],
                        period: str | None, consultation_id: int | None, served_on: dt.date) -> None:
    """A service date cannot come after the recipient's answer to the letter, nor move a period
    that has already been acted on (a lapse recorded, a request deemed abandoned)."""
    decision = session.exec(select(Decision).where(Decision.request_id == row.id)).first()
    decided = decision.outcome if decision else None
    if period == "consultation":
        c = next((c for c in consultations if c.id == consultation_id), None)
        if c is not None and c.closed_on is not None:
            if c.opinion == "no_reply":
                raise RuleViolation("served_on", f"the consultation was closed as lapsed without reply "
                                    f"on {c.closed_on}: its service date can no longer change",
                                    f"该征求意见已于{c.closed_on}按逾期未答复结束，送达日期不能再更改")
            if served_on > c.closed_on:
                raise RuleViolation("served_on", f"{served_on} is after the answer recorded on {c.closed_on}",
                                    f"{served_on}晚于已登记的答复日期{c.closed_on}")
    elif period == "supplement":
        if decided == "other_no_supplement":
            raise RuleViolation("served_on", "the request was deemed abandoned for want of the 补正: "
                                "the notice's service date can no longer change",
                                "该申请已按逾期不补正处理，补正告知书的送达日期不能再更改")
        if row.supplement_received_on and served_on > row.supplement_received_on:
            raise RuleViolation("served_on", f"{served_on} is after the supplement arrived on "
                                f"{row.supplement_received_on}",
                                f"{served_on}晚于补正材料的收到日期{row.supplement_received_on}")
    elif period == "fee":
        if decided == "other_fee_unpaid":
            raise RuleViolation("served_on", "the request was closed for the unpaid fee: the "
                                "notice's service date can no longer change",
                                "该申请已按逾期未缴费处理，收费通知书的送达日期不能再更改")
        if row.fee_paid_on and served_on > row.fee_paid_on:
            raise RuleViolation("served_on", f"{served_on} is after the fee was paid on {row.fee_paid_on}",
                                f"{served_on}晚于缴费日期{row.fee_paid_on}")
    elif period == "reasons":
        if decided == "not_processed_excessive" and row.reasons_answered_on is None:
            raise RuleViolation("served_on", "the request was not processed for want of reasons: "
                                "the notice's service date can no longer change",
                                "该申请已因未说明理由不予处理，告知书的送达日期不能再更改")
        if row.reasons_answered_on and served_on > row.reasons_answered_on:
            raise RuleViolation("served_on", f"{served_on} is after the reasons arrived on "
                                f"{row.reasons_answered_on}",
                                f"{served_on}晚于收到理由说明的日期{row.reasons_answered_on}")


def record_service(session: Session, request_id: int, *, letter_id: int, issued_on: dt.date,
                   period: str | None, consultation_id: int | None, method: str,
                   served_on: dt.date, actor: str, tracking_number: str | None = None,
                   note: str | None = None, settings: Settings | None = None,
                   calendar: WorkCalendar | None = None) -> ServiceRecord:
    """送达: record how and when a letter reached its addressee. The period the letter started
    (`period`: the 补正, a consultation, the fee) is counted afresh from `served_on`, the clock
    recomputed, and one `record_service` audit event appended, under the row lock. A second
    record for the same letter corrects the first and must say why (`note`). Caller commits."""
    settings = settings or get_settings()
    calendar = calendar or calendar_for(session, settings)
    row = lock_request(session, request_id)
    if method not in list(ServiceMethod):
        raise RuleViolation("method", f"one of {', '.join(ServiceMethod)}", "不是可选的送达方式")
    if served_on < issued_on:
        raise RuleViolation("served_on", f"{served_on} is before the letter was issued on {issued_on}",
                            f"{served_on}早于文书制发日期{issued_on}")
    _check_date("served_on", served_on, settings.today(), None)
    if method == ServiceMethod.post and not (tracking_number or "").strip():
        raise RuleViolation("tracking_number", "a letter served by post names its tracking "
                            "(EMS/挂号信) number, the proof of the signed-for date",
                            "邮寄送达的，请填写邮件单号（EMS/挂号信），作为签收日期的凭证")
    earlier = session.exec(select(ServiceRecord).where(ServiceRecord.letter_id == letter_id)
                           .order_by(ServiceRecord.id.desc())).first()
    if earlier is not None and not (note or "").strip():
        raise RuleViolation("note", f"the service of this letter was recorded already "
                            f"({earlier.served_on}); a correction states its reason",
                            f"该文书已登记送达（{earlier.served_on}）；更正的，请写明更正理由")
    consultations = consultations_of(session, row.id)
    _check_service_fits(session, row, consultations, period, consultation_id, served_on)
    if period == "supplement":
        row.supplement_served_on = served_on
    elif period == "fee":
        row.fee_served_on = served_on
    elif period == "reasons":
        row.reasons_served_on = served_on
    elif period == "consultation":
        target = next((c for c in consultations if c.id == consultation_id), None)
        if target is None:
            raise RuleViolation("letter_id", "the consultation this letter asked is not on record",
                                "该文书对应的征求意见未登记")
        target.served_on = served_on
        session.add(target)
    elif period is not None:
        raise RuleViolation("period", f"one of {', '.join(SERVICE_PERIODS)} or none", "不是可选的期限类型")
    refresh_deadlines(row, consultations, calendar, settings)
    clock = compute_clock(ledger_of(row, consultations, calendar, settings), calendar)
    old_due_on = row.due_on
    row.due_on = clock.due_on
    row.version += 1
    record = ServiceRecord(request_id=row.id, letter_id=letter_id, method=method,
                           tracking_number=(tracking_number or "").strip() or None,
                           served_on=served_on, note=(note or "").strip() or None,
                           recorded_by=actor, recorded_at=_now())
    session.add(record)
    session.add(row)
    session.flush()
    data = {"letter_id": letter_id, "method": method, "served_on": served_on,
            "tracking_number": record.tracking_number, "period": period, "due_on": clock.due_on,
            "old_due_on": old_due_on}
    if earlier is not None:
        data.update(corrects=earlier.served_on, note=record.note)
    if period == "supplement":
        data["supplement_deadline"] = row.supplement_deadline
    elif period == "fee":
        data["fee_deadline"] = fee_deadline(row, calendar, settings)
    elif period == "consultation":
        data.update(consultation_id=consultation_id,
                    lapses_on=next(c.lapses_on for c in consultations if c.id == consultation_id))
    record_fact(session, row.id, "record_service", actor, on=settings.today(), data=data)
    return record
