"""Live supervision lists (/api/v1/supervision): overdue and due soon today, counts per agency,
on-time rates — each limited to the requests the user sees."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request as HttpRequest
from pydantic import Field
from sqlmodel import Session, select

from access.agencies import get_agency, get_unit
from access.errors import AccessNotFound, InvalidAccessInput
from access.models import Agency, Unit
from access.policy import Principal
from api.deps import Approver, Reader, SessionDep, visible_request
from api.responses import AgencyCounts, BulkResults, OnTimeRates, WatchPage
from api.routes import approver
from api.schemas import ERROR_RESPONSES, IsoDate, PlainText, Strict
from core.logging import get_logger
from replies.service import advance_and_issue
from states.errors import ConcurrentChange, DomainError, EventNotAllowed, RequestNotFound
from reports import live
from states.calendar_years import calendar_for
from states.codes import ApplicantKind
from states.machine import CLOCKED_STATES

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"], responses=ERROR_RESPONSES)
log = get_logger("api.watch")
CODE = r"^[a-z0-9][a-z0-9-]{0,31}$"
CURSOR = r"^\d{4}-\d{2}-\d{2}:\d{1,10}$"


def _filters(session: Session, user: Principal, agency: str | None, unit: str | None,
             assignee: str | None, stage: str | None, applicant_kind: str | None) -> live.Filters:
    agency_row = None
    if agency:
        try:
            agency_row = get_agency(session, agency)
        except AccessNotFound:
            raise InvalidAccessInput("agency", f"no agency {agency!r}") from None
    unit_id = user.unit_id if user.role == "staff" else None
    if unit:
        if agency_row is None:
            raise InvalidAccessInput("unit", "name the agency of the unit too")
        unit_id = get_unit(session, agency_row, unit).id
        if user.role == "staff" and user.unit_id not in (None, unit_id):
            unit_id = -1  # staff of another unit: nothing
    return live.Filters(agency_ids=user.agency_ids, unit_id=unit_id,
                        agency_id=agency_row.id if agency_row else None, assignee=assignee,
                        stage=stage, applicant_kind=applicant_kind)


def _codes(session: Session, ids: set[int]) -> dict[int, str]:
    return dict(session.exec(select(Agency.id, Agency.code).where(Agency.id.in_(sorted(ids)))).all())


def _page(session: Session, page: live.Page) -> dict:
    codes = _codes(session, {i["agency_id"] for i in page.items})
    units = dict(session.exec(select(Unit.id, Unit.name).where(
        Unit.id.in_(sorted({i["unit_id"] for i in page.items if i["unit_id"]})))).all())
    items = []
    for i in page.items:
        i = dict(i)
        i["agency"], i["unit"] = codes[i.pop("agency_id")], units.get(i.pop("unit_id"))
        items.append(i)
    return {"total": page.total, "next_after": page.next_after, "items": items}


Agency_ = Annotated[str | None, Query(pattern=CODE, description="one agency's code")]
Unit_ = Annotated[PlainText | None, Query(max_length=100, description="a unit of that agency")]
Assignee = Annotated[PlainText | None, Query(max_length=200)]
Stage = Annotated[str | None, Query(pattern="^(" + "|".join(CLOCKED_STATES) + ")$")]
Kind = Annotated[str | None, Query(pattern="^(" + "|".join(k.value for k in ApplicantKind) + ")$")]
Limit = Annotated[int, Query(ge=1, le=500)]
After = Annotated[str | None, Query(pattern=CURSOR, description="`next_after` of the page before")]


@router.get("/overdue", response_model=WatchPage)
def overdue(session: SessionDep, http: HttpRequest, user: Reader, agency: Agency_ = None,
            unit: Unit_ = None, assignee: Assignee = None, stage: Stage = None,
            applicant_kind: Kind = None, limit: Limit = 50, after: After = None):
    """Overdue today (live, not the nightly flag), most overdue first; a lawfully extended or
    stopped request is never in it. `days_left` is negative: the working days late."""
    settings = http.app.state.settings
    f = _filters(session, user, agency, unit, assignee, stage, applicant_kind)
    page = live.overdue(session, settings.today(), calendar_for(session, settings), f,
                        limit=limit, after=after)
    return _page(session, page)


@router.get("/due-soon", response_model=WatchPage)
def due_soon(session: SessionDep, http: HttpRequest, user: Reader, agency: Agency_ = None,
             unit: Unit_ = None, assignee: Assignee = None, stage: Stage = None,
             applicant_kind: Kind = None, limit: Limit = 50, after: After = None):
    """Due within GONGKAI_DUE_SOON_DAYS working days and running today, soonest first."""
    settings = http.app.state.settings
    f = _filters(session, user, agency, unit, assignee, stage, applicant_kind)
    page = live.due_soon(session, settings.today(), calendar_for(session, settings), settings, f,
                         limit=limit, after=after)
    return _page(session, page)


@router.get("/counts", response_model=AgencyCounts)
def counts(session: SessionDep, http: HttpRequest, user: Reader):
    """Per agency the user sees: open requests, overdue today, due soon today."""
    settings = http.app.state.settings
    found = live.counts(session, settings.today(), calendar_for(session, settings), settings,
                        user.agency_ids)
    codes = _codes(session, set(found))
    return {"items": [{"agency": codes[a], **found[a]} for a in sorted(found, key=codes.get)]}


@router.get("/on-time", response_model=OnTimeRates)
def on_time(session: SessionDep, http: HttpRequest, user: Reader,
            start: Annotated[IsoDate, Query(alias="from", description="first reply day counted")],
            end: Annotated[IsoDate, Query(alias="to", description="last reply day counted")]):
    """Per agency: requests replied in the period and the share replied by their due date."""
    if end < start:
        raise InvalidAccessInput("to", "on or after `from`")
    if (end - start).days > 3660:
        raise InvalidAccessInput("to", "a period of at most ten years")
    found = live.on_time(session, start, end, user.agency_ids)
    codes = _codes(session, set(found))
    return {"from": start, "to": end,
            "items": [{"agency": codes[a], **found[a]} for a in sorted(found, key=codes.get)]}


class BulkBody(Strict):
    """One action on many requests, each through the one door as its own step (one audit event
    a request); a request that refuses is reported and the others go on."""
    action: Literal["assign", "approve_extension", "approve_reply"]
    request_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(min_length=1, max_length=200)
    on: dt.date
    assignee: PlainText | None = Field(default=None, max_length=200, description="assign: 经办人")
    department: PlainText | None = Field(default=None, max_length=200)


@router.post("/bulk", response_model=BulkResults)
def bulk(body: BulkBody, session: SessionDep, http: HttpRequest, user: Approver):
    """The head's bulk actions: assign (经办人), approve the extensions asked, sign replies off."""
    if len(set(body.request_ids)) != len(body.request_ids):
        raise InvalidAccessInput("request_ids", "each request once")
    data: dict = {}
    if body.action == "assign":
        if not body.assignee:
            raise InvalidAccessInput("assignee", "name who handles them")
        data = {"assignee": body.assignee, "department": body.department}
    else:
        data = {"approved_by": approver(session, user)}
    settings = http.app.state.settings
    session.commit()  # end the login's read: each request below is its own transaction
    results = []
    for rid in body.request_ids:
        try:
            visible_request(session, user, rid)
            row, _ = advance_and_issue(session, rid, body.action, user.actor, on=body.on,
                                       settings=settings, **data)
            session.commit()  # all or nothing per request
            results.append({"id": rid, "status": 200, "state": row.state, "error": None})
        except DomainError as exc:
            session.rollback()
            status = (404 if isinstance(exc, RequestNotFound) else
                      409 if isinstance(exc, (EventNotAllowed, ConcurrentChange)) else 422)
            results.append({"id": rid, "status": status, "state": None, "error": str(exc)})
        except Exception as exc:  # noqa: BLE001 — the ones done stay done: say which was not
            session.rollback()
            log.error("bulk_item_failed", request_id=rid, exc_info=exc)
            results.append({"id": rid, "status": 500, "state": None,
                            "error": "internal error; this request was not changed"})
    log.info("bulk_action", action=body.action, actor=user.actor,
             done=sum(r["status"] == 200 for r in results), refused=sum(r["status"] != 200 for r in results))
    return {"action": body.action, "results": results}
