"""What happens by the passing of time, as plain functions the Prefect flows call.

Periods run from the service date of the letter that started them (送达日): a period whose
service date is not recorded is counted from a presumed date for display, but never closed here.
Each lapse is closed through the one door with actor `system:sweep_deadlines`, one request per
transaction, so one bad request never holds back the rest. `today` is a parameter: tests and an
operator replaying a missed day run it for any date; a second run for the same day is a no-op.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import select

from core.config import Settings, get_settings
from core.db import session_scope
from core.logging import get_logger
from states.calendar_years import calendar_for
from states.codes import ConsultationParty
from states.errors import DomainError
from states.models import Consultation, Request
from states.service import advance, fee_deadline

ACTOR = "system:sweep_deadlines"
log = get_logger("workflows.sweeps")
# Art 34: another agency's silence counts as consent; Art 32: a third party's silence leaves the
# decision to the agency. Both stop the clock only until the lapse date.
SILENCE_NOTE = {
    ConsultationParty.agency: "逾期未提出意见，视为同意公开（条例第三十四条）",
    ConsultationParty.third_party: "逾期未提出意见，由本机关依法决定是否公开（条例第三十二条）",
}


@dataclass(frozen=True)
class Lapse:
    """One lapse found on `today`, to close through the one door."""
    kind: str              # no_supplement / consultation / fee_unpaid
    request_id: int
    number: str
    event: str
    on: dt.date
    data: dict


@dataclass
class SweepResult:
    no_supplement: list[str] = field(default_factory=list)       # closed as other_no_supplement
    consultations_lapsed: list[str] = field(default_factory=list)
    fee_unpaid: list[str] = field(default_factory=list)          # closed as other_fee_unpaid
    failed: dict[str, str] = field(default_factory=dict)
    # lapsed on a provisional calendar year: left for staff, never closed automatically
    held_provisional: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.no_supplement) + len(self.consultations_lapsed) + len(self.fee_unpaid)

    def bucket(self, kind: str) -> list[str]:
        return {"no_supplement": self.no_supplement, "consultation": self.consultations_lapsed,
                "fee_unpaid": self.fee_unpaid}[kind]


def find_lapses(engine: Engine, today: dt.date, settings: Settings | None = None,
                held: list[str] | None = None) -> list[Lapse]:
    """Lapsed 补正 periods, consultations and fee periods as of `today`, oldest first.

    A period that ran out on a provisional calendar year is not closed: when the State Council
    publishes the year its last day may move later, and a request deemed abandoned (or a
    consultation deemed silent) cannot be undone. Such requests are named in `held` for staff."""
    settings = settings or get_settings()
    found: list[Lapse] = []
    held = held if held is not None else []
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)

        def official(number: str, *days) -> bool:
            if calendar.is_provisional(*days):
                held.append(number)
                return False
            return True

        for rid, number, deadline in session.exec(select(Request.id, Request.number,
                                                         Request.supplement_deadline).where(
                Request.state == "awaiting_supplement", Request.supplement_deadline < today,
                Request.supplement_served_on.is_not(None))
                .order_by(Request.id)):
            if not official(number, deadline, today):
                continue
            found.append(Lapse("no_supplement", rid, number, "decide", today,
                               {"outcome": "other_no_supplement", "reason": "申请人逾期未补正"}))
        for cid, party, lapses_on, rid, number, last_on in session.exec(
                select(Consultation.id, Consultation.party, Consultation.lapses_on, Request.id,
                       Request.number, Request.last_event_on)
                .join(Request, Request.id == Consultation.request_id)
                .where(Request.state == "consulting", Consultation.closed_on.is_(None),
                       Consultation.served_on.is_not(None), Consultation.lapses_on < today)
                .order_by(Consultation.lapses_on, Consultation.id)):
            if not official(number, lapses_on, today):
                continue
            # The stop ends on the lapse date, not on the day the sweep noticed it.
            found.append(Lapse("consultation", rid, number, "close_consultation",
                               max(lapses_on, last_on),
                               {"consultation_id": cid, "opinion": "no_reply",
                                "note": SILENCE_NOTE[ConsultationParty(party)]}))
        for row in session.exec(select(Request).where(Request.state == "awaiting_fee",
                                                      Request.fee_served_on.is_not(None))
                                .order_by(Request.id)):
            deadline = fee_deadline(row, calendar, settings)
            if deadline is not None and deadline < today and official(row.number, deadline, today):
                found.append(Lapse("fee_unpaid", row.id, row.number, "decide", today,
                                   {"outcome": "other_fee_unpaid", "reason": "申请人逾期未缴纳费用"}))
    return found


def apply_lapse(engine: Engine, lapse: Lapse, settings: Settings | None = None) -> str | None:
    """Close one lapse through the one door. Returns None, or why the door refused it."""
    try:
        with session_scope(engine) as session:
            advance(session, lapse.request_id, lapse.event, ACTOR, on=lapse.on,
                    settings=settings or get_settings(), **lapse.data)
            session.commit()
        return None
    except DomainError as exc:  # e.g. staff acted meanwhile: the request is no longer lapsed
        log.warning("sweep_step_refused", request_number=lapse.number, event_name=lapse.event,
                    problem=str(exc))
        return str(exc)


def sweep_lapses(engine: Engine, today: dt.date, settings: Settings | None = None) -> SweepResult:
    """Close lapsed 补正 periods, lapsed consultations and unpaid fees as of `today`, without
    Prefect (the flow does the same, one sub-flow a request)."""
    settings = settings or get_settings()
    result = SweepResult()
    for lapse in find_lapses(engine, today, settings, held=result.held_provisional):
        problem = apply_lapse(engine, lapse, settings)
        if problem is None:
            result.bucket(lapse.kind).append(lapse.number)
        else:
            result.failed[lapse.number] = problem
    log.info("sweep_lapses_done", today=today.isoformat(), changed=result.changed,
             failed=len(result.failed), held_provisional=result.held_provisional)
    return result
