"""Staff and legal-review routes under /api/v1/requests."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Query, Request as HttpRequest, Response
from sqlmodel import Session, func, select

import audit
from access.agencies import placement
from access.models import Agency
from access import users
from access.policy import EVENT_PERMISSIONS, SIGNED_EVENTS, Principal
from api.deps import (Receiver, Reader, ScopedActor, ScopedReader, ScopedRevealer, ScopedViewer,
                      SessionDep, reading, scoped, visible_request)
from api.responses import (ExportOut, Health, HistoryOut, RequestOut, RequestPage, RequestSummary,
                           RevealedId)
from api.schemas import (ERROR_RESPONSES, EVENT_BODIES, PlainText, RequestCreate, RevealBody,
                         RowId)
from reports.request_view import audit_view, request_view
from core.db import session_scope
from core.logging import get_logger
from replies import export
from replies.service import advance_and_issue
from states import service
from states.errors import UnknownEvent
from states.machine import STATES
from states.calendar_years import calendar_for
from states.ledger import consultations_by_request
from states.agency import with_names
from states.models import Request
from states.presence import read_for_view

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
log = get_logger("api")


@router.get("/health", tags=["staff"], response_model=Health)
def health(session: SessionDep):
    """For load balancers and launchers: the API answers and its database too (no login)."""
    session.exec(select(func.count()).select_from(Agency))
    return {"status": "ok"}


@router.post("/requests", status_code=201, tags=["staff"], response_model=RequestOut)
def create_request(body: RequestCreate, session: SessionDep, user: Receiver, http: HttpRequest):
    """接收: a new request, made to the user's agency (or the one named in `agency`)."""
    settings = http.app.state.settings
    agency_id, unit_id = placement(session, user, body.agency, body.unit)
    row = service.receive(session, applicant=body.applicant.model_dump(), channel=body.channel,
                          received_on=body.received_on, description=body.description,
                          requested_form=body.requested_form, department=body.department,
                          assignee=body.assignee, actor=user.actor, settings=settings,
                          agency_id=agency_id, unit_id=unit_id)
    session.commit()
    log.info("request_received", request_number=row.number, actor=user.actor)
    return answer(http, row)


def approver(session: Session, user: Principal) -> str:
    """The name an approval records and letters print: the head's own, from their account."""
    return users.get_user(session, user.username).display_name or user.username


def _advance(request_id: int, event: str, parsed, session: Session, user: Principal,
             http: HttpRequest, prefer: str | None, response: Response) -> dict:
    actor = user.actor
    data = parsed.model_dump(exclude={"on", "expected_version"}, mode="json")
    if event in SIGNED_EVENTS:
        data[SIGNED_EVENTS[event]] = approver(session, user)
    settings = http.app.state.settings
    # The scope check locked the row, and read the calendar years beside it.
    calendar = calendar_for(session, settings, loaded=service.years_locked_with(session))
    row, letters = advance_and_issue(session, request_id, event, actor, on=parsed.on,
                                     expected_version=parsed.expected_version, settings=settings,
                                     calendar=calendar, **data)
    session.commit()
    log.info("request_advanced", request_number=row.number, event_name=event, state=row.state,
             actor=actor, letters=[letter.kind for letter in letters])
    brief = wants_minimal(prefer)
    if brief:
        response.headers["Preference-Applied"] = "return=minimal"
    return answer(http, row, written=session, calendar=calendar, brief=brief)


def wants_minimal(prefer: str | None) -> bool:
    """`Prefer: return=minimal` (RFC 7240) among the header's preferences; others are ignored."""
    return any(p.strip().lower() == "return=minimal" for p in (prefer or "").split(","))


def answer(http: HttpRequest, row: Request, *, written: Session | None = None,
           calendar=None, brief: bool = False) -> dict:
    """The request as a write just committed it, the rest of its view read beside the writers:
    on the write's own session each answer began a second write transaction (on SQLite, queued
    for the write lock again). What the write already read — the calendar, the agency, the
    request's consultations — is not read again. `brief`: the list's row of the request, which
    then needs no read at all (unless it is placed in a unit)."""
    held = written.info if written is not None else {}
    with session_scope(reading(http)) as session:
        session.info["agencies"] = dict(held.get("agencies", {}))
        if not brief:
            row = _read_back(session, row)
        return request_view(session, row, http.app.state.settings, full=not brief, calendar=calendar,
                            consultations=held.get("consultations", {}).get(row.id))


def _read_back(session: Session, row: Request) -> Request:
    """The request read back as GET reads it, in one statement with what its view needs (the
    view asked up to five more), if it is still as the write left it; else the written row, whose
    view is then read part by part: an answer never mixes two versions."""
    fresh = read_for_view(session, row.id)
    if fresh is not None and fresh.version == row.version:
        return fresh
    session.info.get("view_facts", {}).pop(row.id, None)
    return row


PreferHeader = Annotated[str | None, Header(description=(
    "`return=minimal` (RFC 7240): answer with the request's row as the list shows it (state, "
    "version, due date, allowed events) instead of its whole view — for scripts and bulk clients "
    "that do not need the view; the answer then says `Preference-Applied: return=minimal`"))]


