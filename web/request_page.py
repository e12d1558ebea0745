"""One request's page: its facts, the clock with its explanation, consultations, letters (with
their downloads and service dates), the history as a timeline in Chinese, and only the lawful
next actions as forms — each posted through the one door, then back to the page."""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request as HttpRequest
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

import audit
from audit import checkpoint, signing
from audit.checkpoint import request_anchor
from access import users
from access.policy import EVENT_PERMISSIONS, SIGNED_EVENTS, Principal
from core.db import session_scope, short_reads, snapshot_reads
from core.logging import get_logger
from fastapi.responses import JSONResponse

from replies.catalog import DRAFT_PARTS, decision_spec, required_parts
from replies.service import (FROZEN_STATES, advance_and_issue, decision_of, draft_of, letters_of,
                             preview, save_draft, serve_letter, services_of)
from reports.request_view import request_view
from states.errors import ConcurrentChange, DomainError, EventNotAllowed, RuleViolation
from states.attachments import KINDS, attachments_of
from states.inputs import EVENT_BODIES, DraftBody, ServiceBody
from states.models import Request
from states.presence import read_for_view
from web import forms
from web.event_forms import FormField, form_fields, read_form, validated
from web.labels import (CHOICES, DRAFT_LABELS, EVENTS, FACT_LABELS, FIELDS, FIELDS_SERVICE,
                        VALUE_LABELS, refusal)
from web.login import form_user, need, page_user
from web.templating import templates

router = APIRouter(include_in_schema=False)
log = get_logger("web")


class NotVisible(Exception):
    """No such request, or one outside the officer's scope (the same answer: 404)."""


def visible(session, user: Principal, request_id: str, *, view: bool = False) -> Request:
    """The request of a path's id, if this officer may see it. `view`: with what its whole view
    needs, read in the same statement (states/presence.py `read_for_view`)."""
    need(user, "requests.read")
    ok = (request_id.isascii() and request_id.isdigit() and len(request_id) <= 10
          and 1 <= int(request_id) <= 2_147_483_647)
    row = (read_for_view(session, int(request_id)) if view else session.get(Request, int(request_id))
           ) if ok else None
    if row is None or not user.sees(row.agency_id, row.unit_id):
        raise NotVisible()
    return row


def _actions(view: dict, user: Principal, today) -> list[tuple[str, str, list[FormField]]]:
    """(event, its name, its fields) for each event the state allows and the role may fire."""
    open_consultations = {str(c["id"]): f"{c['name']}（{c['sent_on']}发出）"
                          for c in view["consultations"] if c["closed_on"] is None}
    open_internal = {str(c["id"]): f"{c['name']}（{c['sent_on']}）"
                     for c in view["internal_consultations"] if c["closed_on"] is None}
    return [(event, EVENTS.get(event, event),
             form_fields(EVENT_BODIES[event], today=today, open_consultations=open_consultations,
                         open_internal=open_internal))
            for event in view["allowed_events"]
            if event in EVENT_BODIES and user.may(EVENT_PERMISSIONS.get(event, "requests.act"))]


# What an event's data holds for the machinery, not for a reader (the letter's text is in 文书).
_UNREAD = {"expected_version", "html", "format", "template", "letter_id", "kind", "agency_id"}


def _fact(key: str, value, event: str = "") -> tuple[str, str]:
    label = FIELDS.get(key) or DRAFT_LABELS.get(key) or FACT_LABELS.get(key, key)
    if event == "record_service" and key == "method":
        label, value = "送达方式", CHOICES["service_method"].get(value, value)
    elif isinstance(value, str) and key in VALUE_LABELS:
        value = VALUE_LABELS[key].get(value, value)
    elif isinstance(value, str) and key in CHOICES:
        value = CHOICES[key].get(value) or CHOICES["service_method"].get(value, value)
    elif key == "redactions" and isinstance(value, list):
        grounds = {**CHOICES["withheld_ground"], **CHOICES["ground"]}
        value = "；".join(f"{r.get('part')}（{grounds.get(r.get('ground'), r.get('ground'))}）"
                         for r in value if isinstance(r, dict))
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return label, text if len(text) <= 300 else text[:300] + "…"


