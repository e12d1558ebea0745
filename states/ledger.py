"""The read side of a request's ledger: the periods its letters start and the clock they make.

Periods the law gives a letter's recipient — the 补正 period (Art 30), a consultation's 15
working days (Art 32, 34), the fee's 20 (国办函〔2020〕109号) — run from the letter's service
date (送达日). Until that date is recorded they are counted from a presumed one
(`presumed_service_days` working days after the letter went out) and marked presumed: shown,
never acted on. These functions only read and derive; the one door (`states.service`) writes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam
from sqlmodel import Session, select

from core.config import Settings, get_settings
from states.workdays import CalendarYearMissing, WorkCalendar
from states.clock import CONSULTATION_DAYS, FEE_PAYMENT_DAYS, Clock, Ledger, Stop, compute_clock
from states.codes import ConsultationParty
from states.machine import DECIDED_STATES
from states.models import Consultation, Request



def service_start(issued_on: dt.date, served_on: dt.date | None, calendar: WorkCalendar,
                  settings: Settings) -> tuple[dt.date, bool]:
    """The day a recipient's period counts from, and whether it is only presumed."""
    if served_on is not None:
        return served_on, False
    return calendar.workday_after(issued_on, settings.presumed_service_days), True


def _period_end(issued_on: dt.date | None, served_on: dt.date | None, days: int,
                calendar: WorkCalendar, settings: Settings) -> tuple[dt.date | None, bool]:
    if issued_on is None:
        return None, False
    try:
        start, presumed = service_start(issued_on, served_on, calendar, settings)
        return calendar.workday_after(start, days), presumed
    except CalendarYearMissing:
        return None, served_on is None


def supplement_period_days(row: Request, calendar: WorkCalendar, settings: Settings) -> int:
    if row.supplement_period_days:
        return row.supplement_period_days
    # Rows from before the period was stored: the deadline was counted from the notice's day.
    if row.supplement_deadline and row.supplement_requested_on:
        try:
            return calendar.workdays_between(row.supplement_requested_on, row.supplement_deadline)
        except CalendarYearMissing:
            pass
    return settings.supplement_period_days


def supplement_deadline(row: Request, calendar: WorkCalendar,
                        settings: Settings | None = None) -> tuple[dt.date | None, bool]:
    """Last day to supplement (补正): period working days after the notice's service date."""
    settings = settings or get_settings()
    if row.supplement_requested_on is None:
        return None, False
    return _period_end(row.supplement_requested_on, row.supplement_served_on,
                       supplement_period_days(row, calendar, settings), calendar, settings)


def reasons_deadline(row: Request, calendar: WorkCalendar,
                     settings: Settings | None = None) -> tuple[dt.date | None, bool]:
    """Last day to explain (Art 35): the notice's period from its service date."""
    settings = settings or get_settings()
    return _period_end(row.reasons_requested_on, row.reasons_served_on,
                       row.reasons_period_days or settings.reasons_period_days, calendar, settings)


def consultation_lapse(c: Consultation, calendar: WorkCalendar,
                       settings: Settings | None = None) -> tuple[dt.date | None, bool]:
    """The day a consultation lapses: working day 15 after its letter's service date."""
    return _period_end(c.sent_on, c.served_on, CONSULTATION_DAYS, calendar,
                       settings or get_settings())


def fee_deadline(row: Request, calendar: WorkCalendar, settings: Settings | None = None) -> dt.date | None:
    """Last day to pay a noticed fee (working day 20 after the notice's service date); None when
    no fee was noticed or the calendar year it falls in is not loaded."""
    return fee_deadline_presumed(row, calendar, settings)[0]


def fee_deadline_presumed(row: Request, calendar: WorkCalendar,
                          settings: Settings | None = None) -> tuple[dt.date | None, bool]:
    return _period_end(row.fee_notified_on, row.fee_served_on, FEE_PAYMENT_DAYS, calendar,
                       settings or get_settings())


