"""Which of a request's dependent records exist, asked in one statement beside its agency's row:
its view then reads only those that do. Most open requests have no consultation, confidentiality
review or internal consultation yet, and each was a round trip of the view to learn so; the
agency (its code, letterhead and thresholds) was one more (benchmarks/supervision.py).

`read_for_view` goes further for the one place that shows everything, a request's own view: the
request itself, its agency, its decision, its unit's name, the loaded calendar years, its
applicant's count for the month (Art 35), whether an earlier request of theirs could repeat it
(Art 36(6)) and the same flags in one statement, where the view took four to seven round trips
(on PostgreSQL each ~0.2–0.3 ms: most of the view's time)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlmodel import Session

from access.models import Agency
from states.agency import UNIT_NAME
from states.applicants import MONTH_COUNT_OF_REQUEST
from states.calendar_years import LOADED_TEXT, years_from_text
from states.fingerprints import HAS_CANDIDATES
from states.models import (ConfidentialityReview, Consultation, Decision, InternalConsultation,
                           Request)
from states.workdays import YearSpec


def _exists(model):
    return select(1).where(model.request_id == bindparam("id")).exists()


# Built once: the ORM's statement building was most of each probe's cost.
_FLAGS = (_exists(Consultation), _exists(ConfidentialityReview), _exists(InternalConsultation))
_PRESENT = select(Agency, *_FLAGS).where(Agency.id == bindparam("agency_id"))
_PRESENT_ONLY = select(*_FLAGS)  # the agency already held: the answer of a write that read it
_FOR_VIEW = (select(Request, Agency, Decision, UNIT_NAME, LOADED_TEXT, MONTH_COUNT_OF_REQUEST,
                    HAS_CANDIDATES, *_FLAGS)
             .join(Agency, Agency.id == Request.agency_id)
             .outerjoin(Decision, Decision.request_id == Request.id)
             .where(Request.id == bindparam("id")))


class Present(NamedTuple):
    consultations: bool        # 征求意见 (Art 32/34)
    review: bool               # 保密审查
    internal_consultations: bool


class ViewFacts(NamedTuple):
    """What `read_for_view` read beside the request, for its view (reports/request_view.py)."""
    present: Present
    month_count: int            # Art 35: the applicant's requests to the agency in its month
    repeat_candidates: bool     # Art 36(6): they asked before, and its band keys are shared
    decision: Decision | None
    unit_name: str | None
    calendar_years: tuple[YearSpec, ...]


def present(session: Session, row: Request) -> Present:
    """What exists of `row`'s records; its agency is then held by the session (`agency_of`)."""
    held = session.info.setdefault("agencies", {})
    if row.agency_id in held:
        flags = session.execute(_PRESENT_ONLY, {"id": row.id}).one()
    else:
        agency, *flags = session.execute(_PRESENT, {"id": row.id, "agency_id": row.agency_id}).one()
        held[agency.id] = agency
    return Present(*(bool(v) for v in flags))


def read_for_view(session: Session, request_id: int) -> Request | None:
    """The request (None if there is none), with what its view needs held by the session: its
    agency (`agency_of`) and the rest (`view_facts`)."""
    found = session.execute(_FOR_VIEW, {"id": request_id}).one_or_none()
    if found is None:
        return None
    row, agency, decision, unit, calendar, month_count, candidates, *flags = found
    session.info.setdefault("agencies", {})[agency.id] = agency
    session.info.setdefault("view_facts", {})[row.id] = ViewFacts(
        Present(*(bool(v) for v in flags)), int(month_count), bool(candidates), decision, unit,
        years_from_text(calendar))
    return row


def view_facts(session: Session, row: Request) -> ViewFacts | None:
    """What `read_for_view` read beside `row` in this session, if it did."""
    return session.info.get("view_facts", {}).get(row.id)
