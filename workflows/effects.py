"""What each outbox row does: render a letter's DOCX/PDF, deliver the reply, export the archive.

Each effect records what it did in the request's audit chain (actor `system:dispatch_outbox`)
in the same transaction that marks the outbox row done.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

from sqlmodel import Session

import audit
from replies.formats import MEDIA_TYPES
from replies.service import RENDER_EFFECT, letter_file, letters_of, render_files, seal_image
from states.models import Request
from states.service import record_fact
from workflows.mail import send_mail, smtp_configured
from workflows.outbox import Claimed, Effect, EffectContext

_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so the same archive is the same bytes


def render_letter(session: Session, item: Claimed, ctx: EffectContext) -> None:
    render_files(session, item.payload["letter_id"], actor=ctx.actor, on=ctx.today,
                 seal=seal_image(session, item.request_id))


def deliver_reply(session: Session, item: Claimed, ctx: EffectContext) -> None:
    """E-mail the decision letter (PDF) when the applicant gave an address and SMTP is set up;
    otherwise record that staff deliver it by post or in person."""
    row = session.get(Request, item.request_id)
    sent = [(letter, files) for letter, files in letters_of(session, row.id)
            if letter.kind.startswith(("decision:", "correction:")) and letter.recipient == row.applicant_name]
    if not sent:
        raise LookupError(f"request {row.number} has no decision letter to deliver")
    letter, _ = sent[-1]
    render_files(session, letter.id, actor=ctx.actor, on=ctx.today,  # no-op when already made
                 seal=seal_image(session, item.request_id))
    _, pdf = letter_file(session, row.id, letter.id, "pdf")
    # Sent electronically only as a PDF bearing the agency's electronic seal: an unsealed
    # printout has no legal force, so without a seal staff print, seal and hand over or post it.
    if row.applicant_email and smtp_configured(ctx.settings) and pdf.sealed_with:
        message_id = f"<outbox-{item.id}.{row.number}@gongkai>"
        send_mail(ctx.settings, to=[row.applicant_email], subject=f"{letter.title}（{letter.doc_number}）",
                  body=f"{row.applicant_name}：\n\n您的{_what_was_asked(letter)}（编号{row.number}）的答复见附件。\n\n"
                       f"{json.loads(letter.facts)['agency']['signature']}\n",  # as frozen
                  message_id=message_id,
                  attachments=[(f"{letter.doc_number}.pdf", pdf.content, MEDIA_TYPES["pdf"])])
        data = {"letter_id": letter.id, "channel": "email", "message_id": message_id,
                "sha256": pdf.sha256}
    else:
        why = ("未配置电子印章" if row.applicant_email and smtp_configured(ctx.settings)
               else "未留电子邮箱或未配置邮件服务")
        data = {"letter_id": letter.id, "channel": "post",
                "note": f"{why}：请打印、盖章后邮寄或当面送达"}
    record_fact(session, row.id, "deliver_reply", ctx.actor, on=ctx.today, data=data)


def _what_was_asked(letter) -> str:
    return "政府信息更正申请" if letter.kind.startswith("correction:") else "政府信息公开申请"


def archive_bundle(session: Session, row: Request) -> bytes:
    """A zip of the request (without ID number and phone), its audit history and every letter file."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        def put(name: str, content: bytes) -> None:
            bundle.writestr(zipfile.ZipInfo(name, _ZIP_TIME), content)
        facts = row.model_dump(mode="json", exclude={"applicant_id_number", "applicant_phone"})
        put("request.json", json.dumps(facts, ensure_ascii=False, indent=2, sort_keys=True).encode())
        history = [e.model_dump(mode="json") for e in audit.history(session, row.id)]
        put("history.json", json.dumps(history, ensure_ascii=False, indent=2).encode())
        for letter, files in letters_of(session, row.id):
            for f in files:
                put(f"letters/{letter.id:04d}-{letter.kind.replace(':', '-')}.{f.format}", f.content)
    return buffer.getvalue()


def export_archive(session: Session, item: Claimed, ctx: EffectContext) -> None:
    row = session.get(Request, item.request_id)
    for letter, _ in letters_of(session, row.id):  # every letter complete before it is archived
        render_files(session, letter.id, actor=ctx.actor, on=ctx.today)
    content = archive_bundle(session, row)
    folder = Path(ctx.settings.data_dir) / "archive"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{row.number}.zip"
    tmp = path.with_suffix(".zip.tmp")
    tmp.write_bytes(content)
    tmp.replace(path)  # atomic: a retry after a crash rewrites the same bytes
    record_fact(session, row.id, "export_archive", ctx.actor, on=ctx.today, data={
        "file": f"archive/{path.name}", "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content)})


# The registry the dispatcher is given: every kind the one door and the letters queue.
EFFECTS: dict[str, Effect] = {
    RENDER_EFFECT: render_letter,
    "deliver_reply": deliver_reply,
    "export_archive": export_archive,
}
