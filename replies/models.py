"""Tables of the replies room: editable drafts, and letters frozen when they were sent.

`letter` and `letter_file` are append-only at the database (the same triggers as the audit
log): what was sent can be read forever and never changed.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class LetterRegister(SQLModel, table=True):
    """发文登记: the last 文号 sequence an agency used per letter code and issue year (one number a
    document; each agency numbers its own)."""
    __tablename__ = "letter_register"
    __table_args__ = (UniqueConstraint("agency_id", "code", "year",
                                       name="uq_letter_register_agency_code_year"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int
    code: str
    year: int
    last: int = 0


class LetterDraft(SQLModel, table=True):
    """The parts staff write (findings, reasons, attachments …) before a letter is sent."""
    __tablename__ = "letter_draft"
    __table_args__ = (UniqueConstraint("request_id", "kind", name="uq_letter_draft_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str
    parts: str = Field(sa_column=Column(Text, nullable=False))  # JSON object
    version: int = 1
    updated_by: str
    updated_at: dt.datetime


class Letter(SQLModel, table=True):
    """A letter as issued: which template (and version) turned which facts into it."""
    __tablename__ = "letter"
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str
    title: str
    doc_number: str
    recipient: str
    issued_on: dt.date
    issued_by: str
    template: str
    template_version: str
    facts: str = Field(sa_column=Column(Text, nullable=False))  # JSON: the frozen rendering context
    created_at: dt.datetime


class LetterFile(SQLModel, table=True):
    """The exact bytes of a letter in one format (html, docx, pdf); one per format, never replaced."""
    __tablename__ = "letter_file"
    __table_args__ = (UniqueConstraint("letter_id", "format", name="uq_letter_file_format"),)
    id: int | None = Field(default=None, primary_key=True)
    letter_id: int = Field(foreign_key="letter.id", index=True)
    format: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    sha256: str
    size: int
    sealed_with: str | None = None   # SHA-256 of the electronic seal image stamped on it (PDF)
    created_at: dt.datetime
