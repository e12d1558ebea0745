"""Letter routes: the decision letter's draft and preview, and every issued letter in each format."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Request as HttpRequest
from fastapi.responses import JSONResponse, Response

from api.deps import ScopedActor, ScopedReader, SessionDep, visible_request
from api.responses import DraftOut, LettersOut
from api.schemas import ERROR_RESPONSES, IsoDate, RowId
from replies import service as letters
from replies.catalog import decision_spec, required_parts
from replies.formats import FORMATS, MEDIA_TYPES
from states.inputs import DraftBody, ServiceBody
from states.models import Request

router = APIRouter(prefix="/api/v1/requests/{request_id}/letters", tags=["letters"],
                   responses=ERROR_RESPONSES)
def _service_view(rec) -> dict:
    return {"method": rec.method, "served_on": rec.served_on, "tracking_number": rec.tracking_number,
            "note": rec.note, "recorded_by": rec.recorded_by, "recorded_at": rec.recorded_at}


def _url(request_id: RowId, letter_id: RowId, fmt: str) -> str:
    return f"/api/v1/requests/{request_id}/letters/{letter_id}.{fmt}"


def _draft_view(session, row: Request) -> dict | None:
    draft = letters.draft_of(session, row.id)
    decision = letters.decision_of(session, row.id)
    spec = decision_spec(decision.outcome, decision.correction) if decision else None
    parts = json.loads(draft.parts) if draft else {}
    return {"version": draft.version if draft else 0,
            "parts": parts,
            "updated_by": draft.updated_by if draft else None,
            "frozen": row.state in letters.FROZEN_STATES,
            "letter": ({"title": spec.title, "template": spec.template,
                        # exactly what send_reply will demand
                        "required_parts": required_parts(spec, parts, row.requested_form)}
                       if spec else None)}


@router.get("", response_model=LettersOut)
def list_letters(request_id: RowId, session: SessionDep, user: ScopedReader):
    row = visible_request(session, user, request_id)
    items = []
    services = letters.services_of(session, row.id)
    for letter, files in letters.letters_of(session, row.id):
        have = {f.format for f in files}
        served = services.get(letter.id, [])
        items.append({
            "id": letter.id, "kind": letter.kind, "title": letter.title,
            "doc_number": letter.doc_number, "recipient": letter.recipient,
            "issued_on": letter.issued_on, "issued_by": letter.issued_by,
            # the period this letter's service date starts (补正, consultation, fee), if any
            "starts_period": letters.SERVICE_PERIOD_OF_KIND.get(letter.kind),
            "service": _service_view(served[-1]) if served else None,
            "service_pending": not served,
            "service_history": [_service_view(r) for r in served],
            "template": letter.template, "template_version": letter.template_version,
            "files": [{"format": f.format, "sha256": f.sha256, "size": f.size,
                       "url": _url(row.id, letter.id, f.format)} for f in files],
            "pending_formats": [fmt for fmt in FORMATS if fmt not in have]})
    return {"request_id": row.id, "number": row.number, "letters": items,
            "draft": _draft_view(session, row)}


@router.post("/{letter_id}/service", response_model=LettersOut)
def record_service(request_id: RowId, letter_id: RowId, body: ServiceBody, session: SessionDep,
                   user: ScopedActor, http: HttpRequest):
    """送达: record how and when a letter reached its addressee. The period it gives the
    recipient (补正, 15 working days to give an opinion, 20 to pay) runs from `served_on`."""
    settings = http.app.state.settings
    try:
        letters.serve_letter(session, request_id, letter_id, method=body.method,
                             served_on=body.served_on, tracking_number=body.tracking_number,
                             note=body.note, actor=user.actor, settings=settings)
    except LookupError as missing:
        return JSONResponse(status_code=404, content={"error": "not_found", "message": str(missing),
                                                      "detail": []})
    session.commit()
    return list_letters(request_id, session, user)


@router.put("/draft", response_model=DraftOut)
def put_draft(request_id: RowId, body: DraftBody, session: SessionDep, user: ScopedActor,
              http: HttpRequest):
    row = visible_request(session, user, request_id)
    parts = body.model_dump(exclude_unset=True, exclude={"expected_version"})
    letters.save_draft(session, row.id, user.actor, parts, expected_version=body.expected_version,
                       today=http.app.state.settings.today())
    session.commit()
    return _draft_view(session, row)


@router.get("/draft/preview", response_class=Response, responses={200: {
    "description": "the decision letter as it would be sent (nothing stored)",
    "content": {MEDIA_TYPES["html"]: {"schema": {"type": "string"}},
                MEDIA_TYPES["docx"]: {"schema": {"type": "string", "format": "binary"}}}}})
def preview(request_id: RowId, session: SessionDep, http: HttpRequest, user: ScopedReader,
            format: Annotated[str, Query(pattern="^(html|docx)$",
                                         description="html or docx; PDF is made after sending")] = "html",
            on: IsoDate | None = None):
    spec, content = letters.preview(session, request_id, fmt=format, on=on,
                                    settings=http.app.state.settings)
    return Response(content, media_type=MEDIA_TYPES[format])


@router.get("/{letter_id}.{fmt}", response_class=Response, responses={200: {
    "description": "the exact bytes issued; header X-Content-SHA256",
    "content": {MEDIA_TYPES[f]: {"schema": {"type": "string", "format": "binary"}} for f in FORMATS}}})
def download(request_id: RowId, letter_id: RowId, fmt: str, session: SessionDep,
             user: ScopedReader):
    if fmt not in FORMATS:
        return JSONResponse(status_code=404, content={
            "error": "not_found", "message": f"format '{fmt}' unknown; one of {', '.join(FORMATS)}",
            "detail": [{"field": "format", "rule": f"one of {', '.join(FORMATS)}"}]})
    try:
        letter, file = letters.letter_file(session, request_id, letter_id, fmt)
    except LookupError as missing:
        return JSONResponse(status_code=404, content={"error": "not_found", "message": str(missing),
                                                      "detail": []})
    if file is None:
        return JSONResponse(status_code=404, content={
            "error": "not_rendered_yet", "detail": [],
            "message": f"letter {letter_id} has no {fmt} yet: the outbox dispatcher renders it "
                       "shortly after the letter is issued"})
    filename = quote(f"{letter.doc_number}-{letter.title}.{fmt}")
    return Response(file.content, media_type=MEDIA_TYPES[fmt], headers={
        "X-Content-SHA256": file.sha256,
        "Content-Disposition": f"inline; filename*=UTF-8''{filename}"})
