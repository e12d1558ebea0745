"""Tables of the workflows room: the reminder digests the deadline sweep builds."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Digest(SQLModel, table=True):
    """到期提醒: one per day, agency, and department or assignee; stored, viewable, e-mailed when configured."""
    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("day", "agency_id", "scope_kind", "scope",
                                       name="uq_digest_agency_scope_day"),)
    id: int | None = Field(default=None, primary_key=True)
    day: dt.date = Field(index=True)
    agency_id: int                       # digests are per agency (its departments and assignees)
    scope_kind: str                      # department / assignee
    scope: str
    overdue: int
    due_soon: int
    items: str = Field(sa_column=Column(Text, nullable=False))   # JSON list
    body: str = Field(sa_column=Column(Text, nullable=False))    # the Chinese text sent
    created_at: dt.datetime
    emailed_at: dt.datetime | None = None
    email_to: str | None = None
    email_error: str | None = Field(default=None, sa_column=Column(Text))
