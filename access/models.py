"""Tables of the access room: agencies (行政机关) and their units (科室), users, their scopes,
API tokens, web sessions, and the login attempts that throttling reads.

Secrets are never stored: tokens and session ids are kept as SHA-256 hashes (they are long
random strings, so a fast hash is enough), passwords as argon2id hashes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, UniqueConstraint
from sqlmodel import Field, SQLModel

ROLE_CODES = ("staff", "legal", "supervisor", "admin")


class Agency(SQLModel, table=True):
    """A 行政机关 whose requests Gongkai handles: what its letters carry, and its own 文号 register."""
    __tablename__ = "agency"
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)          # short, stable, used in the CLI and the API
    name: str
    abbr: str                               # 机关代字 in the 文号
    letterhead: str = ""
    doc_number_pattern: str
    address: str
    postcode: str = ""
    phone: str
    review_body: str                        # 复议机关
    court: str                              # 管辖法院
    signature: str = ""                     # 落款
    contact_person: str = ""
    reply_signoff: str = ""                 # outcome groups whose reply the 负责人 signs off
    legal_signoff: str = "部分公开,不予公开"    # … and those the 法制审核 signs off first
    excess_threshold: int = 10              # Art 35 prompt above this many requests a month
    electronic_seal: str | None = None      # path of the seal image (PNG)
    active: bool = True
    version: int = 1
    created_at: dt.datetime
    updated_at: dt.datetime


class Unit(SQLModel, table=True):
    """An internal unit (科室) of an agency: staff of a unit see only its requests."""
    __tablename__ = "agency_unit"
    __table_args__ = (UniqueConstraint("agency_id", "name", name="uq_agency_unit_name"),)
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    name: str
    active: bool = True
    created_at: dt.datetime


class User(SQLModel, table=True):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint("role IN (" + ", ".join(f"'{r}'" for r in ROLE_CODES) + ")",
                        name="ck_user_role"),
    )
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(unique=True)
    display_name: str = ""
    role: str
    agency_id: int | None = Field(default=None, foreign_key="agency.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="agency_unit.id")
    scope_all: bool = False                 # legal / supervisor / admin: the whole government
    password_hash: str | None = None        # None: no password login (token-only account)
    disabled: bool = False
    failed_logins: int = 0                  # consecutive, reset by a good login
    locked_until: dt.datetime | None = None
    created_at: dt.datetime
    password_changed_at: dt.datetime | None = None


class UserScope(SQLModel, table=True):
    """Agencies beyond their own that a legal reviewer or supervisor sees."""
    __tablename__ = "user_scope"
    user_id: int = Field(foreign_key="user_account.id", primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", primary_key=True)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    token_hash: str = Field(unique=True)
    label: str = ""
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None = None
    revoked_by: str | None = None
    last_used_at: dt.datetime | None = None


class WebSession(SQLModel, table=True):
    """A browser's login: the cookie holds the secret, this row its hash and the CSRF token."""
    __tablename__ = "web_session"
    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user_account.id", index=True)
    session_hash: str = Field(unique=True)
    csrf_token: str
    created_at: dt.datetime
    expires_at: dt.datetime
    ended_at: dt.datetime | None = None


class LoginAttempt(SQLModel, table=True):
    """Every password login tried, good or bad: what throttling counts and what an audit reads."""
    __tablename__ = "login_attempt"
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True)       # as typed (cut to 64 characters)
    remote: str = Field(default="", index=True)
    at: dt.datetime = Field(index=True)
    ok: bool
    reason: str = ""                        # bad_password, unknown_user, locked, disabled, throttled
