"""The annual report (/api/v1/reports/annual): tables 三 and 四 for one agency, several, or all in
the user's scope, as JSON, printable HTML or XLSX; publishing a year, after which every later
difference is listed as a correction. And the 行政复议 / 行政诉讼 cases table 四 counts."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request as HttpRequest
from fastapi.responses import JSONResponse, Response
from pydantic import Field
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from access.errors import AccessConflict, Forbidden, InvalidAccessInput
from access.models import Agency
from access.policy import Principal
from api.deps import ReportPublisher, ReportReader, ScopedActor, ScopedReader, SessionDep
from api.responses import AnnualReport, ChallengeList
from api.schemas import ERROR_RESPONSES, PlainText, RowId, Strict
from reports.annual import InvariantBroken, annual_report, corrections
from reports.annual_formats import to_html, to_xlsx
from reports.models import PublishedReport
from states import challenges
from states.errors import RuleViolation

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERROR_RESPONSES)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Year = Annotated[int, Query(ge=2008, le=2100, description="the calendar year reported")]
Codes = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9-]{0,31}(,[a-z0-9][a-z0-9-]{0,31}){0,99}$",
                                    description="agency codes, comma-separated; default: every "
                                                "agency the user sees")]
Layout = Annotated[Literal["2021", "2019"], Query(description="国办公开办函〔2021〕30号 or the 2019 format")]


def _agencies(session: Session, user: Principal, codes: str | None) -> list[Agency]:
    rows = list(session.exec(select(Agency).order_by(Agency.code)))
    if codes:
        wanted = sorted(set(codes.split(",")))
        found = {a.code: a for a in rows}
        missing = [c for c in wanted if c not in found]
        if missing:
            raise InvalidAccessInput("agency", f"no agency {', '.join(missing)}")
        rows = [found[c] for c in wanted]
        outside = [a.code for a in rows if not user.sees_agency(a.id)]
        if outside:
            raise Forbidden(f"agency {', '.join(outside)} is outside your scope")
    else:
        rows = [a for a in rows if user.sees_agency(a.id)]
    if not rows:
        raise InvalidAccessInput("agency", "no agency in your scope")
    return rows


def _title(agencies: list[Agency], year: int) -> str:
    names = "、".join(a.name for a in agencies) if len(agencies) <= 3 else f"{agencies[0].name}等{len(agencies)}个机关"
    return f"{names}{year}年政府信息公开工作年度报告"


def _report(session: Session, agencies: list[Agency], year: int, layout: str) -> dict:
    try:
        return annual_report(session, year, [a.id for a in agencies], layout)
    except InvariantBroken as exc:
        # Never publish figures that do not add up; say which column does not.
        raise RuleViolation("year", f"the figures do not add up, nothing is returned: {exc}") from None


@router.get("/reports/annual", response_model=AnnualReport, responses={200: {"content": {
        "text/html; charset=utf-8": {"schema": {"type": "string"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def get_annual(session: SessionDep, http: HttpRequest, user: ReportReader, year: Year,
               agency: Codes = None, layout: Layout = "2021",
               format: Annotated[Literal["json", "html", "xlsx"], Query()] = "json"):
    """Tables 三 and 四 as computed now; if the year was published, the published figures with
    every later difference listed in `corrections`."""
    agencies = _agencies(session, user, agency)
    live = _report(session, agencies, year, layout)
    key = ",".join(a.code for a in agencies)
    published = session.exec(select(PublishedReport).where(
        PublishedReport.agencies == key, PublishedReport.year == year,
        PublishedReport.layout == layout)).first()
    title = _title(agencies, year)
    changed = corrections(json.loads(published.figures), live) if published is not None else []
    if format == "html":  # the figures as they are now, and what changed since publishing
        return Response(to_html(live, title, changed), media_type="text/html; charset=utf-8")
    if format == "xlsx":
        return Response(to_xlsx(live, title, changed), media_type=XLSX, headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(title)}.xlsx"})
    body = {**live, "title": title, "agencies": [a.code for a in agencies],
            "published": None, "corrections": changed}
    if published is not None:
        body["published"] = {"by": published.published_by, "at": published.published_at}
    return body


class PublishBody(Strict):
    year: int = Field(ge=2008, le=2100)
    agency: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}(,[a-z0-9][a-z0-9-]{0,31}){0,99}$")
    layout: Literal["2021", "2019"] = "2021"


@router.post("/reports/annual/publish", status_code=201, response_model=AnnualReport)
def publish_annual(body: PublishBody, session: SessionDep, http: HttpRequest, user: ReportPublisher):
    """Record the year's tables as published (once; the year must be over): from then on the
    figures are read against these, each later difference a listed correction."""
    if body.year >= http.app.state.settings.today().year:
        raise InvalidAccessInput("year", "a year is published once it is over")
    agencies = _agencies(session, user, body.agency)
    live = _report(session, agencies, body.year, body.layout)
    row = PublishedReport(agencies=",".join(a.code for a in agencies), year=body.year,
                          layout=body.layout, figures=json.dumps(live, ensure_ascii=False),
                          published_by=user.actor, published_at=dt.datetime.now(dt.timezone.utc))
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        raise AccessConflict(f"the {body.year} report of {row.agencies} is already published") from None
    session.commit()
    return {**live, "title": _title(agencies, body.year), "agencies": [a.code for a in agencies],
            "published": {"by": row.published_by, "at": row.published_at}, "corrections": []}


class ChallengeBody(Strict):
    kind: Literal["reconsideration", "lawsuit"] = Field(description="行政复议 or 行政诉讼")
    filed_on: dt.date
    body: PlainText = Field(min_length=1, max_length=200, description="the 复议机关 or court")
    after_reconsideration: bool = Field(default=False, description="a lawsuit after 行政复议")
    case_number: PlainText | None = Field(default=None, max_length=100)
    note: PlainText | None = Field(default=None, max_length=2000)


class ChallengeResultBody(Strict):
    result: Literal["upheld", "corrected", "other"] = Field(description="维持 / 纠正 / 其他")
    decided_on: dt.date
    note: PlainText | None = Field(default=None, max_length=2000,
                                   description="required to correct a result already recorded")


def _challenge_view(c) -> dict:
    return {"id": c.id, "kind": c.kind, "after_reconsideration": c.after_reconsideration,
            "body": c.body, "case_number": c.case_number, "filed_on": c.filed_on,
            "result": c.result, "decided_on": c.decided_on, "note": c.note,
            "recorded_by": c.recorded_by}


@router.get("/requests/{request_id}/challenges", response_model=ChallengeList)
def list_challenges(request_id: RowId, session: SessionDep, user: ScopedReader):
    return {"items": [_challenge_view(c) for c in challenges.challenges_of(session, request_id)]}


@router.post("/requests/{request_id}/challenges", status_code=201, response_model=ChallengeList)
def add_challenge(request_id: RowId, body: ChallengeBody, session: SessionDep, http: HttpRequest,
                  user: ScopedActor):
    """A 行政复议 or 行政诉讼 against the reply (audited, counted in table 四)."""
    challenges.record_challenge(session, request_id, kind=body.kind, filed_on=body.filed_on,
                                body=body.body, actor=user.actor,
                                today=http.app.state.settings.today(),
                                after_reconsideration=body.after_reconsideration,
                                case_number=body.case_number, note=body.note)
    session.commit()
    return list_challenges(request_id, session, user)


@router.post("/requests/{request_id}/challenges/{challenge_id}/result", response_model=ChallengeList)
def challenge_result(request_id: RowId, challenge_id: RowId, body: ChallengeResultBody,
                     session: SessionDep, http: HttpRequest, user: ScopedActor):
    try:
        challenges.record_challenge_result(session, request_id, challenge_id, result=body.result,
                                           decided_on=body.decided_on, actor=user.actor,
                                           today=http.app.state.settings.today(), note=body.note)
    except LookupError as missing:
        return JSONResponse(status_code=404, content={"error": "not_found", "message": str(missing),
                                                      "detail": []})
    session.commit()
    return list_challenges(request_id, session, user)
