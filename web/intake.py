"""接收: the new-request form staff fill in from a letter, a visit or a call, checked against the
same input model as POST /api/v1/requests and received through the one door."""

from __future__ import annotations

from fastapi import APIRouter, Request as HttpRequest
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from access.agencies import list_agencies, placement, units_of
from access.errors import AccessError
from core.db import session_scope, short_reads
from core.logging import get_logger
from states import attachments, service
from states.errors import DomainError, RuleViolation
from states.inputs import RequestCreate
from web import forms
from web.event_forms import validated
from web.attachments import uploads
from web.labels import FIELDS, refusal
from web.login import NotPermitted, form_user, logged_in, page_user
from web.templating import templates

router = APIRouter(include_in_schema=False)
log = get_logger("web")

_APPLICANT = ("name", "kind", "id_number", "phone", "email", "address")
_REQUEST = ("channel", "received_on", "description", "requested_form", "department", "assignee",
            "agency", "unit")
_TEXTAREAS = {"description", "applicant.address"}


def _form_page(http, session, user, *, values: dict, error=None, status=200):
    agencies = [a for a in list_agencies(session) if user.sees_agency(a.id) and a.active]
    units = {} if user.role == "staff" and user.unit_id else {
        a.code: [u.name for u in units_of(session, a.id)] for a in agencies}
    return templates.TemplateResponse(http, "new_request.html", {
        "user": user, "today": http.app.state.settings.today(), "active": "new",
        "agencies": agencies, "units": units, "values": values, "error": error,
        "max_attachment_mb": http.app.state.settings.attachment_max_bytes // 1_048_576},
        status_code=status)


@router.get("/requests/new", response_class=HTMLResponse)
def new_request_page(http: HttpRequest):
    with session_scope(short_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        if not user.may("requests.receive"):
            raise NotPermitted("您的角色不能接收申请。")
        today = http.app.state.settings.today().isoformat()
        return _form_page(http, session, user, values={"received_on": today, "channel": "in_person",
                                                       "applicant.kind": "natural_person"})


@router.post("/requests/new", response_class=HTMLResponse)
async def new_request_post(http: HttpRequest):
    await run_in_threadpool(logged_in, http)  # before reading up to 32 MiB of scans
    form = await http.form()
    return await run_in_threadpool(_receive, http, form)


def _receive(http: HttpRequest, form):
    settings = http.app.state.settings
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
    with session_scope(http.app.state.engine) as session:
        user = form_user(http, session, form)
        if not user.may("requests.receive"):
            raise NotPermitted("您的角色不能接收申请。")
        try:
            body = validated(RequestCreate, _body(values))
            agency_id, unit_id = placement(session, user, body.agency, body.unit)
            row = service.receive(session, applicant=body.applicant.model_dump(),
                                  channel=body.channel, received_on=body.received_on,
                                  description=body.description, requested_form=body.requested_form,
                                  department=body.department, assignee=body.assignee,
                                  actor=user.actor, settings=settings, agency_id=agency_id,
                                  unit_id=unit_id)
            for kind, upload in uploads(form, settings):
                attachments.add(session, row.id, kind=kind, filename=upload[0], content=upload[1],
                                actor=user.actor, settings=settings)
            session.commit()
        except forms.FieldError as problem:
            session.rollback()
            return _form_page(http, session, user, values=values, error=str(problem), status=422)
        except RuleViolation as broken:
            session.rollback()
            return _form_page(http, session, user, values=values, error=refusal(broken), status=422)
        except AccessError as other:  # the agency or unit named: not one this officer serves
            session.rollback()
            return _form_page(http, session, user, values=values, status=getattr(other, "status", 422),
                              error="机关或承办科室：不存在、已停用或不在您的办理范围内")
        except DomainError as other:
            session.rollback()
            return _form_page(http, session, user, values=values, error=str(other), status=422)
    log.info("request_received", request_number=row.number, actor=user.actor, via="web")
    return RedirectResponse(f"/requests/{row.id}", status_code=303)


def _body(values: dict) -> dict:
    """The form's flat fields as RequestCreate's shape; an empty field is left out."""
    def value(name):
        raw = (values.get(name) or "").replace("\r\n", "\n").strip()
        if raw and forms.CONTROL.search(raw.replace("\n", "") if name in _TEXTAREAS else raw):
            raise forms.FieldError(name, FIELDS.get(name, name), "不能含有控制字符")
        return raw or None
    applicant = {k: value(f"applicant.{k}") for k in _APPLICANT}
    body = {k: value(k) for k in _REQUEST}
    body["applicant"] = {k: v for k, v in applicant.items() if v is not None}
    return {k: v for k, v in body.items() if v is not None}
