"""How one request is shown — its facts, clock, allowed events, consultations, decision — to the
API's JSON and the web pages alike (both read it; neither reaches into the other)."""

from __future__ import annotations


import json

from sqlmodel import Session, select

from core.config import Settings
from states.calendar_years import calendar_for
from states.models import Consultation, Decision, Request
from states.clock import compute_clock
from states.ledger import (consultation_lapse, consultations_of, fee_deadline_presumed, ledger_of,
                           supplement_deadline)
from states.workdays import WorkCalendar
from states.agency import agency_code, agency_of, signoff_groups, unit_name
from states.codes import OUTCOMES
from states.machine import FINISHED_STATES
from states.fingerprints import repeat_candidates
from states.presence import present, view_facts
from states.prompts import prompts_for
from states.review_step import internal_consultations_of, redactions_of, review_of
from states.service import allowed_events


def request_view(session: Session, row: Request, settings: Settings, *, full: bool = True,
                 calendar: WorkCalendar | None = None,
                 consultations: list[Consultation] | None = None) -> dict:
    """A list passes the calendar and each row's consultations, read once for the whole page.
    A row read by `read_for_view` (states/presence.py) came with the rest of what this reads."""
    facts = view_facts(session, row) if full else None
    calendar = calendar or calendar_for(session, settings,
                                        loaded=facts.calendar_years if facts else None)
    # The full view asks once which dependent records exist and reads only those.
    has = (facts.present if facts else present(session, row)) if full else None
    if consultations is None:
        consultations = consultations_of(session, row.id) if has is None or has.consultations else []
    clock = compute_clock(ledger_of(row, consultations, calendar, settings), calendar)
    today = settings.today()
    finished = row.replied_on is not None or row.state in FINISHED_STATES
    days_left = None if finished else clock.days_left(today, calendar)
    view = {
        "id": row.id, "number": row.number, "state": row.state, "version": row.version,
        "received_on": row.received_on, "channel": row.channel,
        # The full view's prompts read the agency row anyway; a page reads every code at once.
        "agency": (agency_of(session, row).code if full or row.agency_id in session.info.get("agencies", {})
                   else agency_code(session, row.agency_id)),
        "unit": (facts.unit_name if facts else unit_name(session, row.unit_id)) if row.unit_id else None,
        "department": row.department, "assignee": row.assignee, "due_on": row.due_on,
        # counted partly on a provisional calendar year: may move when the notice is loaded
        "due_on_provisional": clock.provisional,
        # rests on a letter whose service date is not recorded yet (counted from a presumed one)
        "due_on_presumed": clock.presumed,
        "due_on_error": clock.error,
        "days_left": days_left,
        "overdue": bool(not finished and clock.overdue(today)),
        "stopped": bool(not finished and clock.stopped_on(today)),
        "allowed_events": allowed_events(row),
        "deadline_flag": row.deadline_flag,  # due_soon / overdue as of the last sweep_deadlines
    }
    if not full:
        return view
    # The one door copies a decision's outcome onto the request (migration 0012 carried the
    # older ones forward): no outcome, no decision row to read.
    decision = None if row.outcome is None else facts.decision if facts else session.exec(
        select(Decision).where(Decision.request_id == row.id)).first()
    review = review_of(session, row.id) if has.review else None
    similar = [] if facts and not facts.repeat_candidates else [
        {**s, "url": f"/api/v1/requests/{s['id']}"} for s in repeat_candidates(session, row)]
    view.update({
        # Staff see who applied and how to reach them; the ID number is never echoed back.
        "applicant": {"name": row.applicant_name, "kind": row.applicant_kind,
                      "phone": row.applicant_phone, "email": row.applicant_email,
                      "address": row.applicant_address,
                      "id_number_on_file": row.applicant_id_number is not None},
        "description": row.description, "requested_form": row.requested_form,
        "clock": {
            "start": clock.start, "due_on": clock.due_on, "days_left": days_left,
            "stopped": bool(not finished and clock.stopped_on(today)),
            "stopped_since": clock.stopped_since if clock.stopped_on(today) else None,
            "stop_lapses_on": clock.stop_bound, "stop_presumed": clock.presumed,
            "stopped_workdays": clock.stopped_workdays,
            "supplement_notice_due": clock.supplement_notice_due,
            "provisional": clock.provisional, "error": clock.error,
            "explanation_zh": "；".join(clock.explanation_zh),
            "explanation_en": "; ".join(clock.explanation_en),
        },
        "supplement": None if row.supplement_requested_on is None else {
            "requested_on": row.supplement_requested_on,
            "items": (row.supplement_items or "").split("\n"),
            "served_on": row.supplement_served_on,
            # until the notice's service date is recorded, counted from a presumed one
            "deadline": row.supplement_deadline,
            "deadline_presumed": supplement_deadline(row, calendar, settings)[1],
            "deadline_provisional": calendar.is_provisional(row.supplement_deadline),
            "received_on": row.supplement_received_on},
        "extension": None if not row.extension_days else {
            "days": row.extension_days, "approved_by": row.extension_approved_by,
            "on": row.extended_on, "reason": row.extension_reason},
        # asked by staff, awaiting the head's approval: not applied to the clock yet
        "extension_request": None if row.extension_requested_days is None else {
            "days": row.extension_requested_days, "reason": row.extension_request_reason,
            "requested_by": row.extension_requested_by, "requested_on": row.extension_requested_on},
        "reply_approval": None if row.reply_approved_by is None else {
            "approved_by": row.reply_approved_by, "on": row.reply_approved_on},
        "confidentiality_review": None if review is None else {
            "conclusion": review.conclusion, "basis": review.basis, "reviewer": review.reviewer,
            "reviewed_on": review.reviewed_on, "redactions": redactions_of(review)},
        "internal_consultations": [
            {"id": c.id, "body": c.body, "name": c.name, "matter": c.matter, "sent_on": c.sent_on,
             "closed_on": c.closed_on, "opinion": c.opinion}
            for c in (internal_consultations_of(session, row.id) if has.internal_consultations
                      else [])],
        "legal_signoff": None if row.legal_signed_by is None else {
            "signed_by": row.legal_signed_by, "on": row.legal_signed_on},
        "legal_returned_on": row.legal_returned_on,
        "signoffs_required": _signoffs_required(session, row, decision),
        "fee": None if row.fee_notified_on is None else _fee_view(row, calendar, settings),
        "consultations": [_consultation_view(c, calendar, settings) for c in consultations],
        "decision": None if decision is None else {
            "outcome": decision.outcome, "reason": decision.reason,
            "responsible_agency": decision.responsible_agency,
            "responsible_agency_contact": decision.responsible_agency_contact,
            "withheld_ground": decision.withheld_ground,
            "overrides": json.loads(decision.overrides) if decision.overrides else [],
            "correction": decision.correction,
            "decided_on": decision.decided_on, "decided_by": decision.decided_by},
        "similar_requests": similar,
        "prompts": prompts_for(session, row, similar,
                               counted=facts.month_count if facts else None),
        "replied_on": row.replied_on, "archived_on": row.archived_on,
    })
    return view


