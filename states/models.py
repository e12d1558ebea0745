"""Tables of the request ledger (SQLModel): request, consultation, decision, outbox, counter."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

import access.models  # noqa: F401  (the agency tables a request points to)
from states.codes import (OUTCOME_CODES, ApplicantKind, Channel, Confidentiality,
                          ConsultationParty, InternalBody, Opinion, ServiceMethod)
from states.machine import STATES  # the machine names the states


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Request(SQLModel, table=True):
    __tablename__ = "request"
    __table_args__ = (
        CheckConstraint(_in("state", STATES), name="ck_request_state"),
        CheckConstraint(_in("applicant_kind", list(ApplicantKind)), name="ck_request_applicant_kind"),
        CheckConstraint(_in("channel", list(Channel)), name="ck_request_channel"),
    )

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(unique=True)
    state: str = Field(default="received", index=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)   # the 行政机关 it was made to
    unit_id: int | None = Field(default=None, foreign_key="agency_unit.id")  # 承办科室, if placed
    applicant_kind: str
    applicant_name: str
    applicant_id_number: str | None = None
    applicant_phone: str | None = None
    applicant_email: str | None = None
    applicant_address: str | None = None
    applicant_key: str | None = None    # groups one applicant's requests (core.personal_data)
    channel: str
    received_on: dt.date = Field(index=True)           # Art 31 receipt date: the clock starts here
    description: str = Field(sa_column=Column(Text, nullable=False))
    requested_form: str | None = None
    department: str | None = Field(default=None, index=True)
    assignee: str | None = Field(default=None, index=True)
    due_on: dt.date | None = Field(default=None, index=True)  # derived by the clock, never typed
    supplement_requested_on: dt.date | None = None      # 补正告知
    supplement_items: str | None = None
    supplement_grounds: str | None = None               # comma list: content / identity / contact / form / other
    supplement_deadline: dt.date | None = None          # from the notice's service date (or presumed)
    supplement_period_days: int | None = None           # the period the notice gave, in working days
    supplement_served_on: dt.date | None = None         # 送达日 of the 补正告知书; None: presumed
    supplement_received_on: dt.date | None = None
    reasons_requested_on: dt.date | None = None         # 说明理由 (Art 35)
    reasons_period_days: int | None = None              # working days from the notice's service date
    reasons_served_on: dt.date | None = None
    reasons_answered_on: dt.date | None = None          # the applicant's answer …
    reasons_reasonable: bool | None = None              # … and whether the agency found it reasonable
    deferred_to: dt.date | None = None                  # Art 35 延迟答复: the reasonable later date
    deferral_reason: str | None = Field(default=None, sa_column=Column(Text))
    extension_days: int = 0                             # 延期答复
    extension_approved_by: str | None = None
    extended_on: dt.date | None = None
    extension_reason: str | None = Field(default=None, sa_column=Column(Text))
    # Asked by staff, awaiting the OGI office head's approval (Art 33 ¶2): nothing applies yet.
    extension_requested_days: int | None = None
    extension_requested_by: str | None = None
    extension_requested_on: dt.date | None = None
    extension_request_reason: str | None = Field(default=None, sa_column=Column(Text))
    reply_approved_by: str | None = None                # 负责人签批 of the decided reply
    reply_approved_on: dt.date | None = None
    legal_signed_by: str | None = None                  # 法制审核 sign-off of the decided reply
    legal_signed_on: dt.date | None = None
    legal_returned_on: dt.date | None = None            # returned by 法制审核: no reply until revised
    fee_notified_on: dt.date | None = None              # 收费通知
    fee_amount_yuan: int | None = None                  # computed (states/fees.py), never typed
    fee_method: str | None = None                       # per_item / per_volume (109号)
    fee_units: int | None = None                        # the place in the applicant's month, or pages
    fee_basis: str | None = Field(default=None, sa_column=Column(Text))  # as the notice prints it
    fee_served_on: dt.date | None = None                # 送达日 of the 收费通知书; None: presumed
    fee_paid_on: dt.date | None = None
    replied_on: dt.date | None = None
    # The final decision's date and outcome, copied from `decision` by the one door: the annual
    # report counts them from indexes on this table (migration 0012). None while undecided.
    decided_on: dt.date | None = None
    outcome: str | None = None
    archived_on: dt.date | None = None
    last_event_on: dt.date
    deadline_flag: str | None = Field(default=None, index=True)  # due_soon / overdue, by sweep_deadlines
    flagged_on: dt.date | None = None
    created_at: dt.datetime
    version: int = 1
    audit_seq: int = 0                                   # the chain head lives on the locked row
    audit_head: str = "0" * 64


class Consultation(SQLModel, table=True):
    """征求意见: a third party (Art 32) or another agency (Art 34); stops the clock while open."""
    __tablename__ = "consultation"
    __table_args__ = (
        CheckConstraint(_in("party", list(ConsultationParty)), name="ck_consultation_party"),
        CheckConstraint("opinion IS NULL OR " + _in("opinion", list(Opinion)),
                        name="ck_consultation_opinion"),
    )
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    party: str
    name: str
    sent_on: dt.date
    served_on: dt.date | None = None    # 送达日 of its letter; None: not recorded, lapse presumed
    lapses_on: dt.date | None = None    # working day 15 after the service date (Art 32, 34)
    letter_id: int | None = None        # the 征求意见书/函 that asked (replies' letter table)
    matter: str | None = Field(default=None, sa_column=Column(Text))  # what the opinion is sought on
    closed_on: dt.date | None = None
    opinion: str | None = None
    note: str | None = None


class Decision(SQLModel, table=True):
    __tablename__ = "decision"
    __table_args__ = (CheckConstraint(_in("outcome", OUTCOME_CODES), name="ck_decision_outcome"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", unique=True)
    outcome: str = Field(index=True)
    reason: str | None = Field(default=None, sa_column=Column(Text))
    responsible_agency: str | None = None
    responsible_agency_contact: str | None = None       # Art 36(5): how to reach it
    withheld_ground: str | None = None                  # partial disclosure: the withheld part's outcome code
    # Art 32: per objecting third party overridden in the public interest, JSON
    # [{"consultation_id", "disclosed", "reason"}]
    overrides: str | None = Field(default=None, sa_column=Column(Text))
    correction: str | None = None                       # Art 41 reply: corrected / transferred / not_verified
    decided_on: dt.date = Field(index=True)
    decided_by: str


class Outbox(SQLModel, table=True):
    """Side effects queued by the one door in the same transaction; run later by workflows."""
    __tablename__ = "outbox"
    id: int | None = Field(default=None, primary_key=True)  # the idempotency key
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str
    payload: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(default="pending", index=True)     # pending / claimed / done / parked
    attempts: int = 0
    claimed_by: str | None = None                          # the dispatcher run holding it
    claimed_until: dt.datetime | None = None               # lease: after this, others may take it
    available_at: dt.datetime
    created_at: dt.datetime
    done_at: dt.datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text))


class ConfidentialityReview(SQLModel, table=True):
    """保密审查 (先审查后公开, 一事一审): one per request, revised in place; the chain keeps each
    version. `redactions`: JSON [{"part", "ground"}], ground an Art 36 withheld outcome code or
    "privacy" (去标识化)."""
    __tablename__ = "confidentiality_review"
    __table_args__ = (CheckConstraint(_in("conclusion", list(Confidentiality)),
                                      name="ck_confidentiality_review_conclusion"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", unique=True)
    reviewed_on: dt.date
    reviewer: str
    conclusion: str
    basis: str = Field(sa_column=Column(Text, nullable=False))
    redactions: str | None = Field(default=None, sa_column=Column(Text))


class InternalConsultation(SQLModel, table=True):
    """内部会商 — 法律顾问, 司法局, 联席会议: recorded, and the clock runs on (Art 33 ¶3)."""
    __tablename__ = "internal_consultation"
    __table_args__ = (CheckConstraint(_in("body", list(InternalBody)),
                                      name="ck_internal_consultation_body"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    body: str
    name: str
    matter: str | None = Field(default=None, sa_column=Column(Text))
    sent_on: dt.date
    closed_on: dt.date | None = None
    opinion: str | None = Field(default=None, sa_column=Column(Text))


class RequestFingerprint(SQLModel, table=True):
    """The MinHash signature of a request's description (states/similarity.py)."""
    __tablename__ = "request_fingerprint"
    request_id: int = Field(foreign_key="request.id", primary_key=True)
    signature: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    version: int                        # similarity.VERSION it was computed with


