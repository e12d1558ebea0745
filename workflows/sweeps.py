"""What happens by the passing of time, as plain functions the Prefect flows will call.

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
from states.calendars import calendar_for
from states.errors import DomainError
from states.models import Consultation, Request
from states.service import advance, fee_deadline

ACTOR = "system:sweep_deadlines"
log = get_logger("workflows.sweeps")


@dataclass
class SweepResult:
    no_supplement: list[str] = field(default_factory=list)       # closed as other_no_supplement
    consultations_lapsed: list[str] = field(default_factory=list)
    fee_unpaid: list[str] = field(default_factory=list)          # closed as other_fee_unpaid
    failed: dict[str, str] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return len(self.no_supplement) + len(self.consultations_lapsed) + len(self.fee_unpaid)


def _step(engine: Engine, settings: Settings, result: SweepResult, bucket: list[str],
          request_id: int, number: str, event: str, on: dt.date, **data) -> None:
    try:
        with session_scope(engine) as session:
            advance(session, request_id, event, ACTOR, on=on, settings=settings, **data)
        bucket.append(number)
    except DomainError as exc:  # e.g. staff acted meanwhile: the request is no longer lapsed
        result.failed[number] = str(exc)
        log.warning("sweep_step_refused", request_number=number, event_name=event, problem=str(exc))


def sweep_lapses(engine: Engine, today: dt.date, settings: Settings | None = None) -> SweepResult:
    """Close lapsed 补正 periods, lapsed consultations and unpaid fees as of `today`."""
    settings = settings or get_settings()
    result = SweepResult()
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)
        supplements = session.exec(select(Request.id, Request.number).where(
            Request.state == "awaiting_supplement", Request.supplement_deadline < today)).all()
        consultations = session.exec(
            select(Consultation.id, Consultation.lapses_on, Request.id, Request.number,
                   Request.last_event_on)
            .join(Request, Request.id == Consultation.request_id)
            .where(Request.state == "consulting", Consultation.closed_on.is_(None),
                   Consultation.lapses_on <= today)
            .order_by(Consultation.lapses_on, Consultation.id)).all()
        fees = [(r.id, r.number) for r in session.exec(select(Request).where(
            Request.state == "awaiting_fee", Request.fee_notified_on.is_not(None)))
            if (deadline := fee_deadline(r, calendar)) is not None and deadline < today]

    for request_id, number in supplements:
        _step(engine, settings, result, result.no_supplement, request_id, number, "decide", today,
              outcome="other_no_supplement", reason="申请人逾期未补正")
    for consultation_id, lapses_on, request_id, number, last_on in consultations:
        # The stop ends on the lapse date, not on the day the sweep noticed it.
        _step(engine, settings, result, result.consultations_lapsed, request_id, number,
              "close_consultation", max(lapses_on, last_on), consultation_id=consultation_id,
              opinion="no_reply", note="逾期未答复（系统按期处理）")
    for request_id, number in fees:
        _step(engine, settings, result, result.fee_unpaid, request_id, number, "decide", today,
              outcome="other_fee_unpaid", reason="申请人逾期未缴纳费用")
    log.info("sweep_lapses_done", today=today.isoformat(), changed=result.changed,
             failed=len(result.failed))
    return result
