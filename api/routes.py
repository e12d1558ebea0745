"""Staff and legal-review routes under /api/v1/requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Query, Request as HttpRequest
from pydantic import ValidationError
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session, func, select

import audit
from api.schemas import EVENT_BODIES, PlainText, RequestCreate, RowId
from api.views import audit_view, request_view
from core.db import session_scope
from core.logging import get_logger
from replies.service import advance_and_issue
from states import service
from states.errors import RequestNotFound, UnknownEvent
from states.machine import STATES
from states.models import Request

router = APIRouter(prefix="/api/v1")
log = get_logger("api")


def get_session(request: HttpRequest):
    with session_scope(request.app.state.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def actor_header(x_actor: Annotated[str, Header(min_length=1, max_length=100,
                                                description="who acts, e.g. staff:zhang.wei")]) -> str:
    if x_actor.startswith("system:"):
        raise RequestValidationError([{"loc": ("header", "x-actor"), "type": "value_error",
                                       "msg": "system: actors are reserved for the engine's flows"}])
    return x_actor


ActorDep = Annotated[str, Depends(actor_header)]


@router.post("/requests", status_code=201, tags=["staff"])
def create_request(body: RequestCreate, session: SessionDep, actor: ActorDep, http: HttpRequest):
    settings = http.app.state.settings
    row = service.receive(session, applicant=body.applicant.model_dump(), channel=body.channel,
                          received_on=body.received_on, description=body.description,
                          requested_form=body.requested_form, department=body.department,
                          assignee=body.assignee, actor=actor, settings=settings)
    session.commit()
    log.info("request_received", request_number=row.number, actor=actor)
    return request_view(session, row, settings)


@router.post("/requests/{request_id}/events/{event}", tags=["staff"])
def post_event(request_id: RowId, event: str, session: SessionDep, actor: ActorDep,
               http: HttpRequest, body: Annotated[dict, Body()]):
    schema = EVENT_BODIES.get(event)
    if schema is None:
        raise UnknownEvent(event, sorted(EVENT_BODIES))
    try:
        parsed = schema.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]) from None
    data = parsed.model_dump(exclude={"on", "expected_version"}, mode="json")
    settings = http.app.state.settings
    row, letters = advance_and_issue(session, request_id, event, actor, on=parsed.on,
                                     expected_version=parsed.expected_version, settings=settings,
                                     **data)
    session.commit()
    log.info("request_advanced", request_number=row.number, event_name=event, state=row.state,
             actor=actor, letters=[letter.kind for letter in letters])
    return request_view(session, row, settings)


@router.get("/requests/{request_id}", tags=["staff"])
def get_request(request_id: RowId, session: SessionDep, http: HttpRequest):
    row = session.get(Request, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    return request_view(session, row, http.app.state.settings)


@router.get("/requests", tags=["staff"])
def list_requests(session: SessionDep, http: HttpRequest,
                  state: Annotated[str | None, Query(pattern="^(" + "|".join(STATES) + ")$")] = None,
                  department: Annotated[PlainText | None, Query(max_length=200)] = None,
                  limit: Annotated[int, Query(ge=1, le=200)] = 50,
                  offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0):
    query = select(Request)
    if state:
        query = query.where(Request.state == state)
    if department:
        query = query.where(Request.department == department)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(Request.id).offset(offset).limit(limit)).all()
    settings = http.app.state.settings
    return {"total": total, "limit": limit, "offset": offset,
            "items": [request_view(session, r, settings, full=False) for r in rows]}


@router.get("/requests/{request_id}/history", tags=["legal review"])
def get_history(request_id: RowId, session: SessionDep):
    row = session.get(Request, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    events = audit.history(session, request_id)
    result = audit.verify(session, request_id, expected_head=(row.audit_seq, row.audit_head),
                          events=events)
    return {"request_id": row.id, "number": row.number, "verified": result.ok,
            "first_broken_seq": result.first_broken_seq, "problem": result.reason,
            "events": [audit_view(e) for e in events]}
