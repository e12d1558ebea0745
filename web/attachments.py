"""Files posted with a page's form (the intake form, a request's 上传附件), read within the
configured size, and a request's files downloaded — checked against their recorded SHA-256."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request as HttpRequest
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from core.config import Settings
from core.db import session_scope, short_reads
from states import attachments
from states.errors import DomainError, RuleViolation
from web import forms
from web.labels import refusal
from web.login import form_user, logged_in, page_user
from web.request_page import NotVisible, refused_page, visible
from web.templating import templates

router = APIRouter(include_in_schema=False)

# The form fields that carry files, by kind (several files each).
FILE_FIELDS = {"application": "application_files", "identity": "identity_files",
               "other": "other_files"}


def uploads(form, settings: Settings) -> list[tuple[str, tuple[str, bytes]]]:
    """(kind, (file name, bytes)) of every file posted; a file larger than allowed is refused
    before it is read whole."""
    out = []
    for kind, name in FILE_FIELDS.items():
        for upload in form.getlist(name):
            if isinstance(upload, str) or not getattr(upload, "filename", None):
                continue  # an empty file input posts an empty part
            content = upload.file.read(settings.attachment_max_bytes + 1)
            if len(content) > settings.attachment_max_bytes:
                raise forms.FieldError("file", "附件", f"“{attachments.clean_filename(upload.filename)}”"
                                       f"超过{settings.attachment_max_bytes // 1_048_576}MB")
            out.append((kind, (upload.filename, content)))
    return out


@router.post("/requests/{request_id}/attachments", response_class=HTMLResponse)
async def post_attachments(http: HttpRequest, request_id: str):
    await run_in_threadpool(logged_in, http)  # before reading up to 32 MiB of files
    form = await http.form()
    return await run_in_threadpool(_attach, http, request_id, form)


def _attach(http: HttpRequest, request_id: str, form):
    settings = http.app.state.settings
    with session_scope(http.app.state.engine) as session:
        user = form_user(http, session, form)
        row = visible(session, user, request_id)
        try:
            if not user.may("requests.act"):
                raise forms.FieldError("file", "附件", "您的角色不能上传附件")
            posted = uploads(form, settings)
            if not posted:
                raise forms.FieldError("file", "附件", "请选择文件")
            for kind, (name, content) in posted:
                attachments.add(session, row.id, kind=kind, filename=name, content=content,
                                actor=user.actor, settings=settings)
            session.commit()
        except forms.FieldError as problem:
            session.rollback()
            return refused_page(http, user, request_id, str(problem), "attachments", form, 422)
        except RuleViolation as broken:
            session.rollback()
            return refused_page(http, user, request_id, refusal(broken), "attachments", form, 422)
        except DomainError as other:
            session.rollback()
            return refused_page(http, user, request_id, str(other), "attachments", form, 422)
    return RedirectResponse(f"/requests/{row.id}#attachments", status_code=303)


@router.get("/requests/{request_id}/attachments/{attachment_id}")
def download(http: HttpRequest, request_id: str, attachment_id: str):
    with session_scope(short_reads(http.app.state.engine)) as session:
        user = page_user(http, session)
        row = visible(session, user, request_id)
        if not (attachment_id.isascii() and attachment_id.isdigit() and len(attachment_id) <= 10):
            raise NotVisible()
        try:
            found = attachments.read(session, row.id, int(attachment_id))
        except attachments.AttachmentAltered:
            return templates.TemplateResponse(http, "message.html", {
                "title": "附件已被改动", "message": "该附件的内容与接收时记录的SHA-256不一致，"
                "已拒绝下载。请通知系统管理员并保全现场。", "user": user}, status_code=409)
        if found is None:
            raise NotVisible()
        return Response(found.content, media_type=found.content_type, headers={
            "Content-Disposition":
                f"attachment; filename*=UTF-8''{quote(attachments.download_name(found))}",
            "X-Content-SHA256": found.sha256, "X-Content-Type-Options": "nosniff"})