def _signoffs_required(session: Session, row: Request, decision: Decision | None) -> list[str]:
    if decision is None or row.state != "decided":
        return []
    group = OUTCOMES[decision.outcome].report_group
    head, legal = signoff_groups(session, row)
    return ([e for e, groups, done in (("legal_signoff", legal, row.legal_signed_by),
                                        ("approve_reply", head, row.reply_approved_by))
             if group in groups and not done])


def _fee_view(row: Request, calendar, settings: Settings) -> dict:
    pay_by, presumed = fee_deadline_presumed(row, calendar, settings)
    return {"notified_on": row.fee_notified_on, "amount_yuan": row.fee_amount_yuan,
            "served_on": row.fee_served_on, "pay_by": pay_by, "pay_by_presumed": presumed,
            "pay_by_provisional": calendar.is_provisional(pay_by), "paid_on": row.fee_paid_on,
            "method": row.fee_method, "units": row.fee_units, "basis": row.fee_basis}


def _consultation_view(c, calendar, settings: Settings) -> dict:
    lapse, presumed = consultation_lapse(c, calendar, settings)
    return {"id": c.id, "party": c.party, "name": c.name, "matter": c.matter, "sent_on": c.sent_on,
            "letter_id": c.letter_id, "served_on": c.served_on, "lapses_on": lapse,
            "lapse_presumed": presumed, "lapse_provisional": calendar.is_provisional(lapse),
            "closed_on": c.closed_on, "opinion": c.opinion, "note": c.note}


def audit_view(ev) -> dict:
    return {"seq": ev.seq, "recorded_at": ev.recorded_at, "on": ev.on, "actor": ev.actor,
            "event": ev.event, "from_state": ev.from_state, "to_state": ev.to_state,
            "data": json.loads(ev.data), "prev_hash": ev.prev_hash, "hash": ev.hash}


