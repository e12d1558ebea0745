"""Files received with a request — the scanned paper application, a copy of the applicant's ID,
other material: checked (type by content, size, how many), kept as received, and recorded in the
request's audit chain with their SHA-256, so a legal reviewer can prove a file is the one
received. Reading one back checks its bytes against that hash."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import unicodedata

from sqlmodel import Session, func, select

import audit

from core.config import Settings
from states.errors import RuleViolation
from states.models import Attachment
from states.service import lock_request, record_fact

KINDS = {"application": "申请书（扫描件）", "identity": "身份证明（复印件）", "other": "其他材料"}

# What a scanner or a camera makes, recognised by the file's first bytes, not by its name.
_SIGNATURES = ((b"%PDF-", "application/pdf", ".pdf"), (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
               (b"\x89PNG\r\n\x1a\n", "image/png", ".png"), (b"II*\x00", "image/tiff", ".tif"),
               (b"MM\x00*", "image/tiff", ".tif"))


def _data(ev) -> dict:
    try:
        data = json.loads(ev.data)
    except (TypeError, ValueError):
        return {}  # a history edited by hand: the file then matches nothing and is refused
    return data if isinstance(data, dict) else {}


_SAME_KIND = {".pdf": (".pdf",), ".jpg": (".jpg", ".jpeg"), ".png": (".png",),
              ".tif": (".tif", ".tiff")}


class AttachmentAltered(Exception):
    """The stored bytes no longer match the SHA-256 recorded when the file was received."""


def content_type_of(content: bytes) -> str | None:
    return next((kind for magic, kind, _ in _SIGNATURES if content.startswith(magic)), None)


def clean_filename(name: str) -> str:
    """The name as the officer's computer gave it, without a path, control characters or
    anything a download header could misread; at most 120 characters."""
    name = unicodedata.normalize("NFC", name or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f\"<>|:*?]", "", name).strip(" .")
    return name[:120] or "附件"


def add(session: Session, request_id: int, *, kind: str, filename: str, content: bytes,
        actor: str, settings: Settings) -> Attachment:
    """Attach a file to the request, under its row lock, with an `attach_file` audit event.
    Caller commits."""
    if kind not in KINDS:
        raise RuleViolation("kind", f"one of {', '.join(KINDS)}", "不是可选的附件类型")
    if not content:
        raise RuleViolation("file", "the file is empty", "文件是空的")
    if len(content) > settings.attachment_max_bytes:
        raise RuleViolation("file", f"larger than {settings.attachment_max_bytes} bytes "
                                    f"(GONGKAI_ATTACHMENT_MAX_BYTES)",
                            f"文件超过{settings.attachment_max_bytes // 1_048_576}MB")
    content_type = content_type_of(content)
    if content_type is None:
        raise RuleViolation("file", "a PDF, JPEG, PNG or TIFF file (judged by its content)",
                            "只接受PDF、JPEG、PNG或TIFF文件（按文件内容判断）")
    row = lock_request(session, request_id)
    held = session.exec(select(func.count()).select_from(Attachment)
                        .where(Attachment.request_id == row.id)).one()
    if held >= settings.attachments_per_request:
        raise RuleViolation("file", f"a request holds at most {settings.attachments_per_request} "
                                    "files (GONGKAI_ATTACHMENTS_PER_REQUEST)",
                            "本申请的附件已达上限")
    digest = hashlib.sha256(content).hexdigest()
    attachment = Attachment(request_id=row.id, kind=kind, filename=clean_filename(filename),
                            content_type=content_type, size=len(content), sha256=digest,
                            content=content, added_by=actor,
                            added_at=dt.datetime.now(dt.timezone.utc))
    session.add(attachment)
    session.flush()
    record_fact(session, row.id, "attach_file", actor, on=settings.today(), locked=row, data={
        "attachment_id": attachment.id, "kind": kind, "filename": attachment.filename,
        "content_type": content_type, "size": len(content), "sha256": digest})
    return attachment


def download_name(found: Attachment) -> str:
    """The name a download is saved under: the received name, with the extension of what the
    file is (a PDF named "x.html" is saved as "x.pdf")."""
    ext = next(e for _, kind, e in _SIGNATURES if kind == found.content_type)
    if found.filename.lower().endswith(_SAME_KIND[ext]):
        return found.filename
    stem = found.filename.rsplit(".", 1)[0] if "." in found.filename else found.filename
    return f"{stem}{ext}"


def attachments_of(session: Session, request_id: int) -> list:
    """The request's files, oldest first, without their bytes."""
    return list(session.exec(
        select(Attachment.id, Attachment.kind, Attachment.filename, Attachment.content_type,
               Attachment.size, Attachment.sha256, Attachment.added_by, Attachment.added_at)
        .where(Attachment.request_id == request_id).order_by(Attachment.id)).all())


def read(session: Session, request_id: int, attachment_id: int) -> Attachment | None:
    """One file of the request, its bytes checked against the SHA-256 its audit event recorded
    (the hash-chained record, not only the row's own column)."""
    found = session.get(Attachment, attachment_id)
    if found is None or found.request_id != request_id:
        return None
    recorded = [data.get("sha256") for data in (_data(ev) for ev in audit.history(session, request_id)
                                                 if ev.event == "attach_file")
                if data.get("attachment_id") == found.id]
    actual = hashlib.sha256(found.content).hexdigest()
    if recorded != [actual] or found.sha256 != actual:
        raise AttachmentAltered(attachment_id)
    return found
