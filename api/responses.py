"""What each JSON route answers, declared for the OpenAPI and checked on the way out: a field a
view adds without declaring it here fails the tests (extra="forbid"), so the schema cannot drift
from the truth."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestSummary(Out):
    id: int
    number: str
    state: str
    version: int
    received_on: dt.date
    channel: str
    agency: str = Field(description="the code of the agency (行政机关) it was made to")
    unit: str | None = Field(description="the unit (科室) handling it, if placed")
    department: str | None
    assignee: str | None
    due_on: dt.date | None
    due_on_provisional: bool
    due_on_presumed: bool
    due_on_error: str | None
    days_left: int | None
    overdue: bool
    stopped: bool
    allowed_events: list[str]
    deadline_flag: str | None


class ApplicantOut(Out):
    name: str
    kind: str
    phone: str | None
    email: str | None
    address: str | None
    id_number_on_file: bool


class ClockOut(Out):
    start: dt.date
    due_on: dt.date | None
    days_left: int | None
    stopped: bool
    stopped_since: dt.date | None
    stop_lapses_on: dt.date | None
    stop_presumed: bool
    stopped_workdays: int
    supplement_notice_due: dt.date | None
    provisional: bool
    error: str | None
    explanation_zh: str
    explanation_en: str


class SupplementOut(Out):
    requested_on: dt.date
    items: list[str]
    served_on: dt.date | None
    deadline: dt.date | None
    deadline_presumed: bool
    deadline_provisional: bool
    received_on: dt.date | None


class ExtensionOut(Out):
    days: int
    approved_by: str | None
    on: dt.date | None
    reason: str | None


class FeeOut(Out):
    notified_on: dt.date
    amount_yuan: int | None
    served_on: dt.date | None
    pay_by: dt.date | None
    pay_by_presumed: bool
    pay_by_provisional: bool
    paid_on: dt.date | None
    method: str | None = Field(description="per_item (按件计收) / per_volume (按量计收); None: "
                               "a fee typed before fees were computed")
    units: int | None = Field(description="per_item: the request's place among the applicant's "
                              "requests that month; per_volume: pages")
    basis: str | None = Field(description="the computation, as the 收费通知书 prints it")


class ConsultationOut(Out):
    id: int
    party: str
    name: str
    matter: str | None
    sent_on: dt.date
    letter_id: int | None
    served_on: dt.date | None
    lapses_on: dt.date | None
    lapse_presumed: bool
    lapse_provisional: bool
    closed_on: dt.date | None
    opinion: str | None
    note: str | None


class DecisionOut(Out):
    outcome: str
    reason: str | None
    responsible_agency: str | None
    responsible_agency_contact: str | None
    withheld_ground: str | None
    overrides: list[dict[str, Any]]
    correction: str | None
    decided_on: dt.date
    decided_by: str


class ExtensionRequestOut(Out):
    days: int
    reason: str | None
    requested_by: str | None
    requested_on: dt.date | None


class ReplyApprovalOut(Out):
    approved_by: str
    on: dt.date | None


class RedactionOut(Out):
    part: str
    ground: str


class ConfidentialityReviewOut(Out):
    conclusion: str = Field(description="disclosable / partly_disclosable / not_disclosable")
    basis: str
    reviewer: str
    reviewed_on: dt.date
    redactions: list[RedactionOut]


class InternalConsultationOut(Out):
    id: int
    body: str = Field(description="legal_adviser / justice_bureau / joint_meeting / other")
    name: str
    matter: str | None
    sent_on: dt.date
    closed_on: dt.date | None
    opinion: str | None


class LegalSignoffOut(Out):
    signed_by: str
    on: dt.date


class SimilarRequestOut(Out):
    id: int
    number: str
    received_on: dt.date
    state: str
    outcome: str | None
    replied_on: dt.date | None = Field(description="when the agency replied to it (Art 36(6) "
                                       "applies only to a request already answered)")
    similarity: float = Field(description="estimated Jaccard similarity of the descriptions, 0–1")
    url: str


class PromptOut(Out):
    kind: str = Field(description="excessive_requests (Art 35) / possible_repeat (Art 36(6))")
    message: str = Field(description="what staff are prompted to consider, in Chinese")
    count: int | None = None
    threshold: int | None = None


class RequestOut(RequestSummary):
    applicant: ApplicantOut
    description: str
    requested_form: str | None
    clock: ClockOut
    supplement: SupplementOut | None
    extension: ExtensionOut | None
    extension_request: ExtensionRequestOut | None
    reply_approval: ReplyApprovalOut | None
    confidentiality_review: ConfidentialityReviewOut | None
    internal_consultations: list[InternalConsultationOut]
    legal_signoff: LegalSignoffOut | None
    legal_returned_on: dt.date | None = Field(description="the legal reviewer returned the reply "
                                              "(its opinion is in the history); send_reply waits "
                                              "for a revised decision, review or draft")
    signoffs_required: list[str] = Field(description="before send_reply, for the decided outcome: "
                                         "legal_signoff (法制审核) and/or approve_reply (负责人签批)")
    fee: FeeOut | None
    consultations: list[ConsultationOut]
    decision: DecisionOut | None
    similar_requests: list[SimilarRequestOut] = Field(
        description="the applicant's earlier requests with similar content: not_processed_repeat "
                    "candidates (Art 36(6))")
    prompts: list[PromptOut]
    replied_on: dt.date | None
    archived_on: dt.date | None


class RevealedId(Out):
    id_number: str | None
    revealed_by: str
    audit_seq: int


class RequestPage(Out):
    total: int | None = Field(description="how many match: only with `total=true` (a count over a "
                              "million rows costs more than the page)")
    limit: int
    offset: int
    next_after: int | None = Field(description="pass as `after` for the next page; null: the last")
    items: list[RequestSummary]


class AuditEventOut(Out):
    seq: int
    recorded_at: dt.datetime
    on: dt.date
    actor: str
    event: str
    from_state: str | None
    to_state: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str


class HistoryOut(Out):
    request_id: int
    number: str
    verified: bool
    first_broken_seq: int | None
    problem: str | None
    events: list[AuditEventOut]


class ExportRequest(Out):
    id: int
    number: str


class ExportEvent(Out):
    """An audit event exactly as stored: `data` is the canonical JSON string that was hashed."""
    request_id: int
    seq: int
    recorded_at: str
    on: str
    actor: str
    event: str
    from_state: str | None
    to_state: str
    data: str
    prev_hash: str
    hash: str


class ExportFile(Out):
    format: str
    sha256: str
    size: int
    content_base64: str = Field(description="the exact bytes sent, base64")


class ExportLetter(Out):
    letter_id: int
    kind: str
    title: str
    doc_number: str
    files: list[ExportFile]


class ExportCheckpoint(Out):
    statement: str = Field(description="the signed statement (canonical JSON): number, tree_size, root, signed_at, key_id")
    signature: str = Field(description="Ed25519 over the statement's UTF-8 bytes, hex")
    public_key: str = Field(description="raw Ed25519 public key, hex; compare its key_id with the agency's published one")


class ExportInclusion(Out):
    seq: int = Field(description="the request's last event the checkpoint covers")
    leaf_index: int
    tree_size: int
    path: list[str] = Field(description="RFC 6962 audit path, leaf upward, hex")


class ExportOut(Out):
    """A bundle `audit/offline_verifier.py` checks with nothing of Gongkai installed."""
    format: str
    request: ExportRequest
    events: list[ExportEvent]
    letters: list[ExportLetter]
    checkpoint: ExportCheckpoint | None = Field(description="null until a checkpoint covers the request")
    inclusion: ExportInclusion | None


class FileOut(Out):
    format: str
    sha256: str
    size: int
    url: str


class ServiceOut(Out):
    method: str
    served_on: dt.date
    tracking_number: str | None
    note: str | None
    recorded_by: str
    recorded_at: dt.datetime


class LetterOut(Out):
    id: int
    kind: str
    title: str
    doc_number: str
    recipient: str
    issued_on: dt.date
    issued_by: str
    starts_period: str | None
    service: ServiceOut | None
    service_pending: bool
    service_history: list[ServiceOut]
    template: str
    template_version: str
    files: list[FileOut]
    pending_formats: list[str]


class DraftLetterOut(Out):
    title: str
    template: str
    required_parts: list[str]


class DraftOut(Out):
    version: int
    parts: dict[str, Any]
    updated_by: str | None
    frozen: bool
    letter: DraftLetterOut | None


class LettersOut(Out):
    request_id: int
    number: str
    letters: list[LetterOut]
    draft: DraftOut


class OutboxOut(Out):
    id: int
    request_id: int
    request_number: str
    kind: str
    status: str
    attempts: int
    available_at: dt.datetime
    created_at: dt.datetime
    done_at: dt.datetime | None
    claimed_by: str | None
    last_error: str | None
    payload: dict[str, Any]


class OutboxPage(Out):
    total: int
    items: list[OutboxOut]


class DigestOut(Out):
    id: int
    day: dt.date
    agency: str
    scope_kind: str
    scope: str
    overdue: int
    due_soon: int
    emailed_at: dt.datetime | None
    email_to: str | None
    email_error: str | None


class DigestFull(DigestOut):
    items: list[dict[str, Any]]
    body: str


class DigestList(Out):
    items: list[DigestOut]


class CalendarYearOut(Out):
    year: int
    kind: str
    source: str
    loaded_at: dt.datetime | None
    loaded_by: str | None
    holidays: list[dt.date]
    makeup_workdays: list[dt.date]


class CalendarYears(Out):
    items: list[CalendarYearOut]


class CalendarChangeOut(Out):
    request_id: int
    number: str
    on: dt.date
    actor: str
    calendar_year: int | None
    old_due_on: dt.date | None
    new_due_on: dt.date | None
    reason: str | None
    changed: dict[str, Any]


class CalendarChanges(Out):
    items: list[CalendarChangeOut]


class UserOut(Out):
    username: str
    display_name: str
    role: str
    agency: str | None
    unit: str | None
    scope: list[str] | str = Field(description="agency codes seen beyond one's own, or \"all\"")
    disabled: bool
    has_password: bool
    locked_until: dt.datetime | None
    created_at: dt.datetime


class UserList(Out):
    items: list[UserOut]


class UserCreated(Out):
    user: UserOut
    password: str | None = Field(description="the generated password, shown this once")


class LoginOut(Out):
    user: UserOut
    csrf_token: str = Field(description="echo it in X-CSRF-Token on every unsafe call")
    expires_at: dt.datetime


class TokenOut(Out):
    id: int
    label: str
    created_at: dt.datetime
    created_by: str
    expires_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenList(Out):
    items: list[TokenOut]


class TokenCreated(TokenOut):
    token: str = Field(description="the bearer token, shown this once (stored only as a hash)")


class AgencyOut(Out):
    code: str
    name: str
    abbr: str
    letterhead: str
    doc_number_pattern: str
    address: str
    postcode: str
    phone: str
    review_body: str
    court: str
    signature: str
    contact_person: str
    reply_signoff: str
    legal_signoff: str
    excess_threshold: int
    electronic_seal: str | None
    active: bool
    version: int
    missing: list[str] = Field(description="fields letters need that are still placeholders")
    units: list[str]


class AgencyList(Out):
    items: list[AgencyOut]


class AccessEventOut(Out):
    seq: int
    recorded_at: str
    actor: str
    event: str
    subject: str
    data: dict[str, Any]
    hash: str


class AccessLogOut(Out):
    verified: bool
    first_broken_seq: int | None
    problem: str | None
    events: list[AccessEventOut]


class Health(Out):
    status: str


class WatchItem(Out):
    id: int
    number: str
    agency: str
    unit: str | None
    state: str
    assignee: str | None
    department: str | None
    applicant_kind: str
    received_on: dt.date
    due_on: dt.date
    days_left: int | None = Field(description="working days left; negative: working days late")


class WatchPage(Out):
    total: int
    next_after: str | None = Field(description="pass as `after` for the next page; null: the last")
    items: list[WatchItem]


class AgencyCount(Out):
    agency: str
    open: int
    overdue: int
    due_soon: int


class AgencyCounts(Out):
    items: list[AgencyCount]


class OnTimeRate(Out):
    agency: str
    replied: int
    in_time: int
    rate: float | None


class OnTimeRates(Out):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    start: dt.date = Field(alias="from")
    end: dt.date = Field(alias="to")
    items: list[OnTimeRate]


class BulkResult(Out):
    id: int
    status: int = Field(description="200 done; 404 not seen; 409 state or race; 422 a rule refused it")
    state: str | None
    error: str | None


class BulkResults(Out):
    action: str
    results: list[BulkResult]


class ReportRow(Out):
    label: str
    level: int
    values: list[int] | None = Field(description="one per column, the last the 总计; null: a heading")


class ChallengeRow(Out):
    label: str
    values: list[int]


class ChallengeTable(Out):
    columns: list[str]
    rows: list[ChallengeRow]


class Correction(Out):
    table: str
    row: str
    column: str
    published: int
    now: int


class PublishedOut(Out):
    by: str
    at: dt.datetime


class AnnualReport(Out):
    year: int
    format: str = Field(description="the layout: 2021 (国办公开办函〔2021〕30号) or 2019")
    title: str
    agencies: list[str]
    columns: list[str]
    table_three: list[ReportRow]
    table_four: ChallengeTable
    published: PublishedOut | None
    corrections: list[Correction] = Field(description="cells whose live figure differs from the "
                                                      "published one")


class ChallengeOut(Out):
    id: int
    kind: str
    after_reconsideration: bool
    body: str
    case_number: str | None
    filed_on: dt.date
    result: str | None
    decided_on: dt.date | None
    note: str | None
    recorded_by: str


class ChallengeList(Out):
    items: list[ChallengeOut]


class ClusterRequest(Out):
    id: int
    number: str
    url: str


class DisclosureCandidate(Out):
    size: int = Field(description="requests in the group")
    applicants: int = Field(description="different applicants among them")
    first_received_on: dt.date
    last_received_on: dt.date
    example: str = Field(description="the latest request's description (first 200 characters)")
    request_ids: list[int]
    requests: list[ClusterRequest]
    published_in: list[int] = Field(description="proactive disclosures already recorded for some of them")


class DisclosureCandidates(Out):
    days: int
    min_applicants: int
    items: list[DisclosureCandidate]


class ProactiveDisclosureOut(Out):
    id: int
    agency: str
    title: str
    published_on: dt.date
    location: str
    note: str | None
    recorded_by: str
    request_ids: list[int]


class ProactiveDisclosureList(Out):
    items: list[ProactiveDisclosureOut]

