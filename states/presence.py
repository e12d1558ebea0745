"""Which of a request's dependent records exist, asked in one statement beside its agency's row:
its view then reads only those that do. Most open requests have no consultation, confidentiality
review or internal consultation yet, and each was a round trip of the view to learn so; the
agency (its code, letterhead and thresholds) was one more (benchmarks/supervision.py)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import bindparam, select
from sqlmodel import Session

from access.models import Agency
from states.models import ConfidentialityReview, Consultation, InternalConsultation, Request


def _exists(model):
    return select(1).where(model.request_id == bindparam("id")).exists()


# Built once: the ORM's statement building was most of each probe's cost.
_FLAGS = (_exists(Consultation), _exists(ConfidentialityReview), _exists(InternalConsultation))
_PRESENT = select(Agency, *_FLAGS).where(Agency.id == bindparam("agency_id"))
_PRESENT_ONLY = select(*_FLAGS)  # the agency already held: the answer of a write that read it


class Present(NamedTuple):
    consultations: bool        # 征求意见 (Art 32/34)
    review: bool               # 保密审查
    internal_consultations: bool


def present(session: Session, row: Request) -> Present:
    """What exists of `row`'s records; its agency is then held by the session (`agency_of`)."""
    held = session.info.setdefault("agencies", {})
    if row.agency_id in held:
        flags = session.execute(_PRESENT_ONLY, {"id": row.id}).one()
    else:
        agency, *flags = session.execute(_PRESENT, {"id": row.id, "agency_id": row.agency_id}).one()
        held[agency.id] = agency
    return Present(*(bool(v) for v in flags))