def _trust(settings) -> dict:
    """What a checkpoint on the page is checked against: the deployment's own public key, and
    the latest checkpoint file written outside the database (either may be absent)."""
    out: dict = {}
    try:
        if settings.signing_key_path.exists():
            out["trusted_key"] = signing.public_hex(
                signing.load_or_create(settings.signing_key_path, create=False)[0])
        written = checkpoint.latest_file(settings.checkpoints_path)
        if written is not None:
            out["outside"] = checkpoint.SignedHead.read(written)
    except (signing.SigningKeyError, checkpoint.CheckpointError, OSError):
        pass  # the page then checks what the database holds, as before any file existed
    return out


def _local(moment, zone) -> str:
    """A stored UTC time as the officer's clock shows it (as stored, if it is not a time)."""
    try:
        moment = dt.datetime.fromisoformat(str(moment))
    except ValueError:
        return str(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def _data(ev) -> dict:
    """An event's data; whatever else it holds (a tampered row) is shown as unreadable."""
    try:
        data = json.loads(ev.data)
    except (TypeError, ValueError):
        return {"unreadable": str(ev.data)[:300]}
    return data if isinstance(data, dict) else {"unreadable": str(ev.data)[:300]}


def _timeline(events, zone) -> list[dict]:
    out = []
    for ev in events:
        data = _data(ev)
        out.append({"seq": ev.seq, "recorded_at": _local(ev.recorded_at, zone),
                    "on": ev.on, "actor": ev.actor,
                    "event": EVENTS.get(ev.event, ev.event), "code": ev.event,
                    "from_state": ev.from_state, "to_state": ev.to_state, "hash": ev.hash,
                    "letter_id": data.get("letter_id") if ev.event == "issue_letter" else None,
                    "attachment_id": data.get("attachment_id") if ev.event == "attach_file" else None,
                    "facts": [_fact(k, v, ev.event) for k, v in data.items()
                              if (k not in _UNREAD or (k == "kind" and ev.event == "attach_file"))
                              and v not in (None, "", [])]})
    return out


def _page(http: HttpRequest, session, user: Principal, row: Request, *, error=None,
          failed_event: str | None = None, posted=None, status: int = 200):
    settings = http.app.state.settings
    view = request_view(session, row, settings)
    events = audit.history(session, row.id)
    verdict = audit.verify(session, row.id, expected_head=(row.audit_seq, row.audit_head),
                           events=events)
    anchor = request_anchor(session.connection(), row.id, events, **_trust(settings))
    zone = ZoneInfo(settings.timezone)
    if anchor and anchor.get("signed_at"):
        anchor["signed_at"] = _local(anchor["signed_at"], zone)
    services = services_of(session, row.id)
    letters = [{"letter": letter, "files": files, "service": (services.get(letter.id) or [None])[-1]}
               for letter, files in letters_of(session, row.id)]
    actions = _actions(view, user, settings.today())
    draft = _draft(session, row, posted if failed_event == "draft" else None)
    files = attachments_of(session, row.id)
    if posted is not None:  # a refused form comes back as it was typed
        for event, _, fields in actions:
            if event == failed_event:
                for spec in fields:
                    value = posted.get(spec.name)
                    spec.value = value if isinstance(value, str) else spec.value
    return templates.TemplateResponse(http, "request.html", {
        "user": user, "today": settings.today(), "active": "ledger", "view": view, "row": row,
        "timeline": _timeline(events, ZoneInfo(settings.timezone)), "letters": letters, "actions": actions, "error": error,
        "failed_event": failed_event, "draft": draft, "files": files, "FILE_KINDS": KINDS,
        "max_attachment_mb": settings.attachment_max_bytes // 1_048_576,
        "verdict": verdict, "anchor": anchor,
        "may_act": user.may("requests.act")}, status_code=status)


def _draft(session, row: Request, posted) -> dict | None:
    """The decision letter's draft while it may still change: its parts, which sending demands."""
    decision = decision_of(session, row.id)
    if decision is None or row.state in FROZEN_STATES:
        return None
    saved = draft_of(session, row.id)
    parts = json.loads(saved.parts) if saved else {}
    spec = decision_spec(decision.outcome, decision.correction)
    values = {k: ("\n".join(parts[k]) if isinstance(parts.get(k), list) else parts.get(k) or "")
              for k in DRAFT_PARTS}
    if posted is not None:
        values = {k: posted.get(k) if isinstance(posted.get(k), str) else "" for k in DRAFT_PARTS}
    return {"title": spec.title, "version": saved.version if saved else 0, "values": values,
            "required": required_parts(spec, parts, row.requested_form), "labels": DRAFT_LABELS}


@router.get("/requests/{request_id}", response_class=HTMLResponse)
def request_page(http: HttpRequest, request_id: str):
    # One snapshot: the row's chain head and the history checked against it (on PostgreSQL a
    # commit between the two statements read a sound chain as tampered).
    with session_scope(snapshot_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        return _page(http, session, user, visible(session, user, request_id, view=True))


@router.post("/requests/{request_id}/events/{event}", response_class=HTMLResponse)
async def post_event(http: HttpRequest, request_id: str, event: str):
    form = await http.form()  # small: the middleware caps an event's body at 1 MiB
    return await run_in_threadpool(_fire, http, request_id, event, form)


def _fire(http: HttpRequest, request_id: str, event: str, form):
    settings = http.app.state.settings
    with session_scope(http.app.state.engine) as session:
        user = form_user(http, session, form)
        row = visible(session, user, request_id)
        if event not in EVENT_BODIES or not user.may(EVENT_PERMISSIONS.get(event, "requests.act")):
            session.rollback()
            return refused_page(http, user, request_id, "您的角色不能办理此事项。", event, form, 403)
        model = EVENT_BODIES[event]
        fields = form_fields(model, today=settings.today(), open_consultations={}, open_internal={})
        version = form.get("expected_version")
        try:
            if not isinstance(version, str) or not version.isdigit() or len(version) > 10:
                raise forms.FieldError("expected_version", "页面版本", "页面已过期，请刷新后重新办理")
            parsed = read_form(model, fields, form, version=int(version))
            data = parsed.model_dump(exclude={"on", "expected_version"}, mode="json")
            if event in SIGNED_EVENTS:
                account = users.get_user(session, user.username)
                data[SIGNED_EVENTS[event]] = account.display_name or account.username
            row, letters = advance_and_issue(session, row.id, event, user.actor, on=parsed.on,
                                             expected_version=parsed.expected_version,
                                             settings=settings, **data)
            session.commit()
        except forms.FieldError as problem:
            session.rollback()
            return refused_page(http, user, request_id, str(problem), event, form, 422)
        except ConcurrentChange:
            session.rollback()
            return refused_page(http, user, request_id, "该申请已被他人办理（页面已过期），请核对后重新办理。",
                            event, form, 409)
        except EventNotAllowed:
            session.rollback()
            return refused_page(http, user, request_id, f"当前阶段不能办理“{EVENTS.get(event, event)}”。",
                            event, form, 409)
        except RuleViolation as broken:
            session.rollback()
            return refused_page(http, user, request_id, refusal(broken), event, form, 422)
        except DomainError as other:
            session.rollback()
            return refused_page(http, user, request_id, str(other), event, form, 422)
    log.info("request_advanced", request_number=row.number, event_name=event, state=row.state,
             actor=user.actor, letters=[letter.kind for letter in letters], via="web")
    # The dashboard's 批准 buttons come back to the dashboard; every other form to the request.
    back = "/dashboard" if form.get("back") == "/dashboard" else f"/requests/{row.id}#timeline"
    return RedirectResponse(back, status_code=303)


def refused_page(http, user, request_id, message, event, form, status):
    with session_scope(snapshot_reads(http.app.state.engine)) as session:
        row = visible(session, user, request_id)
        return _page(http, session, user, row, error=message, failed_event=event, posted=form,
                     status=status)


@router.post("/requests/{request_id}/draft", response_class=HTMLResponse)
async def post_draft(http: HttpRequest, request_id: str):
    form = await http.form()
    return await run_in_threadpool(_save_draft, http, request_id, form)


def _save_draft(http: HttpRequest, request_id: str, form):
    """保存答复书草稿. A page's script saves as the officer types (X-Requested-With: fetch) and
    gets JSON back, then reloads the preview; without the script the page comes back."""
    quiet = http.headers.get("x-requested-with") == "fetch"
    with session_scope(http.app.state.engine) as session:
        user = form_user(http, session, form)
        row = visible(session, user, request_id)
        try:
            if not user.may("requests.act"):
                raise forms.FieldError("draft", "答复书草稿", "您的角色不能修改草稿")
            data = {}
            for part in DRAFT_PARTS:
                raw = form.get(part)
                raw = raw.replace("\r\n", "\n").strip() if isinstance(raw, str) else ""
                if part == "attachments":
                    data[part] = [line.strip() for line in raw.split("\n") if line.strip()] or None
                else:
                    data[part] = raw or None
            version = form.get("expected_version")
            if isinstance(version, str) and version.isdigit() and 0 < len(version) <= 10 and int(version):
                data["expected_version"] = int(version)
            body = validated(DraftBody, data, DRAFT_LABELS)
            if version == "0":  # the page showed no draft: one saved since is someone else's
                existing = draft_of(session, row.id)
                if existing is not None:
                    raise ConcurrentChange(0, existing.version)
            parts = body.model_dump(exclude={"expected_version"})
            saved = save_draft(session, row.id, user.actor, parts,
                               expected_version=body.expected_version,
                               today=http.app.state.settings.today())
            session.commit()
        except (forms.FieldError, DomainError) as problem:
            session.rollback()
            message = _message(problem)
            if quiet:
                return JSONResponse({"error": message}, status_code=409 if isinstance(
                    problem, ConcurrentChange) else 422)
            return refused_page(http, user, request_id, message, "draft", form,
                            409 if isinstance(problem, ConcurrentChange) else 422)
    if quiet:
        return JSONResponse({"version": saved.version})
    return RedirectResponse(f"/requests/{row.id}#draft", status_code=303)


@router.post("/requests/{request_id}/letters/{letter_id}/service", response_class=HTMLResponse)
async def post_service(http: HttpRequest, request_id: str, letter_id: str):
    form = await http.form()
    return await run_in_threadpool(_serve, http, request_id, letter_id, form)


def _serve(http: HttpRequest, request_id: str, letter_id: str, form):
    """登记送达: how and when a letter reached its addressee."""
    with session_scope(http.app.state.engine) as session:
        user = form_user(http, session, form)
        row = visible(session, user, request_id)
        try:
            if not user.may("requests.act"):
                raise forms.FieldError("service", "送达", "您的角色不能登记送达")
            if not (letter_id.isascii() and letter_id.isdigit() and len(letter_id) <= 10):
                raise forms.FieldError("letter", "文书", "没有这件文书")
            labels = {**FIELDS, **FIELDS_SERVICE}
            data = {k: forms.text(form, k, labels[k], max_length=2000)
                    for k in ("method", "served_on", "tracking_number", "note")}
            body = validated(ServiceBody, {k: v for k, v in data.items() if v is not None}, labels)
            serve_letter(session, row.id, int(letter_id), method=body.method,
                         served_on=body.served_on, tracking_number=body.tracking_number,
                         note=body.note, actor=user.actor, settings=http.app.state.settings)
            session.commit()
        except LookupError:
            session.rollback()
            return refused_page(http, user, request_id, "文书：没有这件文书", "service", form, 404)
        except (forms.FieldError, DomainError) as problem:
            session.rollback()
            return refused_page(http, user, request_id, _message(problem), "service", form, 422)
    return RedirectResponse(f"/requests/{row.id}#letters", status_code=303)


def _message(problem: Exception) -> str:
    if isinstance(problem, RuleViolation):
        return refusal(problem)
    if isinstance(problem, ConcurrentChange):
        return "草稿已被他人修改（页面已过期），请刷新后重新编辑。"
    return str(problem)


@router.get("/requests/{request_id}/draft/preview", response_class=HTMLResponse)
def draft_preview(http: HttpRequest, request_id: str):
    """The decision letter as it would be sent today, for the frame beside the draft; until the
    parts sending demands are written, what is still missing."""
    with session_scope(short_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        row = visible(session, user, request_id)
        try:
            _, html = preview(session, row.id, fmt="html", settings=http.app.state.settings)
        except RuleViolation as missing:
            return templates.TemplateResponse(http, "preview_pending.html", {
                "message": _message(missing)})
    return HTMLResponse(html)