def refresh_deadlines(row: Request, consultations: list[Consultation], calendar: WorkCalendar,
                      settings: Settings) -> dict:
    """Store the 补正 deadline and each consultation's lapse date as the calendar and service
    dates now make them; returns what changed, {field: [old, new]}, for the audit event."""
    changed: dict = {}
    deadline, _ = supplement_deadline(row, calendar, settings)
    if row.supplement_requested_on is not None and deadline != row.supplement_deadline:
        changed["supplement_deadline"] = [row.supplement_deadline, deadline]
        row.supplement_deadline = deadline
    for c in consultations:
        lapse, _ = consultation_lapse(c, calendar, settings)
        if lapse != c.lapses_on:
            changed[f"consultation_{c.id}_lapses_on"] = [c.lapses_on, lapse]
            c.lapses_on = lapse
    return changed


def consultations_of(session: Session, request_id: int) -> list[Consultation]:
    return list(session.exec(_OF_ONE, params={"id": request_id}))


def consultations_by_request(session: Session, request_ids: list[int]) -> dict[int, list[Consultation]]:
    """`consultations_of` for a page of requests in one query."""
    found: dict[int, list[Consultation]] = {}
    if request_ids:
        for c in session.exec(_OF_MANY, params={"ids": request_ids}):
            found.setdefault(c.request_id, []).append(c)
    return found


# Built once: a page's statement was built and its cache key computed over its 50 ids on every
# call; an expanding parameter keeps one statement for any page.
_OF_ONE = select(Consultation).where(Consultation.request_id == bindparam("id")).order_by(Consultation.id)
_OF_MANY = (select(Consultation).where(Consultation.request_id.in_(bindparam("ids", expanding=True)))
            .order_by(Consultation.id))


def ledger_of(row: Request, consultations: list[Consultation], calendar: WorkCalendar,
              settings: Settings, *, closed: bool = False) -> Ledger:
    stops = []
    for c in consultations:
        label = "征求第三方意见" if c.party == ConsultationParty.third_party else "征求其他机关意见"
        lapse, presumed = consultation_lapse(c, calendar, settings)
        stops.append(Stop(c.party, label, c.sent_on, c.closed_on, lapse, presumed))
    if row.fee_notified_on and settings.fee_stops_clock:
        # Without the year's calendar the bound is None and compute_clock reports the year.
        deadline, presumed = fee_deadline_presumed(row, calendar, settings)
        stops.append(Stop("fee", "等待缴纳费用", row.fee_notified_on, row.fee_paid_on, deadline,
                          presumed))
    return Ledger(received_on=row.received_on, supplement_requested_on=row.supplement_requested_on,
                  supplement_received_on=row.supplement_received_on, stops=tuple(stops),
                  extension_days=row.extension_days, extension_approved_by=row.extension_approved_by,
                  replied_on=row.replied_on, deferred_to=row.deferred_to,
                  closed=closed or row.state in DECIDED_STATES)


def clock_for(session: Session, row: Request, calendar: WorkCalendar,
              settings: Settings | None = None) -> Clock:
    settings = settings or get_settings()
    consultations = consultations_of(session, row.id)
    return compute_clock(ledger_of(row, consultations, calendar, settings), calendar)


def recompute_clock(row: Request, consultations: list[Consultation], calendar: WorkCalendar,
                    settings: Settings, *, actor: str, on: dt.date, reason: str,
                    data: dict | None = None) -> dict | None:
    """Recompute a locked open request's periods and clock outside any event (a calendar year
    was loaded, a service date recorded in bulk).

    When the due date or a stored period end changed, updates the rows (due date, version) and
    returns the `recompute_clock` audit event (with the old and new dates and why) for the
    caller to append with `audit.append_many` in the same transaction; the caller moves the
    chain head."""
    changed = refresh_deadlines(row, consultations, calendar, settings)
    clock = compute_clock(ledger_of(row, consultations, calendar, settings), calendar)
    if clock.due_on == row.due_on and not changed:
        return None
    event = {"request_id": row.id, "seq": row.audit_seq + 1, "prev_hash": row.audit_head,
             "on": on, "actor": actor, "event": "recompute_clock", "from_state": row.state,
             "to_state": row.state,
             "data": {"old_due_on": row.due_on, "new_due_on": clock.due_on, "reason": reason,
                      "provisional": clock.provisional, **({"changed": changed} if changed else {}),
                      **(data or {})}}
    row.due_on = clock.due_on
    row.version += 1
    return event