class SimilarityBand(SQLModel, table=True):
    """One LSH band key of a request: requests sharing a key are candidates for similarity."""
    __tablename__ = "similarity_band"
    key: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    request_id: int = Field(foreign_key="request.id", primary_key=True, index=True)


class ProactiveDisclosure(SQLModel, table=True):
    """Information often requested, published proactively (Art 44), and the requests it answers."""
    __tablename__ = "proactive_disclosure"
    id: int | None = Field(default=None, primary_key=True)
    agency_id: int = Field(foreign_key="agency.id", index=True)
    title: str
    published_on: dt.date
    location: str                       # 公开途径: the website column, URL or 公开栏
    note: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str
    recorded_at: dt.datetime


class ProactiveDisclosureRequest(SQLModel, table=True):
    __tablename__ = "proactive_disclosure_request"
    disclosure_id: int = Field(foreign_key="proactive_disclosure.id", primary_key=True)
    request_id: int = Field(foreign_key="request.id", primary_key=True, index=True)


class ServiceRecord(SQLModel, table=True):
    """送达: how and when an outgoing letter reached its addressee. Append-only; a later record
    for the same letter corrects an earlier one (with its reason), and the latest counts."""
    __tablename__ = "service_record"
    __table_args__ = (CheckConstraint(_in("method", list(ServiceMethod)), name="ck_service_method"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    letter_id: int = Field(index=True)
    method: str
    tracking_number: str | None = None                   # 邮寄: EMS / 挂号信 number
    served_on: dt.date
    note: str | None = Field(default=None, sa_column=Column(Text))
    recorded_by: str
    recorded_at: dt.datetime


class RequestCounter(SQLModel, table=True):
    __tablename__ = "request_counter"
    __table_args__ = (UniqueConstraint("year", name="uq_request_counter_year"),)
    id: int | None = Field(default=None, primary_key=True)
    year: int
    last: int = 0


class CalendarYear(SQLModel, table=True):
    """An official holiday notice loaded by the agency for a year chinesecalendar does not know."""
    __tablename__ = "calendar_year"
    year: int = Field(primary_key=True)
    source: str
    holidays: str = Field(sa_column=Column(Text, nullable=False))         # JSON list of dates
    makeup_workdays: str = Field(sa_column=Column(Text, nullable=False))  # JSON list of dates
    loaded_at: dt.datetime
    loaded_by: str


class Attachment(SQLModel, table=True):
    """A file received with a request (the scanned paper application, a copy of the applicant's
    ID, other material), kept as received: its bytes, their SHA-256 (also in the request's audit
    chain) and who added it when. Never changed nor removed (append-only at the database)."""
    __tablename__ = "attachment"
    __table_args__ = (CheckConstraint(_in("kind", ("application", "identity", "other")),
                                      name="ck_attachment_kind"),)
    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(foreign_key="request.id", index=True)
    kind: str                           # application 申请书, identity 身份证明, other 其他材料
    filename: str
    content_type: str
    size: int
    sha256: str
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    added_by: str
    added_at: dt.datetime
