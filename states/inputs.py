"""What a new request and each event take as input, typed and checked: the one contract the JSON
API and the web pages both validate against (unknown fields are refused, so a typo never passes
silently; free text that ends up in letters may hold no control characters)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo,
                      field_validator)

from core.personal_data import check_id_number, check_phone
from core.text import plain_text
from states.codes import (CORRECTIONS, OUTCOME_CODES, PRIVACY, WITHHELD_GROUNDS, ApplicantKind, Channel,
                          Confidentiality, ConsultationParty, InternalBody, Opinion, ServiceMethod)
from states.fees import MAX_PAGES


def _plain(value: str | None) -> str | None:
    return None if value is None else plain_text(value)


# Free text that will be stored and frozen into letters: no control characters.
PlainText = Annotated[str, AfterValidator(_plain)]
def _iso_date(value):
    # A query string "0.0" or "1700000000" would otherwise be read as a Unix timestamp.
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return value
    raise ValueError("a date as YYYY-MM-DD")


# A date in a query string: YYYY-MM-DD only.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Applicant(Strict):
    name: PlainText = Field(min_length=1, max_length=200)
    kind: ApplicantKind
    id_number: PlainText | None = Field(
        default=None, max_length=18,
        description="natural_person: 居民身份证号码 (GB 11643 check); others: 统一社会信用代码 "
                    "(GB 32100 check). Stored, never echoed back (see the reveal route).")
    phone: PlainText | None = Field(default=None, max_length=30,
                                    description="mobile, or landline with area code")
    email: PlainText | None = Field(default=None, max_length=254,
                                    pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: PlainText | None = Field(default=None, max_length=500)

    @field_validator("phone")
    @classmethod
    def _phone(cls, value):
        return None if value is None else check_phone(value)

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value, info: ValidationInfo):
        if value is None:
            return None
        return check_id_number(value, person=info.data.get("kind") == ApplicantKind.natural_person)


class RevealBody(Strict):
    reason: PlainText = Field(min_length=2, max_length=500,
                              description="why the number is needed (e.g. 核对申请人身份)")


class RequestCreate(Strict):
    applicant: Applicant
    channel: Channel
    received_on: dt.date
    description: PlainText = Field(min_length=1, max_length=10_000)
    requested_form: PlainText | None = Field(default=None, max_length=200)
    department: PlainText | None = Field(default=None, max_length=200)
    assignee: PlainText | None = Field(default=None, max_length=200)
    agency: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9-]{0,31}$",
                               description="code of the agency it was made to; default: the user's")
    unit: PlainText | None = Field(default=None, max_length=100,
                                   description="the unit (科室) to handle it; staff of a unit: theirs")


class EventBody(Strict):
    on: dt.date = Field(description="the date it happened, YYYY-MM-DD")
    expected_version: int | None = Field(default=None, ge=1,
                                         description="refuse with 409 if the request changed")


class RegisterBody(EventBody):
    department: PlainText | None = Field(default=None, max_length=200)
    assignee: PlainText | None = Field(default=None, max_length=200)


class SupplementItem(Strict):
    kind: Literal["content", "identity", "contact", "form", "other"] = Field(
        description="content 内容不明确 (Art 30); identity 身份证明, contact 联系方式, form 形式要求/"
                    "获取方式, other (Art 29 ¶2)")
    text: str = Field(min_length=1, max_length=2000)


class RequestSupplementBody(EventBody):
    items: list[str | SupplementItem] = Field(
        min_length=1, max_length=50,
        description="everything to supplement, in one notice, one line an item; a plain text item "
                    "is a content item")
    period_days: int | None = Field(default=None, ge=1, le=60)

    @field_validator("items")
    @classmethod
    def _one_line_each(cls, items):
        out = []
        for item in items:
            text = plain_text(item if isinstance(item, str) else item.text).strip()
            if not text:
                raise ValueError("items must not contain empty entries")
            if "\n" in text:
                raise ValueError("one line an item: split an item with line breaks into several")
            out.append(text if isinstance(item, str) else item.model_copy(update={"text": text}))
        return out


class ReceiveSupplementBody(EventBody):
    reason: PlainText | None = Field(default=None, max_length=2000)


class OpenConsultationBody(EventBody):
    party: ConsultationParty
    name: PlainText = Field(min_length=1, max_length=200)
    matter: PlainText | None = Field(default=None, max_length=5000,
                               description="which information the opinion is sought on; "
                                           "default: the request's description")


class CloseConsultationBody(EventBody):
    consultation_id: int
    opinion: Opinion
    note: PlainText | None = Field(default=None, max_length=5000)


class RequestExtensionBody(EventBody):
    """Staff ask for an extension (Art 33 ¶2); it applies only once the head approves it."""
    days: int = Field(ge=1, le=20, description="working days, at most 20 (Art 33)")
    reason: PlainText = Field(min_length=1, max_length=2000,
                        description="why the period cannot be met, quoted in the 延期答复告知书")


class ApproveBody(EventBody):
    """The OGI office head (supervisor) approves as themselves: the approver is the logged-in
    user, never a name typed in."""
    note: PlainText | None = Field(default=None, max_length=2000)


class RefuseExtensionBody(EventBody):
    reason: PlainText = Field(min_length=1, max_length=2000, description="why it is refused")


class AssignBody(EventBody):
    assignee: PlainText = Field(min_length=1, max_length=200, description="经办人")
    department: PlainText | None = Field(default=None, max_length=200)


class NotifyFeeBody(EventBody):
    """The fee is computed, never typed (国办函〔2020〕109号): per item from the applicant's
    requests this calendar month, or per volume from the pages; the notice prints the basis."""
    method: Literal["per_item", "per_volume"] = Field(
        description="per_item (按件计收) or per_volume (按量计收): one of the two, never both")
    pages: int | None = Field(default=None, ge=1, le=MAX_PAGES,
                              description="per_volume: the pages of the information")
    how_to_pay: PlainText = Field(min_length=1, max_length=2000,
                            description="缴费方式, quoted in the 收费通知书")


class Redaction(Strict):
    part: PlainText = Field(min_length=1, max_length=500,
                            description="the part withheld or de-identified, as the letter names it")
    ground: Literal[(*WITHHELD_GROUNDS, PRIVACY)] = Field(  # type: ignore[valid-type]
        description="the withheld_… outcome code of its ground, or privacy (个人隐私，去标识化)")


class ReviewConfidentialityBody(EventBody):
    """保密审查 (先审查后公开, 一事一审), recorded as the logged-in user."""
    conclusion: Confidentiality
    basis: PlainText = Field(min_length=1, max_length=5000, description="审查依据")
    redactions: list[Redaction] | None = Field(
        default=None, max_length=100,
        description="partly_disclosable: the parts withheld or de-identified; they appear in the letter")


class OpenInternalConsultationBody(EventBody):
    """内部会商 (法律顾问, 司法局, 联席会议): recorded; the reply period runs on (Art 33 ¶3)."""
    body: InternalBody
    name: PlainText = Field(min_length=1, max_length=200)
    matter: PlainText | None = Field(default=None, max_length=5000)


class CloseInternalConsultationBody(EventBody):
    internal_consultation_id: int = Field(ge=1, le=2_147_483_647)
    opinion: PlainText = Field(min_length=1, max_length=10_000, description="the opinion given")


class LegalSignoffBody(EventBody):
    """法制审核 by the logged-in legal reviewer: approved, or returned with what must change."""
    conclusion: Literal["approved", "returned"]
    opinion: PlainText | None = Field(default=None, max_length=5000)


class Override(Strict):
    """Art 32: a third party's objection overridden in the public interest."""
    consultation_id: int = Field(ge=1, le=2_147_483_647)
    disclosed: PlainText = Field(min_length=1, max_length=2000,
                                 description="what of this third party's information is disclosed")
    reason: PlainText = Field(min_length=1, max_length=5000,
                              description="why not disclosing it would seriously affect the public interest")


