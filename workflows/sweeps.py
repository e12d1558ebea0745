"""What happens by the passing of time, as plain functions the Prefect flows call.

Periods run from the service date of the letter that started them (送达日): a period whose
service date is not recorded is counted from a presumed date for display, but never closed here.
Each lapse is closed through the one door with actor `system:sweep_deadlines`. Lapses are closed
a batch per transaction, each request in its own savepoint: a request the door refuses (staff
acted meanwhile) or the database refuses is rolled back alone and named, and the rest of the
batch commits — one bad request never holds back the others, and a day's few hundred lapses cost
a few commits, not one each. `today` is a parameter: tests and an operator replaying a missed
day run it for any date; a second run for the same day is a no-op.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import read_only, session_scope
from core.logging import get_logger, mask_text
from states.calendar_years import calendar_for
from states.clock import FEE_PAYMENT_DAYS
from states.codes import ConsultationParty
from states.errors import DomainError
from states.models import Consultation, Request
from states.service import advance, fee_deadline
from states.workdays import WorkCalendar

ACTOR = "system:sweep_deadlines"
BATCH = 50  # lapses per transaction: ~0.3 s of one door each, the longest a writer then waits
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


@dataclass(frozen=True)
class Outcome:
    """What closing one lapse came to: closed (`problem` None), refused by the door (a
    `DomainError`: the request is no longer lapsed, say) or failed (`unexpected`: the database
    or the code; the error's text masked, for the summary and the Prefect UI)."""
    lapse: Lapse
    problem: str | None = None
    unexpected: bool = False

    @property
    def result(self) -> str:
        return "closed" if self.problem is None else "failed" if self.unexpected else "refused"


@dataclass
class SweepResult:
    no_supplement: list[str] = field(default_factory=list)       # closed as other_no_supplement
    consultations_lapsed: list[str] = field(default_factory=list)
    fee_unpaid: list[str] = field(default_factory=list)          # closed as other_fee_unpaid
    failed: dict[str, str] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)  # of `failed`: not the door's refusal
    # lapsed on a provisional calendar year: left for staff, never closed automatically
    held_provisional: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.no_supplement) + len(self.consultations_lapsed) + len(self.fee_unpaid)

    def bucket(self, kind: str) -> list[str]:
        return {"no_supplement": self.no_supplement, "consultation": self.consultations_lapsed,
                "fee_unpaid": self.fee_unpaid}[kind]

    def add(self, outcomes: list[Outcome]) -> None:
        for o in outcomes:
            if o.problem is None:
                self.bucket(o.lapse.kind).append(o.lapse.number)
            else:
                self.failed[o.lapse.number] = o.problem
                if o.unexpected:
                    self.unexpected.append(o.lapse.number)


def find_lapses(engine: Engine, today: dt.date, settings: Settings | None = None,
                held: list[str] | None = None) -> list[Lapse]:
    """Lapsed 补正 periods, consultations and fee periods as of `today`, oldest first.

    A period that ran out on a provisional calendar year is not closed: when the State Council
    publishes the year its last day may move later, and a request deemed abandoned (or a
    consultation deemed silent) cannot be undone. Such requests are named in `held` for staff.
    Read in one snapshot that blocks no writer; each query walks only its state's rows."""
    settings = settings or get_settings()
    found: list[Lapse] = []
    held = held if held is not None else []
    with read_only(engine) as conn, Session(bind=conn) as session:
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
        # 20 working days are at least 20 calendar days: a notice served later cannot have run
        # out, so only the older ones are read and counted.
        for row in session.exec(select(Request).where(
                Request.state == "awaiting_fee", Request.fee_served_on.is_not(None),
                Request.fee_served_on < today - dt.timedelta(days=FEE_PAYMENT_DAYS))
                .order_by(Request.id)):
            deadline = fee_deadline(row, calendar, settings)
            if deadline is not None and deadline < today and official(row.number, deadline, today):
                found.append(Lapse("fee_unpaid", row.id, row.number, "decide", today,
                                   {"outcome": "other_fee_unpaid", "reason": "申请人逾期未缴纳费用"}))
    return found


def _problem(exc: Exception) -> str:
    """An unexpected error in one line, masked: PostgreSQL's next lines quote the failing row."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return mask_text(f"{type(exc).__name__}: {first}")[:500]


def _close(session: Session, lapse: Lapse, calendar: WorkCalendar, settings: Settings) -> Outcome:
    """One lapse through the one door, in a savepoint of the caller's transaction."""
    try:
        with session.begin_nested():
            advance(session, lapse.request_id, lapse.event, ACTOR, on=lapse.on,
                    settings=settings, calendar=calendar, **lapse.data)
        return Outcome(lapse)
    except DomainError as exc:  # e.g. staff acted meanwhile: the request is no longer lapsed
        log.warning("sweep_step_refused", request_number=lapse.number, event_name=lapse.event,
                    problem=str(exc))
        return Outcome(lapse, str(exc))
    except Exception as exc:  # the database refused it, or a bug: this request alone
        problem = _problem(exc)
        log.error("sweep_step_failed", request_number=lapse.number, event_name=lapse.event,
                  problem=problem)
        return Outcome(lapse, problem, unexpected=True)
    finally:
        session.expunge_all()  # nothing of this request's rows is left for the next one's flush


def apply_lapses(engine: Engine, lapses: list[Lapse], settings: Settings | None = None) -> list[Outcome]:
    """Close `lapses` through the one door in one transaction, each request in its own
    savepoint (so a refusal rolls back that request alone). Should the commit itself fail, each
    is tried again in a transaction of its own: one bad request never holds back the rest."""
    settings = settings or get_settings()
    if not lapses:
        return []
    try:
        with session_scope(engine) as session:
            calendar = calendar_for(session, settings)
            outcomes = [_close(session, lapse, calendar, settings) for lapse in lapses]
            session.commit()
        return outcomes
    except Exception as exc:
        if len(lapses) == 1:
            problem = _problem(exc)
            log.error("sweep_step_failed", request_number=lapses[0].number,
                      event_name=lapses[0].event, problem=problem)
            return [Outcome(lapses[0], problem, unexpected=True)]
        log.warning("sweep_batch_retried_one_by_one", requests=len(lapses),
                    problem=_problem(exc))
        return [o for lapse in lapses for o in apply_lapses(engine, [lapse], settings)]


def apply_lapse(engine: Engine, lapse: Lapse, settings: Settings | None = None) -> str | None:
    """Close one lapse through the one door. Returns None, or why it was not closed."""
    return apply_lapses(engine, [lapse], settings)[0].problem


def batches(lapses: list[Lapse], size: int = BATCH) -> list[list[Lapse]]:
    """`lapses` in batches of one kind, at most `size` each, in the order found."""
    by_kind: dict[str, list[Lapse]] = {}
    for lapse in lapses:
        by_kind.setdefault(lapse.kind, []).append(lapse)
    return [group[i:i + size] for group in by_kind.values() for i in range(0, len(group), size)]


def sweep_lapses(engine: Engine, today: dt.date, settings: Settings | None = None) -> SweepResult:
    """Close lapsed 补正 periods, lapsed consultations and unpaid fees as of `today`, without
    Prefect (the flow does the same, one task run a batch)."""
    settings = settings or get_settings()
    result = SweepResult()
    for batch in batches(find_lapses(engine, today, settings, held=result.held_provisional)):
        result.add(apply_lapses(engine, batch, settings))
    log.info("sweep_lapses_done", today=today.isoformat(), changed=result.changed,
             failed=len(result.failed), held_provisional=result.held_provisional)
    return result
