"""The agency a request belongs to, as the rooms above read it (letters, digests): its profile
from the access room's table, so those rooms need not reach into `access` themselves."""

from __future__ import annotations

from sqlmodel import Session, select

from access.agencies import missing, profile
from access.models import Agency, Unit
from core.config import Agency as AgencyProfile
from states.models import Request


def agency_of(session: Session, row: Request) -> Agency:
    """Held by the session once read: the identity map keeps a row only while something refers
    to it, and one `register` read its agency three times (checks, letter facts, sign-offs)."""
    held = session.info.setdefault("agencies", {})
    if row.agency_id not in held:
        held[row.agency_id] = session.get(Agency, row.agency_id)
    return held[row.agency_id]


def agency_profile(session: Session, row: Request) -> tuple[AgencyProfile, list[str]]:
    """(the profile letters print, the required fields still at a placeholder)."""
    agency = agency_of(session, row)
    return profile(agency), missing(agency)


def agency_name(session: Session, agency_id: int) -> str:
    return session.get(Agency, agency_id).name


def signoff_groups(session: Session, row: Request) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The outcome groups whose reply this request's agency has signed off first: by its head
    (负责人签批), and by its legal reviewer (法制审核)."""
    agency = agency_of(session, row)
    return tuple(tuple(g for g in (value or "").split(",") if g)
                 for value in (agency.reply_signoff, agency.legal_signoff))


def all_agency_ids(session: Session) -> list[int]:
    """Every agency's id: the whole government, as the reports count it agency by agency."""
    return list(session.exec(select(Agency.id).order_by(Agency.id)).all())


def agency_code(session: Session, agency_id: int) -> str:
    return _name(session, Agency, agency_id, "code")


def unit_name(session: Session, unit_id: int) -> str:
    return _name(session, Unit, unit_id, "name")


# The names a list shows beside each request, as columns of the statement that reads the rows
# (`with_names`): a page then need not read the agency and unit tables (two round trips of five).
AGENCY_CODE = select(Agency.code).where(Agency.id == Request.agency_id).scalar_subquery()
UNIT_NAME = select(Unit.name).where(Unit.id == Request.unit_id).scalar_subquery()


def with_names(session: Session, query) -> list[Request]:
    """The requests `query` selects, their agencies' codes and units' names held for
    `agency_code` and `unit_name`."""
    names = session.info.setdefault("view_names", {})
    codes, units = names.setdefault("Agency", {}), names.setdefault("Unit", {})
    rows = []
    for row, code, unit in session.execute(query.add_columns(AGENCY_CODE, UNIT_NAME)):
        codes[row.agency_id] = code
        if row.unit_id is not None:
            units[row.unit_id] = unit
        rows.append(row)
    return rows


def _name(session: Session, model, row_id: int, column: str) -> str:
    """The first asks for the whole (small) table once per session: a page of 50 requests read
    its agencies and units one by one (the identity map holds rows only while something refers
    to them)."""
    names = session.info.setdefault("view_names", {})
    if model.__name__ not in names:
        names[model.__name__] = dict(session.exec(select(model.id, getattr(model, column))).all())
    found = names[model.__name__].get(row_id)
    return found if found is not None else getattr(session.get(model, row_id), column)