def _event_route(event: str, schema: type) -> None:
    """POST /requests/{id}/events/<event> with the event's own typed body, so the OpenAPI shows
    exactly what each event takes."""
    def post(request_id, body, session, user, http, response, prefer=None):
        return _advance(request_id, event, body, session, user, http, prefer, response)

    post.__name__ = f"post_{event}"
    post.__doc__ = (schema.__doc__ or "").strip() or f"Fire `{event}` on the request."
    permission = EVENT_PERMISSIONS.get(event, "requests.act")
    post.__annotations__ = {"request_id": RowId, "body": schema, "session": SessionDep,
                            "user": Annotated[Principal, Depends(scoped(permission))],
                            "http": HttpRequest, "response": Response, "prefer": PreferHeader}
    router.add_api_route(f"/requests/{{request_id}}/events/{event}", post, methods=["POST"],
                         tags=["events"], summary=f"{event}", name=f"event_{event}",
                         response_model=RequestOut | RequestSummary)


for _event, _schema in EVENT_BODIES.items():
    _event_route(_event, _schema)


@router.post("/requests/{request_id}/events/{event}", include_in_schema=False)
def post_unknown_event(request_id: RowId, event: str, user: ScopedActor):
    """Any other event name: 422 naming the events there are."""
    raise UnknownEvent(event, sorted(EVENT_BODIES))


@router.get("/requests/{request_id}", tags=["staff"], response_model=RequestOut)
def get_request(request_id: RowId, session: SessionDep, http: HttpRequest, user: ScopedViewer):
    return request_view(session, visible_request(session, user, request_id),
                        http.app.state.settings)


def in_scope(query, user: Principal):
    """Only the requests the user sees: their agencies' (staff of a unit: the unit's)."""
    if user.agency_ids is not None:
        query = query.where(Request.agency_id.in_(sorted(user.agency_ids)))
    if user.role == "staff" and user.unit_id is not None:
        query = query.where(Request.unit_id == user.unit_id)
    return query


@router.get("/requests", tags=["staff"], response_model=RequestPage)
def list_requests(session: SessionDep, http: HttpRequest, user: Reader,
                  state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
                  department: Annotated[PlainText | None, Query(max_length=200)] = None,
                  agency: Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
                                                     description="one agency's code")] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  after: Annotated[int | None, Query(ge=0, le=2_147_483_647, description=(  # an id
                      "the previous page's `next_after`: the page after it (keyset, as fast at "
                      "the millionth request as at the first)"))] = None,
                  offset: Annotated[int, Query(ge=0, le=1_000_000_000, description=(
                      "rows to skip (slow deep in a large table: prefer `after`)"))] = 0,
                  total: Annotated[bool, Query(description="also count every match")] = False):
    """The requests the user sees (their agencies'; staff of a unit: the unit's), oldest first."""
    return request_page(session, http.app.state.settings, user, state=state, department=department,
                        agency=agency, limit=limit, after=after, offset=offset, total=total)


def request_page(session: Session, settings, user: Principal, *, state: str | None = None,
                 department: str | None = None, agency: str | None = None, limit: int = 50,
                 after: int | None = None, offset: int = 0, total: bool = False) -> dict:
    """One page of GET /requests (benchmarks/supervision.py times it without HTTP)."""
    query = in_scope(select(Request), user)
    if agency:
        query = query.where(Request.agency_id == select(Agency.id).where(Agency.code == agency)
                            .scalar_subquery())
    if state:
        query = query.where(Request.state == state)
    if department:
        query = query.where(Request.department == department)
    counted = session.exec(select(func.count()).select_from(query.subquery())).one() if total else None
    if after is not None:
        query = query.where(Request.id > after)
    # One row more than the page tells whether there is a next one without counting.
    rows = with_names(session, query.order_by(Request.id).offset(offset).limit(limit + 1))
    more, rows = len(rows) > limit, rows[:limit]
    calendar = calendar_for(session, settings)
    stops = consultations_by_request(session, [r.id for r in rows])
    return {"total": counted, "limit": limit, "offset": offset,
            "next_after": rows[-1].id if more else None,
            "items": [request_view(session, r, settings, full=False, calendar=calendar,
                                   consultations=stops.get(r.id, [])) for r in rows]}


@router.post("/requests/{request_id}/applicant/id-number/reveal", tags=["staff"],
             response_model=RevealedId)
def reveal_id_number(request_id: RowId, body: RevealBody, session: SessionDep,
                     user: ScopedRevealer, http: HttpRequest):
    """The applicant's ID number, which no other answer carries: an explicit act, recorded in the
    request's audit chain (who, when, why — never the number itself)."""
    row = service.lock_request(session, request_id)
    actor = user.actor
    event = service.record_fact(session, row.id, "reveal_id_number", actor,
                                on=http.app.state.settings.today(), data={"reason": body.reason})
    session.commit()
    log.info("id_number_revealed", request_number=row.number, actor=actor)
    return {"id_number": row.applicant_id_number, "revealed_by": actor, "audit_seq": event.seq}


@router.get("/requests/{request_id}/history", tags=["legal review"], response_model=HistoryOut)
def get_history(request_id: RowId, session: SessionDep, user: ScopedReader):
    row = visible_request(session, user, request_id)
    events = audit.history(session, request_id)
    result = audit.verify(session, request_id, expected_head=(row.audit_seq, row.audit_head),
                          events=events)
    return {"request_id": row.id, "number": row.number, "verified": result.ok,
            "first_broken_seq": result.first_broken_seq, "problem": result.reason,
            "events": [audit_view(e) for e in events]}


@router.get("/requests/{request_id}/export", tags=["legal review"], response_model=ExportOut)
def get_export(request_id: RowId, session: SessionDep, user: ScopedReader, response: Response):
    """The request's history for offline checking (导出): every audit event as stored, every
    letter as sent, the latest signed checkpoint and the inclusion proof of the request's last
    event it covers. Check it with `python3 audit/offline_verifier.py BUNDLE --public-key KEY`."""
    row = visible_request(session, user, request_id)
    response.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(row.number)}-export.json"
    return export.bundle(session, row)
