"""The audit_event table: one row per change of a request, chained per request by SHA-256.

No foreign key to the request table on purpose: nothing done to a request row may cascade
into its history.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Text, UniqueConstraint
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


class AuditLeaf(SQLModel, table=True):
    """The leaves of the checkpoints' Merkle tree: every audit event, in the order checkpoints
    took them in (not by id: on PostgreSQL an event may commit after one with a higher id).
    `request_id` and `seq` only name the event; the signed roots cover `hash` alone."""
    __tablename__ = "audit_leaf"
    __table_args__ = (Index("ix_audit_leaf_request", "request_id", "idx"),)
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})  # 0, 1, 2 …
    event_id: int = Field(unique=True)
    request_id: int
    seq: int
    hash: str


class AuditNode(SQLModel, table=True):
    """Perfect subtrees of 2**level leaves (level ≥ STORED_LEVEL), kept so a proof for one
    request reads a few thousand leaves, not all of them. Trusted by nothing: a proof built from
    an altered node simply fails against the signed root."""
    __tablename__ = "audit_node"
    level: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    idx: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    hash: str


class AuditCheckpoint(SQLModel, table=True):
    """A signed tree head (检查点): the Merkle root over the first `tree_size` leaves, signed with
    the deployment's Ed25519 key; the same statement is written to a file outside the database."""
    __tablename__ = "audit_checkpoint"
    number: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    tree_size: int
    root: str
    signed_at: str
    key_id: str
    public_key: str
    statement: str = Field(sa_column=Column(Text, nullable=False))  # the signed bytes, UTF-8
    signature: str
