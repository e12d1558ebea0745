"""Staff and legal-review routes under /api/v1/requests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request as HttpRequest
from fastapi.exceptions import RequestValidationError
from sqlmodel import Session, func, select

import audit
from api.responses import HistoryOut, RequestOut, RequestPage, RevealedId
from api.schemas import (ERROR_RESPONSES, EVENT_BODIES, PlainText, RequestCreate, RevealBody,
                         RowId)
from api.views import audit_view, request_view
from core.db import session_scope
from core.logging import get_logger
from replies.service import advance_and_issue
from states import service
from states.errors import RequestNotFound, UnknownEvent
from states.machine import STATES
from states.models import Request

router = APIRouter(prefix="/api/v1", responses=ERROR_RESPONSES)
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


@router.post("/requests", status_code=201, tags=["staff"], response_model=RequestOut)
def create_request(body: RequestCreate, session: SessionDep, actor: ActorDep, http: HttpRequest):
    settings = http.app.state.settings
    row = service.receive(session, applicant=body.applicant.model_dump(), channel=body.channel,
                          received_on=body.received_on, description=body.description,
                          requested_form=body.requested_form, department=body.department,
                          assignee=body.assignee, actor=actor, settings=settings)
    session.commit()
    log.info("request_received", request_number=row.number, actor=actor)
    return request_view(session, row, settings)


def _advance(request_id: int, event: str, parsed, session: Session, actor: str,
             http: HttpRequest) -> dict:
    data = parsed.model_dump(exclude={"on", "expected_version"}, mode="json")
    settings = http.app.state.settings
    row, letters = advance_and_issue(session, request_id, event, actor, on=parsed.on,
                                     expected_version=parsed.expected_version, settings=settings,
                                     **data)
    session.commit()
    log.info("request_advanced", request_number=row.number, event_name=event, state=row.state,
             actor=actor, letters=[letter.kind for letter in letters])
    return request_view(session, row, settings)


def _event_route(event: str, schema: type) -> None:
    """POST /requests/{id}/events/<event> with the event's own typed body, so the OpenAPI shows
    exactly what each event takes."""
    def post(request_id, body, session, actor, http):
        return _advance(request_id, event, body, session, actor, http)

    post.__name__ = f"post_{event}"
    post.__doc__ = (schema.__doc__ or "").strip() or f"Fire `{event}` on the request."
    post.__annotations__ = {"request_id": RowId, "body": schema, "session": SessionDep,
                            "actor": ActorDep, "http": HttpRequest}
    router.add_api_route(f"/requests/{{request_id}}/events/{event}", post, methods=["POST"],
                         tags=["events"], summary=f"{event}", name=f"event_{event}",
                         response_model=RequestOut)


for _event, _schema in EVENT_BODIES.items():
    _event_route(_event, _schema)


@router.post("/requests/{request_id}/events/{event}", include_in_schema=False)
def post_unknown_event(request_id: RowId, event: str):
    """Any other event name: 422 naming the events there are."""
    raise UnknownEvent(event, sorted(EVENT_BODIES))


@router.get("/requests/{request_id}", tags=["staff"], response_model=RequestOut)
def get_request(request_id: RowId, session: SessionDep, http: HttpRequest):
    row = session.get(Request, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    return request_view(session, row, http.app.state.settings)


@router.get("/requests", tags=["staff"], response_model=RequestPage)
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


@router.post("/requests/{request_id}/applicant/id-number/reveal", tags=["staff"],
             response_model=RevealedId)
def reveal_id_number(request_id: RowId, body: RevealBody, session: SessionDep, actor: ActorDep,
                     http: HttpRequest):
    """The applicant's ID number, which no other answer carries: an explicit act, recorded in the
    request's audit chain (who, when, why — never the number itself)."""
    row = service.lock_request(session, request_id)
    event = service.record_fact(session, row.id, "reveal_id_number", actor,
                                on=http.app.state.settings.today(), data={"reason": body.reason})
    session.commit()
    log.info("id_number_revealed", request_number=row.number, actor=actor)
    return {"id_number": row.applicant_id_number, "revealed_by": actor, "audit_seq": event.seq}


@router.get("/requests/{request_id}/history", tags=["legal review"], response_model=HistoryOut)
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
