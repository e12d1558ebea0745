"""Calendar routes: which years are official or provisional, and what loading a year changed."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request as HttpRequest

from api.deps import CalendarReader, Reader, SessionDep
from api.responses import CalendarChanges, CalendarYears
from api.schemas import ERROR_RESPONSES
from states.calendar_years import calendar_changes, calendar_years

router = APIRouter(prefix="/api/v1/calendar", tags=["supervision"], responses=ERROR_RESPONSES)


@router.get("/years", response_model=CalendarYears)
def list_years(session: SessionDep, http: HttpRequest, user: CalendarReader):
    """Each countable year: `official` (chinesecalendar or a loaded State Council notice, with its
    source) or `provisional` (Mon–Fri less the statutory holidays, until the notice is loaded)."""
    return {"items": calendar_years(session, http.app.state.settings)}


@router.get("/changes", response_model=CalendarChanges)
def list_changes(session: SessionDep, user: Reader,
                 year: Annotated[int | None, Query(ge=2004, le=2100)] = None):
    """Requests whose due date moved when a calendar year was loaded (old, new, why): those of
    the agencies the user sees."""
    unit = user.unit_id if user.role == "staff" else None  # staff of a unit: its requests
    return {"items": calendar_changes(session, year, user.agency_ids, unit)}