WITHHELD_CODES = tuple(c for c in OUTCOME_CODES if c.startswith("withheld_"))


class DecideBody(EventBody):
    outcome: Literal[OUTCOME_CODES]  # type: ignore[valid-type]
    reason: PlainText | None = Field(default=None, max_length=10_000)
    responsible_agency: PlainText | None = Field(default=None, max_length=200)
    responsible_agency_contact: PlainText | None = Field(
        default=None, max_length=500, description="its address and telephone (Art 36(5)); required "
                                                  "whenever responsible_agency is named")
    withheld_ground: Literal[WITHHELD_CODES] | None = Field(  # type: ignore[valid-type]
        default=None, description="partially_disclosed: the outcome code of the withheld part")
    overrides: list[Override] | None = Field(
        default=None, max_length=50,
        description="Art 32: each objecting third party whose objection is overridden")
    correction: Literal[tuple(CORRECTIONS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Art 41 correction reply (with outcome 'other')")


class NoteBody(EventBody):
    note: PlainText | None = Field(default=None, max_length=2000)


class AskReasonsBody(EventBody):
    note: PlainText = Field(min_length=1, max_length=2000,
                      description="why the number or frequency exceeds a reasonable range (Art 35)")
    period_days: int | None = Field(default=None, ge=1, le=60,
                                    description="working days to answer from receipt (default 15)")


class ReceiveReasonsBody(EventBody):
    reasonable: bool = Field(description="whether the reasons given are reasonable (Art 35)")
    note: PlainText | None = Field(default=None, max_length=2000)


class DeferReplyBody(EventBody):
    reply_by: dt.date = Field(description="the reasonable later date for the reply (Art 35)")
    reason: PlainText = Field(min_length=1, max_length=2000,
                              description="why the reply cannot be given within the Art 33 period")


class WithdrawBody(EventBody):
    reason: PlainText | None = Field(default=None, max_length=2000)


EVENT_BODIES: dict[str, type[EventBody]] = {
    "register": RegisterBody, "review": NoteBody, "request_supplement": RequestSupplementBody,
    "receive_supplement": ReceiveSupplementBody, "open_consultation": OpenConsultationBody,
    "close_consultation": CloseConsultationBody,
    "request_extension": RequestExtensionBody, "approve_extension": ApproveBody,
    "refuse_extension": RefuseExtensionBody, "assign": AssignBody, "approve_reply": ApproveBody,
    "ask_reasons": AskReasonsBody, "receive_reasons": ReceiveReasonsBody,
    "defer_reply": DeferReplyBody, "notify_fee": NotifyFeeBody, "receive_fee": NoteBody, "decide": DecideBody,
    "review_confidentiality": ReviewConfidentialityBody,
    "open_internal_consultation": OpenInternalConsultationBody,
    "close_internal_consultation": CloseInternalConsultationBody, "legal_signoff": LegalSignoffBody,
    "send_reply": NoteBody, "archive": NoteBody, "withdraw": WithdrawBody,
}


# ——— letters: the decision letter's draft, and a letter's service (送达) ———

_TEXT = Field(default=None, max_length=10_000)


class DraftBody(Strict):
    """The parts of the decision letter staff write; the legal boilerplate is not editable."""
    findings: PlainText | None = _TEXT
    reasons: PlainText | None = _TEXT
    withheld_parts: PlainText | None = _TEXT
    provision: PlainText | None = _TEXT
    where_public: PlainText | None = _TEXT
    where_to_apply: PlainText | None = _TEXT
    provided_form: PlainText | None = Field(default=None, max_length=200)
    form_reason: PlainText | None = _TEXT
    attachments: list[Annotated[PlainText, Field(min_length=1, max_length=500)]] | None = Field(
        default=None, max_length=50)
    expected_version: int | None = Field(default=None, ge=1)


class ServiceBody(Strict):
    """送达: how and when the letter reached its addressee (送达回证, the signed-for date)."""
    method: ServiceMethod = Field(description="in_person 当面, post 邮寄, email 电子邮件, website 网站/平台")
    served_on: dt.date = Field(description="the day it reached the addressee (post: the signed-for "
                                           "date on the return receipt or tracking)")
    tracking_number: PlainText | None = Field(
        default=None, max_length=100, description="邮寄: the EMS/挂号信 number (required for post)")
    note: PlainText | None = Field(default=None, max_length=2000,
                                   description="required to correct an earlier record: why")
