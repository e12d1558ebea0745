"""The audit_event table: one row per change of a request, chained per request by SHA-256.

No foreign key to the request table on purpose: nothing done to a request row may cascade
into its history.
"""

from __future__ import annotations

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("request_id", "seq", name="uq_audit_event_request_seq"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(index=True)
    seq: int  # 1, 2, 3 … per request, no gaps
    recorded_at: str  # UTC instant, ISO 8601, when the engine wrote it
    on: str  # the date the act happened (YYYY-MM-DD), as staff or a flow stated it
    actor: str
    event: str
    from_state: str | None = None
    to_state: str
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str
    hash: str = Field(index=True)


class AccessEvent(SQLModel, table=True):
    """The access log: changes to agencies, units, users, roles and tokens, and revealed ID
    numbers are in the request's own chain. One chain for the whole deployment (such changes
    are rare), hashed like a request's; its head lives in `audit_stream_head`."""
    __tablename__ = "access_event"
    id: int | None = Field(default=None, primary_key=True)
    seq: int = Field(unique=True)
    recorded_at: str
    actor: str
    event: str
    subject: str  # what changed: agency:<code>, user:<name>, token:<id>
    data: str = Field(sa_column=Column(Text, nullable=False))  # canonical JSON
    prev_hash: str
    hash: str


class StreamHead(SQLModel, table=True):
    """The head of a chain that is not a request's (locked while appending, read to verify)."""
    __tablename__ = "audit_stream_head"
    name: str = Field(primary_key=True)
    seq: int = 0
    head: str = "0" * 64
