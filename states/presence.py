"""Which of a request's dependent records exist, asked in one statement: its view then reads only
those that do. Most open requests have no consultation, confidentiality review or internal
consultation yet, and each was a round trip of the view to learn so (benchmarks/supervision.py)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import text
from sqlmodel import Session

# Plain SQL, built once: the ORM's statement building was most of each probe's cost.
_PRESENT = text(
    "SELECT EXISTS (SELECT 1 FROM consultation WHERE request_id = :id), "
    "EXISTS (SELECT 1 FROM confidentiality_review WHERE request_id = :id), "
    "EXISTS (SELECT 1 FROM internal_consultation WHERE request_id = :id)")


class Present(NamedTuple):
    consultations: bool        # 征求意见 (Art 32/34)
    review: bool               # 保密审查
    internal_consultations: bool


def present(session: Session, request_id: int) -> Present:
    return Present(*(bool(v) for v in session.execute(_PRESENT, {"id": request_id}).one()))
