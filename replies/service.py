"""Issue, draft, preview and render letters — on top of the one door, in the caller's transaction.

- `advance_and_issue` fires an event through `states.service.advance` and, in the same
  transaction, issues the letters that event sends: the notice it documents, or at
  `send_reply` the decision letter (plus, where a third party's objection was overridden in the
  public interest, the Art 32 notice to it). Each issued letter's exact HTML, its SHA-256 and
  the template name and version go into an `issue_letter` audit event.
- DOCX and PDF are rendered later by the outbox (`render_files`), from the frozen HTML, and
  recorded in a `render_letter` audit event: an API call never waits for more than the HTML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, select

import audit
from core.config import Agency as AgencyProfile
from core.config import Settings, get_settings
from core.db import next_in_counter
from replies.catalog import (DATES, DRAFT_PARTS, NOTICE_OF_EVENT, NOTICES, PARTS, LetterSpec,
                             decision_spec, required_parts)
from replies.facts import build_facts
from replies.formats import FORMATS, convert
from replies.models import Letter, LetterDraft, LetterFile, LetterRegister
from replies.render import render_html
from states.agency import agency_profile
from states.workdays import WorkCalendar
from states.calendar_years import calendar_for
from states.codes import ConsultationParty
from states.errors import ConcurrentChange, RequestNotFound, RuleViolation
from states.machine import FINISHED_STATES
from states.models import Consultation, Decision, Request, ServiceRecord
from states.review_step import redactions_of, review_of
from states.ledger import (consultations_of, fee_deadline, reasons_deadline,
                           supplement_period_days)
from states.service import advance, enqueue, lock_request, record_fact, record_service

DEFERRED_FORMATS = ("docx", "pdf")       # rendered by the outbox, not on the API path
FROZEN_STATES = FINISHED_STATES  # once replied (or withdrawn), a request's letters never change
RENDER_EFFECT = "render_letter"


@dataclass
class Planned:
    spec: LetterSpec
    recipient: str
    parts: dict
    consultation: Consultation | None = None
    matter: str | None = None


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def decision_of(session: Session, request_id: int) -> Decision | None:
    return session.exec(select(Decision).where(Decision.request_id == request_id)).first()


def draft_of(session: Session, request_id: int) -> LetterDraft | None:
    return session.exec(select(LetterDraft).where(LetterDraft.request_id == request_id,
                                                  LetterDraft.kind == "decision")).first()


def draft_parts(session: Session, row: Request, decision: Decision | None) -> dict:
    draft = draft_of(session, row.id)
    parts = json.loads(draft.parts) if draft else {}
    if decision and decision.reason and not parts.get("reasons"):
        parts["reasons"] = decision.reason  # the reason given at decide is the letter's default
    if decision and decision.outcome == "partially_disclosed" and not parts.get("withheld_parts"):
        # The parts the confidentiality review marked are the letter's default withheld parts.
        marked = [r["part"] for r in redactions_of(review_of(session, row.id))]
        if marked:
            parts["withheld_parts"] = "、".join(marked)
    return parts


def overrides_of(decision: Decision | None) -> list[dict]:
    """Art 32: the objecting third parties whose objection the decision overrode in the public
    interest, each with what of its information is disclosed and why."""
    return json.loads(decision.overrides) if decision and decision.overrides else []


def _plan(session: Session, row: Request, event: str, data: dict) -> list[Planned]:
    if event in NOTICE_OF_EVENT:
        parts = {k: data.get(k) for k in ("note", "reason", "basis", "how_to_pay")}
        if event == "approve_extension":
            parts["reason"] = row.extension_reason  # as staff gave it when asking
        if event == "notify_fee":
            parts["basis"] = row.fee_basis  # computed from the request (states/fees.py)
        if event == "request_supplement":
            parts["items"] = [i["text"] if isinstance(i, dict) else i for i in data.get("items") or []]
        return [Planned(NOTICES[NOTICE_OF_EVENT[event]], row.applicant_name, parts)]
    if event == "open_consultation":
        c = consultations_of(session, row.id)[-1]
        kind = ("consultation_third_party" if c.party == ConsultationParty.third_party
                else "consultation_agency")
        return [Planned(NOTICES[kind], c.name, {}, c)]
    if event == "send_reply":
        decision = decision_of(session, row.id)
        parts = draft_parts(session, row, decision)
        planned = [Planned(decision_spec(decision.outcome, decision.correction), row.applicant_name,
                           parts)]
        by_id = {c.id: c for c in consultations_of(session, row.id)}
        for override in overrides_of(decision):
            c = by_id[override["consultation_id"]]
            # Only what concerns this third party: never the applicant's reply or attachments.
            planned.append(Planned(NOTICES["public_interest_notice"], c.name,
                                   {"disclosed": override["disclosed"],
                                    "public_interest_reason": override["reason"]}, c))
        return planned
    return []


def _check_parts(spec: LetterSpec, parts: dict, requested_form: str | None = None) -> None:
    for name in required_parts(spec, parts, requested_form):
        value = parts.get(name)
        if not value or (isinstance(value, str) and not value.strip()):
            where = ("save it in the letter draft (PUT /api/v1/requests/{id}/letters/draft)"
                     if name in DRAFT_PARTS else "send it with the event")
            raise RuleViolation(name, f"the {spec.title} needs {PARTS[name]} ({name}): {where}",
                                f"{spec.title}须写明{PARTS[name]}" + ("（在答复书草稿中填写）"
                                                                   if name in DRAFT_PARTS else ""))


def _letter_dates(row: Request, plan: Planned, calendar: WorkCalendar, settings: Settings) -> dict:
    """The raw date behind each date path a letter may print (None: not known)."""
    c = plan.consultation
    return {
        "request.due_on": row.due_on,
        "extension.new_due_on": row.due_on,
        "supplement.deadline": row.supplement_deadline if row.supplement_served_on else None,
        "fee.pay_by": fee_deadline(row, calendar, settings) if row.fee_served_on else None,
        "consultation.reply_by": c.lapses_on if c is not None and c.served_on else None,
        "reasons.deferred_to": row.deferred_to,
    }


def facts_for(session: Session, row: Request, plan: Planned, *, on: dt.date, settings: Settings,
              calendar: WorkCalendar, doc_seq: int | None, agency: AgencyProfile) -> dict:
    dates = _letter_dates(row, plan, calendar, settings)
    for path in plan.spec.dates:
        if dates[path] is None:
            raise RuleViolation("on", f"the {plan.spec.title} would be issued without its "
                                f"{DATES[path]} ({path}): a calendar year it reaches is not loaded "
                                "(gongkai calendar import) or the service date that starts it "
                                "is not recorded; no letter is frozen with a blank date",
                                f"{plan.spec.title}的{DATES[path]}无法计算（所涉年度的放假安排未导入，或起算所依据的送达日期未登记），"
                                "文书不能留空日期")
    # A deferral's date is one the agency fixed, not a count of working days: never provisional.
    shown = [dates[p] for p in (*plan.spec.dates, *plan.spec.optional_dates)
             if dates[p] and p != "reasons.deferred_to"]
    years = sorted({y for d in shown for y in calendar.provisional_years_in(d)})
    return build_facts(spec=plan.spec, row=row, agency=agency, issued_on=on,
                       parts=plan.parts, recipient=plan.recipient, doc_seq=doc_seq,
                       decision=decision_of(session, row.id), consultation=plan.consultation,
                       redactions=redactions_of(review_of(session, row.id)),
                       fee_pay_by=dates["fee.pay_by"],
                       fee_stops_clock=settings.fee_stops_clock,
                       supplement_period_days=(supplement_period_days(row, calendar, settings)
                                               if row.supplement_requested_on else None),
                       reasons_deadline=reasons_deadline(row, calendar, settings)[0],
                       provisional_years=years, demo=settings.demo_mode)


def checked_agency(session: Session, row: Request, settings: Settings) -> AgencyProfile:
    """The request's agency as its letters print it. No letter is frozen with the placeholders:
    refuse until the agency is configured (or the engine runs in demo mode, whose letters say
    演示文书)."""
    agency, missing = agency_profile(session, row)
    if missing and not settings.demo_mode:
        envs = ", ".join(AgencyProfile.REQUIRED[f] for f in missing)
        raise RuleViolation("agency", f"letters of agency {agency.code!r} cannot be issued until it "
                            f"is configured: {', '.join(missing)} (`gongkai agencies set "
                            f"{agency.code} FIELD=VALUE` or PATCH /api/v1/agencies/{agency.code}; "
                            f"for the deployment's bootstrap agency also {envs}), or "
                            "GONGKAI_DEMO_MODE=true to try the engine out",
                            "本机关的文头、复议机关等信息尚未配置，不能制发文书：请系统管理员先完成机关设置")
    return agency


def next_doc_seq(session: Session, agency_id: int, code: str, year: int) -> int:
    """The next 文号 sequence of an agency for a letter code in its issue year (发文登记), taken
    under the counter row's lock so two letters never share a number."""
    return next_in_counter(session, LetterRegister, agency_id=agency_id, code=code, year=year)


