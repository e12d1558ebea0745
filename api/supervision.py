"""Supervisor routes: outbox rows (parked effects and their errors; put one back) and digests."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy import update
from sqlmodel import func, select

from access.models import Agency
from api.deps import SessionDep, SupervisionActor, SupervisionReader
from api.routes import in_scope
from api.responses import DigestFull, DigestList, OutboxOut, OutboxPage
from api.schemas import ERROR_RESPONSES, IsoDate, PlainText, RowId
from core.logging import get_logger
from states.models import Outbox, Request
from workflows.models import Digest

router = APIRouter(prefix="/api/v1", tags=["supervision"], responses=ERROR_RESPONSES)
log = get_logger("api.supervision")
OUTBOX_STATUSES = "^(pending|claimed|done|parked)$"


def _not_found(what: str) -> JSONResponse:
    return JSONResponse(status_code=404, content={"error": "not_found", "message": what, "detail": []})


def _outbox_view(row: Outbox, number: str) -> dict:
    return {"id": row.id, "request_id": row.request_id, "request_number": number, "kind": row.kind,
            "status": row.status, "attempts": row.attempts, "available_at": row.available_at,
            "created_at": row.created_at, "done_at": row.done_at, "claimed_by": row.claimed_by,
            "last_error": row.last_error, "payload": json.loads(row.payload)}


@router.get("/outbox", response_model=OutboxPage)
def list_outbox(session: SessionDep, user: SupervisionReader,
                status: Annotated[str | None, Query(pattern=OUTBOX_STATUSES)] = None,
                limit: Annotated[int, Query(ge=1, le=500)] = 100,
                offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0):
    """Side effects of the requests of the user's agencies: pending, claimed, done or parked."""
    query = in_scope(select(Outbox, Request.number).join(Request, Request.id == Outbox.request_id), user)
    count = in_scope(select(func.count()).select_from(Outbox).join(Request, Request.id == Outbox.request_id),
                    user)
    if status:
        query, count = query.where(Outbox.status == status), count.where(Outbox.status == status)
    rows = session.exec(query.order_by(Outbox.id).offset(offset).limit(limit)).all()
    return {"total": session.exec(count).one(), "items": [_outbox_view(o, n) for o, n in rows]}


@router.post("/outbox/{outbox_id}/retry", response_model=OutboxOut)
def retry_outbox(outbox_id: RowId, session: SessionDep, user: SupervisionActor):
    """Put a parked effect back in the queue once its cause is fixed (attempts start again)."""
    actor = user.actor
    row = session.get(Outbox, outbox_id)
    if row is None or not user.sees_agency(session.get(Request, row.request_id).agency_id):
        return _not_found(f"outbox row {outbox_id} does not exist")
    if row.status != "parked":
        return JSONResponse(status_code=409, content={
            "error": "not_parked", "message": f"outbox row {outbox_id} is {row.status}, not parked",
            "detail": [{"field": "status", "rule": "only parked rows can be put back"}]})
    session.execute(update(Outbox).where(Outbox.id == outbox_id, Outbox.status == "parked").values(
        status="pending", attempts=0, available_at=dt.datetime.now(dt.timezone.utc)))
    session.commit()
    log.info("outbox_requeued", outbox_id=outbox_id, actor=actor, previous_error=row.last_error)
    session.refresh(row)
    return _outbox_view(row, session.get(Request, row.request_id).number)


def _digest_view(session, d: Digest, full: bool = False) -> dict:
    view = {"id": d.id, "day": d.day, "agency": session.get(Agency, d.agency_id).code,
            "scope_kind": d.scope_kind,
            "scope": d.scope,
            "overdue": d.overdue, "due_soon": d.due_soon, "emailed_at": d.emailed_at,
            "email_to": d.email_to, "email_error": d.email_error}
    if full:
        view.update(items=json.loads(d.items), body=d.body)
    return view


@router.get("/digests", response_model=DigestList)
def list_digests(session: SessionDep, user: SupervisionReader, day: IsoDate | None = None,
                 scope_kind: Annotated[str | None, Query(pattern="^(department|assignee)$")] = None,
                 scope: Annotated[PlainText | None, Query(max_length=200)] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Today's (or `day`'s) reminder digests of the user's agencies."""
    query = select(Digest)
    if user.agency_ids is not None:
        query = query.where(Digest.agency_id.in_(sorted(user.agency_ids)))
    if day:
        query = query.where(Digest.day == day)
    if scope_kind:
        query = query.where(Digest.scope_kind == scope_kind)
    if scope:
        query = query.where(Digest.scope == scope)
    rows = session.exec(query.order_by(Digest.day.desc(), Digest.scope_kind, Digest.scope).limit(limit)).all()
    return {"items": [_digest_view(session, d) for d in rows]}


@router.get("/digests/{digest_id}", response_model=DigestFull)
def get_digest(digest_id: RowId, session: SessionDep, user: SupervisionReader):
    digest = session.get(Digest, digest_id)
    if digest is None or not user.sees_agency(digest.agency_id):
        return _not_found(f"digest {digest_id} does not exist")
    return _digest_view(session, digest, full=True)
