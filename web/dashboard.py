"""督办: the supervisor's dashboard — overdue and due soon, the approvals inbox, open requests by
stage and department, this year's outcomes and on-time rate — and the annual report's page."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request as HttpRequest
from fastapi.responses import HTMLResponse

from sqlmodel import select

from access.agencies import list_agencies
from core.db import session_scope, short_reads
from reports import dashboard, live
from states.calendar_years import calendar_for
from states.errors import RuleViolation
from states.models import Request
from web import forms
from web.login import NotPermitted, page_user
from web.templating import templates

router = APIRouter(include_in_schema=False)


# Staff have the 台账; the dashboard and the annual report are the head's and the legal reviewer's.
NOT_SUPERVISING = "督办和年度报告页面供负责人、法制审核人员查看。"


def _supervising(user) -> None:
    # It lists requests and their applicants: the requests.read of the 台账, and a role that
    # watches them (the head, the legal reviewer); an admin manages accounts, not requests.
    if not (user.may("requests.read") and (user.may("reports.read") or user.may("supervision.read"))):
        raise NotPermitted(NOT_SUPERVISING, "无权查看")


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(http: HttpRequest):
    settings = http.app.state.settings
    today = settings.today()
    with session_scope(short_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        _supervising(user)
        scope = user.agency_ids
        calendar = calendar_for(session, settings)
        filters = live.Filters(agency_ids=scope)
        overdue = live.overdue(session, today, calendar, filters, limit=10)
        try:
            soon = live.due_soon(session, today, calendar, settings, filters, limit=10)
        except RuleViolation:
            soon = None  # the calendar lacks next year: the page says so instead
        numbers = {r.id: r for r in session.exec(_numbers(overdue, soon))} if (
            overdue.items or (soon and soon.items)) else {}
        rates = live.on_time(session, dt.date(today.year, 1, 1), today, scope)
        replied = sum(r["replied"] for r in rates.values())
        in_time = sum(r["in_time"] for r in rates.values())
        stages = dashboard.open_by_stage(session, scope)
        return templates.TemplateResponse(http, "dashboard.html", {
            "user": user, "today": today, "active": "dashboard", "overdue": overdue, "soon": soon,
            "numbers": numbers, "stages": stages, "stage_max": max(stages.values(), default=0) or 1,
            "departments": dashboard.open_by_department(session, scope),
            "outcomes": dashboard.decided_by_group(session, today.year, scope),
            "approvals": dashboard.approvals(session, scope), "replied": replied,
            "in_time": in_time, "rate": (in_time / replied) if replied else None,
            "may_approve": user.may("requests.approve"),
            "months": dashboard.on_time_by_month(session, today, scope)})


def _numbers(*pages):
    ids = [item["id"] for page in pages if page for item in page.items]
    return select(Request).where(Request.id.in_(ids))


@router.get("/reports/annual", response_class=HTMLResponse)
def annual_page(http: HttpRequest):
    """年度报告: tables 三 and 四 as computed now, with the XLSX to download."""
    settings = http.app.state.settings
    with session_scope(short_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        if not user.may("reports.read"):
            raise NotPermitted(NOT_SUPERVISING, "无权查看")
        agencies = [a for a in list_agencies(session) if user.sees_agency(a.id)]
        error, year = None, settings.today().year - 1
        try:
            year = forms.number(http.query_params, "year", "年度", low=2008, high=2100, default=year)
        except forms.FieldError as problem:
            error = problem
        return templates.TemplateResponse(http, "annual.html", {
            "user": user, "today": settings.today(), "active": "annual", "year": year,
            "agencies": agencies, "error": error}, status_code=422 if error else 200)