def _issue(session: Session, row: Request, plan: Planned, *, actor: str, on: dt.date,
           settings: Settings, calendar: WorkCalendar) -> Letter:
    agency = checked_agency(session, row, settings)
    _check_parts(plan.spec, plan.parts, row.requested_form)
    facts = facts_for(session, row, plan, on=on, settings=settings, calendar=calendar,
                      doc_seq=next_doc_seq(session, row.agency_id, plan.spec.code, on.year),
                      agency=agency)
    rendered = render_html(plan.spec.template, facts, settings.templates_dir)
    now = _now()
    letter = Letter(request_id=row.id, kind=plan.spec.kind, title=plan.spec.title,
                    doc_number=facts["letter"]["doc_number"], recipient=plan.recipient,
                    issued_on=on, issued_by=actor, template=rendered.template,
                    template_version=rendered.template_version,
                    facts=audit.canonical_json(facts), created_at=now)
    session.add(letter)
    session.flush()
    content = rendered.html.encode("utf-8")
    file = _store(session, letter, "html", content, now)
    record_fact(session, row.id, "issue_letter", actor, on=on, data={
        "letter_id": letter.id, "kind": letter.kind, "title": letter.title,
        "doc_number": letter.doc_number, "recipient": letter.recipient,
        "template": letter.template, "template_version": letter.template_version,
        "format": "html", "sha256": file.sha256, "size": file.size, "html": rendered.html},
        locked=row)  # advance locked it in this transaction
    enqueue(session, row.id, RENDER_EFFECT, {"letter_id": letter.id})
    if plan.consultation is not None and plan.consultation.letter_id is None:
        plan.consultation.letter_id = letter.id  # its service date starts the consultation's 15 days
        session.add(plan.consultation)
    return letter


