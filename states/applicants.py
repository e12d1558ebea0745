"""One applicant's requests to one agency in a calendar month (Art 35's counts, 109号's per-item
fees), grouped by the applicant key each request carries (`core.personal_data.applicant_key`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from core.sql import month_start, next_month_start
from states.models import Request


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first, following


def place_in_month(session: Session, row: Request) -> int:
    """The request's place among its applicant's requests to the same agency in its calendar
    month of receipt, counted in order of receipt (then of registration): 1 for the first."""
    first, following = month_of(row.received_on)
    earlier = session.exec(select(func.count()).select_from(Request).where(
        Request.agency_id == row.agency_id, Request.applicant_key == row.applicant_key,
        Request.received_on >= first, Request.received_on < row.received_on)).one()
    same_day = session.exec(select(func.count()).select_from(Request).where(
        Request.agency_id == row.agency_id, Request.applicant_key == row.applicant_key,
        Request.received_on == row.received_on, Request.id <= row.id)).one()
    return int(earlier) + int(same_day)


def month_count(session: Session, row: Request) -> int:
    """All of the applicant's requests to the agency in the calendar month of this one's receipt."""
    first, following = month_of(row.received_on)
    return int(session.execute(_MONTH_COUNT, {"agency_id": row.agency_id, "key": row.applicant_key,
                                              "first": first, "following": following}).scalar_one())


# Built once: building it was three quarters of each call (0.43 → 0.11 ms on PostgreSQL), and
# every view of an open request asks it for the Art 35 prompt.
_MONTH_COUNT = select(func.count()).select_from(Request).where(
    Request.agency_id == bindparam("agency_id"), Request.applicant_key == bindparam("key"),
    Request.received_on >= bindparam("first"), Request.received_on < bindparam("following"))

_OTHER = aliased(Request, name="same_applicant")
# `month_count` of the request a statement reads, as one of its columns (states/presence.py): the
# month's bounds computed by the database from the row's own date of receipt. 0 with no key.
MONTH_COUNT_OF_REQUEST = select(func.count()).select_from(_OTHER).where(
    _OTHER.agency_id == Request.agency_id, _OTHER.applicant_key == Request.applicant_key,
    _OTHER.received_on >= month_start(Request.received_on),
    _OTHER.received_on < next_month_start(Request.received_on)).scalar_subquery()
