"""Sending e-mail over SMTP (digests to supervisors, replies to applicants who gave an address)."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from core.config import Settings


def smtp_configured(settings: Settings) -> bool:
    return bool(settings.smtp_host)


def send_mail(settings: Settings, *, to: list[str], subject: str, body: str, message_id: str,
              attachments: list[tuple[str, bytes, str]] = ()) -> None:
    """One message; `message_id` is the idempotency key, so a retried send can be recognised."""
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = settings.smtp_from, ", ".join(to), subject
    msg["Date"], msg["Message-ID"] = formatdate(localtime=False), message_id
    msg.set_content(body)
    for filename, content, mime in attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype.split(";")[0], filename=filename)
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        smtp.send_message(msg)