def _store(session: Session, letter: Letter, fmt: str, content: bytes, now: dt.datetime,
           sealed_with: str | None = None) -> LetterFile:
    file = LetterFile(letter_id=letter.id, format=fmt, content=content,
                      sha256=hashlib.sha256(content).hexdigest(), size=len(content),
                      sealed_with=sealed_with, created_at=now)
    session.add(file)
    session.flush()
    return file


def advance_and_issue(session: Session, request_id: int, event: str, actor: str, *, on: dt.date,
                      expected_version: int | None = None, settings: Settings | None = None,
                      calendar: WorkCalendar | None = None, **data: Any) -> tuple[Request, list[Letter]]:
    """`advance` plus the letters the event sends, all in the caller's transaction."""
    settings = settings or get_settings()
    calendar = calendar or calendar_for(session, settings)
    if event == "send_reply":
        # Check the letter can be written before anything moves: a clear 422, nothing half-done.
        row = session.get(Request, request_id)
        decision = decision_of(session, request_id) if row else None
        if decision:
            spec = decision_spec(decision.outcome, decision.correction)
            _check_parts(spec, draft_parts(session, row, decision), row.requested_form)
    row = advance(session, request_id, event, actor, on=on, expected_version=expected_version,
                  settings=settings, calendar=calendar, **data)
    letters = [_issue(session, row, plan, actor=actor, on=on, settings=settings, calendar=calendar)
               for plan in _plan(session, row, event, data)]
    return row, letters


