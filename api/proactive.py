"""Art 44 for supervisors (/api/v1/supervision): clusters of similar requests from many applicants
— candidates for proactive disclosure — and the record that the information was published."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request as HttpRequest
from pydantic import Field
from sqlmodel import select

from access.agencies import get_agency
from access.errors import AccessNotFound, InvalidAccessInput
from access.models import Agency
from api.deps import ProactiveManager, SessionDep
from api.responses import DisclosureCandidates, ProactiveDisclosureList, ProactiveDisclosureOut
from api.schemas import ERROR_RESPONSES, PlainText, Strict
from core.logging import get_logger
from states import fingerprints, proactive
from states.models import Request

router = APIRouter(prefix="/api/v1/supervision", tags=["supervision"], responses=ERROR_RESPONSES)
log = get_logger("api.proactive")
CODE = r"^[a-z0-9][a-z0-9-]{0,31}$"
SHOWN = 200  # requests listed per group


def _agency_ids(session, user, agency: str | None, field: str = "agency") -> list[int] | None:
    if not agency:
        return None if user.agency_ids is None else sorted(user.agency_ids)
    try:
        row = get_agency(session, agency)
    except AccessNotFound:
        raise InvalidAccessInput(field, f"no agency {agency!r}") from None
    if not user.sees_agency(row.id):
        raise InvalidAccessInput(field, f"agency {agency!r} is outside your scope")
    return [row.id]


@router.get("/disclosure-candidates", response_model=DisclosureCandidates)
def disclosure_candidates(
        session: SessionDep, http: HttpRequest, user: ProactiveManager,
        agency: Annotated[str | None, Query(pattern=CODE)] = None,
        days: Annotated[int, Query(ge=7, le=3660, description="received in the last … days")] = 365,
        min_applicants: Annotated[int, Query(ge=2, le=1000)] = fingerprints.CLUSTER_MIN_APPLICANTS):
    """Groups of similar requests from at least `min_applicants` different applicants: information
    many people ask for, which may be published proactively (Art 44). Each request's proactive
    disclosures are listed; groups already answered in full are left out."""
    today = http.app.state.settings.today()
    found = fingerprints.clusters(session, agency_ids=_agency_ids(session, user, agency),
                                  today=today, min_applicants=min_applicants, window_days=days)
    for c in found:
        c["request_ids"] = c["request_ids"][-SHOWN:]  # the latest; `size` says how many there are
    ids = sorted({rid for c in found for rid in c["request_ids"]})
    numbers = dict(session.exec(select(Request.id, Request.number).where(Request.id.in_(ids))).all())
    published = proactive.published_for(session, ids)
    items = []
    for c in found:  # groups answered in full are already left out (before the limit)
        done = {d for rid in c["request_ids"] for d in published.get(rid, [])}
        items.append({**c, "requests": [{"id": rid, "number": numbers[rid],
                                         "url": f"/api/v1/requests/{rid}"} for rid in c["request_ids"]],
                      "published_in": sorted(done)})
    return {"days": days, "min_applicants": min_applicants, "items": items}


class ProactiveBody(Strict):
    agency: str = Field(pattern=CODE)
    title: PlainText = Field(min_length=1, max_length=300, description="what was published")
    published_on: dt.date
    location: PlainText = Field(min_length=1, max_length=500,
                                description="公开途径: the website column or URL, the 公开栏 …")
    note: PlainText | None = Field(default=None, max_length=2000)
    request_ids: list[Annotated[int, Field(ge=1, le=2_147_483_647)]] = Field(
        min_length=1, max_length=1000, description="the requests it answers")


def _out(row, ids, codes) -> dict:
    return {"id": row.id, "agency": codes[row.agency_id], "title": row.title,
            "published_on": row.published_on, "location": row.location, "note": row.note,
            "recorded_by": row.recorded_by, "request_ids": ids}


@router.post("/proactive-disclosures", response_model=ProactiveDisclosureOut, status_code=201)
def record_proactive_disclosure(body: ProactiveBody, session: SessionDep, http: HttpRequest,
                                user: ProactiveManager):
    """Record that information was published proactively (Art 44) and which requests it answers:
    one audit event on each of them."""
    agency_ids = _agency_ids(session, user, body.agency)
    row = proactive.record(session, agency_id=agency_ids[0], title=body.title,
                           published_on=body.published_on, location=body.location, note=body.note,
                           request_ids=body.request_ids, actor=user.actor,
                           today=http.app.state.settings.today())
    session.commit()
    log.info("proactive_disclosure_recorded", disclosure_id=row.id, requests=len(body.request_ids),
             actor=user.actor)
    return _out(row, sorted(set(body.request_ids)), {agency_ids[0]: body.agency})


@router.get("/proactive-disclosures", response_model=ProactiveDisclosureList)
def list_proactive_disclosures(session: SessionDep, user: ProactiveManager,
                               agency: Annotated[str | None, Query(pattern=CODE)] = None):
    rows = proactive.listing(session, _agency_ids(session, user, agency))
    codes = dict(session.exec(select(Agency.id, Agency.code)).all())
    return {"items": [_out(r, ids, codes) for r, ids in rows]}
