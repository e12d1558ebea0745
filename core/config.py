"""Settings read from the environment (prefix GONGKAI_) with pydantic-settings."""

from __future__ import annotations

import datetime as dt
import re
import string
from functools import lru_cache
from typing import ClassVar
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


DOC_NUMBER_KEYS = ("abbr", "code", "year", "seq", "number")
# The outcome groups of the annual report (国办公开办函〔2021〕30号), as an agency names them.
REPORT_GROUPS = ("予以公开", "部分公开", "不予公开", "无法提供", "不予处理", "其他处理")


class Agency(BaseModel):
    """The agency whose letters Gongkai writes (GONGKAI_AGENCY__NAME, GONGKAI_AGENCY__REVIEW_BODY …).

    The defaults are placeholders that say so; every agency sets its own before going live.
    """
    code: str = Field(default="main", pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
                      description="the agency's short code in the CLI and the API")
    name: str = "（请配置机关名称）人民政府"
    abbr: str = Field(default="示", description="机关代字 used in the 文号")
    letterhead: str = Field(default="", description="文头; empty: the agency name")
    # {abbr} 机关代字, {code} letter code, {year} the year the letter is issued, {seq} its number in
    # the letter register (per code and year); {number} the request's number, if wanted as well.
    doc_number_pattern: str = "{abbr}政信{code}〔{year}〕{seq}号"

    @field_validator("doc_number_pattern")
    @classmethod
    def _one_number_a_document(cls, pattern: str) -> str:
        # Only the five names, no attribute or index access, a short number format at most:
        # a pattern an admin sets must never make a letter fail (or format something huge).
        try:
            parts = list(string.Formatter().parse(pattern))
        except ValueError as exc:
            raise ValueError(f"not a valid pattern: {exc}") from None
        names = set()
        for _text, name, spec, conversion in parts:
            if name is None:
                continue
            numeric = name in ("seq", "year")  # only numbers take a padding
            if (name not in DOC_NUMBER_KEYS or conversion
                    or not re.fullmatch(r"(0?[1-9]d)?" if numeric else "", spec or "")):
                raise ValueError(f"{{{name}{'!' + conversion if conversion else ''}"
                                 f"{':' + spec if spec else ''}}} is not allowed: use "
                                 f"{', '.join('{' + k + '}' for k in DOC_NUMBER_KEYS)}, "
                                 "a number padded at most like {seq:04d}")
            names.add(name)
        for key in ("code", "year", "seq"):
            if key not in names:
                raise ValueError(f"must contain {{{key}}}: the register numbers each letter code by year")
        return pattern
    address: str = "（请配置通讯地址）"
    postcode: str = ""
    phone: str = "（请配置联系电话）"
    review_body: str = Field(default="（请配置行政复议机关）人民政府",
                             description="复议机关 named in every remedy sentence")
    court: str = Field(default="（请配置管辖法院）人民法院",
                       description="the court named for 行政诉讼")
    signature: str = Field(default="", description="落款; empty: the agency name")
    contact_person: str = Field(default="", description="联系人 on letters of requests with no assignee")
    reply_signoff: str = Field(default="", description="outcome groups whose reply needs the "
                               "负责人's sign-off (approve_reply) before send_reply, comma-separated, "
                               "e.g. 不予公开,部分公开; empty: none")

    legal_signoff: str = Field(default="部分公开,不予公开", description="outcome groups whose reply "
                               "needs the legal reviewer's sign-off (法制审核, legal_signoff) before "
                               "send_reply, comma-separated; empty: none")
    excess_threshold: int = Field(default=10, ge=0, le=10_000, description="Art 35: more requests "
                                  "than this from one applicant in a calendar month prompt staff to "
                                  "ask for reasons (说明理由); 0: no prompt")

    @field_validator("reply_signoff", "legal_signoff")
    @classmethod
    def _known_groups(cls, value: str) -> str:
        groups = [g.strip() for g in value.replace("，", ",").split(",") if g.strip()]
        unknown = [g for g in groups if g not in REPORT_GROUPS]
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not an outcome group; groups: {', '.join(REPORT_GROUPS)}")
        return ",".join(groups)

    electronic_seal: Path | None = Field(
        default=None, description="image (PNG) of the agency's electronic seal (电子印章): with it a "
        "reply may be e-mailed as a sealed PDF; without it replies are handed over or posted")

    # Settings a letter cannot go out without, with the environment variable that sets each.
    REQUIRED: ClassVar[dict[str, str]] = {"name": "GONGKAI_AGENCY__NAME", "abbr": "GONGKAI_AGENCY__ABBR",
                "address": "GONGKAI_AGENCY__ADDRESS", "phone": "GONGKAI_AGENCY__PHONE",
                "review_body": "GONGKAI_AGENCY__REVIEW_BODY", "court": "GONGKAI_AGENCY__COURT",
                # 联系人 of requests with no assignee: every letter names one
                "contact_person": "GONGKAI_AGENCY__CONTACT_PERSON"}

    def missing(self) -> list[str]:
        """The GONGKAI_AGENCY__* variables still at their placeholder (or empty)."""
        defaults = type(self)()
        return [env for field, env in self.REQUIRED.items()
                if not str(getattr(self, field)).strip()
                or getattr(self, field) == getattr(defaults, field)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGKAI_", env_file=".env", extra="ignore",
                                      populate_by_name=True, env_nested_delimiter="__")

    data_dir: Path = Field(default=Path("data"), description="where the embedded SQLite file lives")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/gongkai.db. "
        "PostgreSQL: postgresql+psycopg://user@host/db",
    )
    timezone: str = "Asia/Shanghai"
    # Pin "today" (tests; an operator replaying a missed day). None: the real date.
    today_override: dt.date | None = Field(default=None, alias="GONGKAI_TODAY")
    # e.g. 2026-000123; {year} is the receipt year, {seq} the per-year counter.
    request_number_pattern: str = "{year}-{seq:06d}"
    # Working days the applicant is given to supply a 补正 (practice: configurable).
    supplement_period_days: int = Field(default=15, ge=1, le=60)
    # 国办函〔2020〕109号: whether the clock pauses while a fee is awaited (practice: yes).
    fee_stops_clock: bool = True
    # Years after the last official calendar counted on the provisional calendar (Mon–Fri less
    # the statutory holidays), every date in them marked provisional until the notice is
    # loaded. 0: such a count fails loudly instead (due date blank, events that must fix a date
    # in that year refused).
    provisional_calendar_years: int = Field(default=10, ge=0, le=50)
    # Receipt dates before the regulations took effect are refused unless an agency migrating
    # older cases sets an earlier date (the working-day calendar starts in 2004).
    earliest_received_on: dt.date = Field(default=dt.date(2019, 5, 15), ge=dt.date(2004, 1, 1))
    # Until a letter's service date (送达日) is recorded, the period it starts (补正, consultation,
    # fee) is shown counted from a presumed service date this many working days after the
    # letter was issued, marked as presumed; nothing lapses on a presumed date.
    presumed_service_days: int = Field(default=0, ge=0, le=30)
    agency: Agency = Field(default_factory=Agency)
    # Letters need a configured agency; demo mode issues them with the placeholders, every one
    # marked 演示文书 (for trying the engine out, never for real requests).
    demo_mode: bool = False
    # Art 35: working days the applicant is given to explain (from the notice's service date).
    reasons_period_days: int = Field(default=15, ge=1, le=60)
    # A folder whose files override the built-in letter templates of the same name.
    templates_dir: Path | None = None
    # The outbox dispatcher (workflows/outbox.py): retries with exponential backoff, then parking.
    outbox_max_attempts: int = Field(default=5, ge=1, le=50)
    outbox_backoff_seconds: float = Field(default=30, ge=0)
    outbox_lease_seconds: int = Field(default=300, ge=5, description="a claim older than this "
                                      "is taken to be a dead dispatcher's and picked up again")
    # Schedules of the Prefect deployments (workflows/serve.py).
    dispatch_interval_seconds: int = Field(default=60, ge=1)
    sweep_cron: str = Field(default="15 0 * * *", description="sweep_deadlines, in `timezone`")
    # sweep_deadlines: a request is "due soon" with this many working days left or fewer.
    due_soon_days: int = Field(default=3, ge=0, le=20)
    # Digests and replies by e-mail; unset host: digests are stored and viewable, not mailed.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "gongkai@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    # Who receives which digest: {"department:住建局": ["a@example.cn"], "assignee:王芳": [...]}
    digest_recipients: dict[str, list[str]] = Field(default_factory=dict)
    sqlite_busy_timeout_ms: int = 30_000
    # The largest request body the API reads (413 beyond it).
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    # Files received with a request (scans, ID copies): the largest one, how many a request may
    # hold; a form that uploads them may carry up to `max_upload_bytes`.
    attachment_max_bytes: int = Field(default=10_485_760, ge=1024, le=104_857_600)
    attachments_per_request: int = Field(default=30, ge=1, le=500)
    max_upload_bytes: int = Field(default=33_554_432, ge=1024, le=1_073_741_824)
    # Login (access room): web sessions, lockout after repeated failures, per-address throttling.
    session_hours: int = Field(default=8, ge=1, le=24 * 30)
    # Secure cookies: None sends them Secure when the request came over https (uvicorn
    # --proxy-headers behind a TLS proxy); True/False forces it.
    cookie_secure: bool | None = None
    login_max_failures: int = Field(default=5, ge=1, le=100, description="consecutive bad "
                                    "passwords that lock an account for lockout_minutes")
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    login_throttle_per_address: int = Field(default=20, ge=1, description="failed logins from "
                                            "one address in 10 minutes before it must wait")
    token_days: int = Field(default=90, ge=1, le=3650, description="default lifetime of API tokens")
    password_min_length: int = Field(default=10, ge=8, le=128)
    log_level: str = "INFO"
    log_json: bool = True
    # Audit checkpoints (检查点): the Ed25519 key that signs them (made on first use, mode 0600;
    # keep it where the database administrator cannot write), the folder outside the database
    # each signed checkpoint is written to, and when the flow takes one.
    checkpoint_key_file: Path | None = Field(default=None, description="default <data_dir>/keys/"
                                             "checkpoint-ed25519.pem")
    checkpoint_dir: Path | None = Field(default=None, description="default <data_dir>/checkpoints")
    checkpoint_cron: str = Field(default="45 0 * * *", description="checkpoint_audit, in `timezone`")

    @model_validator(mode="after")
    def _an_upload_holds_a_file(self):
        if self.max_upload_bytes < self.attachment_max_bytes:
            raise ValueError("max_upload_bytes must be at least attachment_max_bytes: a form "
                             "could not carry the largest file allowed")
        return self

    @property
    def signing_key_path(self) -> Path:
        return self.checkpoint_key_file or self.data_dir / "keys" / "checkpoint-ed25519.pem"

    @property
    def checkpoints_path(self) -> Path:
        return self.checkpoint_dir or self.data_dir / "checkpoints"

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gongkai.db').resolve()}"

    def today(self) -> dt.date:
        """The agency's calendar date now (China Standard Time by default)."""
        if self.today_override:
            return self.today_override
        return dt.datetime.now(ZoneInfo(self.timezone)).date()


@lru_cache
def get_settings() -> Settings:
    return Settings()