def save_draft(session: Session, request_id: int, actor: str, parts: dict,
               expected_version: int | None = None, today: dt.date | None = None) -> LetterDraft:
    """Staff write the free parts of the decision letter; allowed until send_reply freezes it.
    Under the request's row lock, like the one door: a save and a send_reply never interleave,
    and two saves with one `expected_version` have one winner."""
    row = lock_request(session, request_id)
    if row.state in FROZEN_STATES:
        raise RuleViolation("draft", f"the request is {row.state}: its letters are frozen and "
                                     "cannot be changed", "答复已送出，文书已定稿，不能再修改")
    unknown = set(parts) - set(DRAFT_PARTS)
    if unknown:
        raise RuleViolation(sorted(unknown)[0], f"not a part staff write; one of {', '.join(DRAFT_PARTS)}",
                            "不是答复书中由经办人填写的部分")
    # The head and the legal reviewer signed the text as it was: a changed draft needs signing again.
    on = today or get_settings().today()
    if row.reply_approved_by:
        record_fact(session, row.id, "reply_approval_withdrawn", actor, on=on,
                    data={"approved_by": row.reply_approved_by, "approved_on": row.reply_approved_on,
                          "why": "the draft changed after the sign-off"})
        row.reply_approved_by = row.reply_approved_on = None
    if row.legal_signed_by:
        record_fact(session, row.id, "legal_signoff_withdrawn", actor, on=on,
                    data={"signed_by": row.legal_signed_by, "signed_on": row.legal_signed_on,
                          "why": "the draft changed after the sign-off"})
        row.legal_signed_by = row.legal_signed_on = None
    row.legal_returned_on = None  # a revised draft answers a return by the legal reviewer
    session.add(row)
    draft = session.exec(select(LetterDraft).where(LetterDraft.request_id == request_id,
                                                   LetterDraft.kind == "decision")
                         .execution_options(populate_existing=True)).first()
    if draft is None:
        draft = LetterDraft(request_id=request_id, kind="decision", parts="{}", version=0,
                            updated_by=actor, updated_at=_now())
    elif expected_version is not None and expected_version != draft.version:
        raise ConcurrentChange(expected_version, draft.version)
    merged = {**json.loads(draft.parts), **{k: v for k, v in parts.items()}}
    draft.parts = json.dumps({k: v for k, v in merged.items() if v not in (None, "", [])},
                             ensure_ascii=False, sort_keys=True)
    draft.version += 1
    draft.updated_by, draft.updated_at = actor, _now()
    session.add(draft)
    session.flush()
    return draft


def preview(session: Session, request_id: int, *, fmt: str = "html", on: dt.date | None = None,
            settings: Settings | None = None) -> tuple[LetterSpec, bytes]:
    """The decision letter as it would be sent today (nothing stored)."""
    settings = settings or get_settings()
    calendar = calendar_for(session, settings)
    row = session.get(Request, request_id)
    if row is None:
        raise RequestNotFound(request_id)
    decision = decision_of(session, request_id)
    if decision is None:
        raise RuleViolation("outcome", "no decision yet: decide first, then preview its letter",
                            "尚未作出答复决定")
    on = on or settings.today()
    latest = settings.today() + dt.timedelta(days=366)
    if not row.received_on <= on <= latest:
        raise RuleViolation("on", f"a letter is dated between the receipt ({row.received_on}) and "
                            f"a year from today ({latest})",
                            f"文书日期应在收到申请之日（{row.received_on}）至一年后（{latest}）之间")
    plan = Planned(decision_spec(decision.outcome, decision.correction), row.applicant_name,
                   draft_parts(session, row, decision))
    _check_parts(plan.spec, plan.parts, row.requested_form)
    facts = facts_for(session, row, plan, on=on, settings=settings, calendar=calendar,
                      doc_seq=None, agency=agency_profile(session, row)[0])
    html = render_html(plan.spec.template, facts, settings.templates_dir).html
    return plan.spec, convert(html, fmt, title=plan.spec.title)


def letters_of(session: Session, request_id: int) -> list[tuple[Letter, list[LetterFile]]]:
    letters = session.exec(select(Letter).where(Letter.request_id == request_id).order_by(Letter.id)).all()
    out = []
    for letter in letters:
        files = session.exec(select(LetterFile).where(LetterFile.letter_id == letter.id)
                             .order_by(LetterFile.id)).all()
        out.append((letter, list(files)))
    return out


def letter_file(session: Session, request_id: int, letter_id: int, fmt: str) -> tuple[Letter, LetterFile | None]:
    letter = session.get(Letter, letter_id)
    if letter is None or letter.request_id != request_id:
        raise LookupError(f"request {request_id} has no letter {letter_id}")
    file = session.exec(select(LetterFile).where(LetterFile.letter_id == letter_id,
                                                 LetterFile.format == fmt)).first()
    return letter, file


def render_files(session: Session, letter_id: int, *, actor: str, on: dt.date,
                 formats: tuple[str, ...] = DEFERRED_FORMATS,
                 seal: bytes | None = None) -> dict[str, str]:
    """Render a frozen letter's other formats from its HTML; idempotent (a format already stored
    is kept, never replaced). Returns {format: sha256} of what this call added."""
    letter = session.get(Letter, letter_id)
    if letter is None:
        raise LookupError(f"no letter {letter_id}")
    existing = {f.format: f for f in session.exec(select(LetterFile)
                                                  .where(LetterFile.letter_id == letter_id)).all()}
    html = existing["html"].content.decode("utf-8")
    added: dict[str, LetterFile] = {}
    now = _now()
    seal_sha = hashlib.sha256(seal).hexdigest() if seal else None
    for fmt in formats:
        if fmt in existing or fmt not in FORMATS:
            continue
        sealed = seal_sha if fmt == "pdf" else None
        added[fmt] = _store(session, letter, fmt,
                            convert(html, fmt, title=letter.title, seal=seal if sealed else None),
                            now, sealed)
    if added:
        record_fact(session, letter.request_id, "render_letter", actor, on=on, data={
            "letter_id": letter.id, "kind": letter.kind, "template": letter.template,
            "template_version": letter.template_version, "from_html_sha256": existing["html"].sha256,
            "files": {fmt: {"sha256": f.sha256, "size": f.size,
                            **({"sealed_with": f.sealed_with} if f.sealed_with else {})}
                      for fmt, f in added.items()}})
    return {fmt: f.sha256 for fmt, f in added.items()}


# Which period a letter's service date starts (the rest are recorded as facts only).
SERVICE_PERIOD_OF_KIND = {"supplement_notice": "supplement", "fee_notice": "fee",
                          "reasons_notice": "reasons",
                          "consultation_third_party": "consultation",
                          "consultation_agency": "consultation"}


def serve_letter(session: Session, request_id: int, letter_id: int, *, method: str,
                 served_on: dt.date, actor: str, tracking_number: str | None = None,
                 note: str | None = None, settings: Settings | None = None):
    """Record a letter's service (送达) through the one door; returns the service record."""
    letter = session.get(Letter, letter_id)
    if letter is None or letter.request_id != request_id:
        if session.get(Request, request_id) is None:
            raise RequestNotFound(request_id)
        raise LookupError(f"request {request_id} has no letter {letter_id}")
    period = SERVICE_PERIOD_OF_KIND.get(letter.kind)
    consultation_id = None
    if period == "consultation":
        consultation_id = session.exec(select(Consultation.id).where(
            Consultation.letter_id == letter.id)).first()
    return record_service(session, request_id, letter_id=letter.id, issued_on=letter.issued_on,
                          period=period, consultation_id=consultation_id, method=method,
                          served_on=served_on, actor=actor, tracking_number=tracking_number,
                          note=note, settings=settings)


def services_of(session: Session, request_id: int) -> dict[int, list]:
    """Every service record of a request's letters, oldest first, by letter id."""
    out: dict[int, list] = {}
    for rec in session.exec(select(ServiceRecord).where(ServiceRecord.request_id == request_id)
                            .order_by(ServiceRecord.id)):
        out.setdefault(rec.letter_id, []).append(rec)
    return out


def seal_image(session: Session, request_id: int) -> bytes | None:
    """The electronic seal (PNG) of the request's agency, if configured; a configured file that
    cannot be read is an error (the render is retried and parked with it), never a silent
    unsealed PDF."""
    path = agency_profile(session, session.get(Request, request_id))[0].electronic_seal
    return path.read_bytes() if path else None
