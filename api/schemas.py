"""Request and response bodies. Unknown fields are refused so a typo never passes silently."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from states.codes import CORRECTIONS, OUTCOME_CODES, ApplicantKind, Channel, ConsultationParty, Opinion


_CONTROL = {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}


def _no_control_characters(value: str | None) -> str | None:
    if value is not None and any(ch in _CONTROL for ch in value):
        raise ValueError("must not contain control characters (NUL, vertical tab …); "
                         "retype or paste as plain text")
    return value


# Free text that will be stored and frozen into letters: no control characters.
PlainText = Annotated[str, AfterValidator(_no_control_characters)]
# A row id in a path: outside the database's integer range it cannot exist (404, never a 500).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Applicant(Strict):
    name: str = Field(min_length=1, max_length=200)
    kind: ApplicantKind
    id_number: str | None = Field(default=None, pattern=r"^[0-9A-Za-z]{6,30}$")
    phone: str | None = Field(default=None, pattern=r"^[0-9+\- ]{5,20}$")
    email: str | None = Field(default=None, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    address: str | None = Field(default=None, max_length=500)


class RequestCreate(Strict):
    applicant: Applicant
    channel: Channel
    received_on: dt.date
    description: str = Field(min_length=1, max_length=10_000)
    requested_form: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=200)
    assignee: str | None = Field(default=None, max_length=200)


class EventBody(Strict):
    on: dt.date = Field(description="the date it happened, YYYY-MM-DD")
    expected_version: int | None = Field(default=None, ge=1,
                                         description="refuse with 409 if the request changed")


class RegisterBody(EventBody):
    department: str | None = Field(default=None, max_length=200)
    assignee: str | None = Field(default=None, max_length=200)


class RequestSupplementBody(EventBody):
    items: list[str] = Field(min_length=1, description="everything to supplement, in one notice")
    period_days: int | None = Field(default=None, ge=1, le=60)

    @field_validator("items")
    @classmethod
    def _non_empty(cls, items):
        if any(not i.strip() for i in items):
            raise ValueError("items must not contain empty entries")
        return items


class ReceiveSupplementBody(EventBody):
    reason: str | None = Field(default=None, max_length=2000)


class OpenConsultationBody(EventBody):
    party: ConsultationParty
    name: str = Field(min_length=1, max_length=200)
    matter: str | None = Field(default=None, max_length=5000,
                               description="which information the opinion is sought on; "
                                           "default: the request's description")


class CloseConsultationBody(EventBody):
    consultation_id: int
    opinion: Opinion
    note: str | None = Field(default=None, max_length=5000)


class ExtendBody(EventBody):
    days: int = Field(ge=1, le=20, description="working days, at most 20 (Art 33)")
    approved_by: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000,
                        description="why the period cannot be met, quoted in the 延期答复告知书")


class NotifyFeeBody(EventBody):
    amount_yuan: int = Field(gt=0)
    basis: str = Field(min_length=1, max_length=2000,
                       description="收费依据和标准, quoted in the 收费通知书")
    how_to_pay: str = Field(min_length=1, max_length=2000,
                            description="缴费方式, quoted in the 收费通知书")


class DecideBody(EventBody):
    outcome: Literal[OUTCOME_CODES]  # type: ignore[valid-type]
    reason: str | None = Field(default=None, max_length=10_000)
    responsible_agency: str | None = Field(default=None, max_length=200)
    correction: Literal[tuple(CORRECTIONS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="Art 41 correction reply (with outcome 'other')")


class NoteBody(EventBody):
    note: str | None = Field(default=None, max_length=2000)


class AskReasonsBody(EventBody):
    note: str = Field(min_length=1, max_length=2000,
                      description="why the number or frequency exceeds a reasonable range (Art 35)")


class WithdrawBody(EventBody):
    reason: str | None = Field(default=None, max_length=2000)


EVENT_BODIES: dict[str, type[EventBody]] = {
    "register": RegisterBody, "review": NoteBody, "request_supplement": RequestSupplementBody,
    "receive_supplement": ReceiveSupplementBody, "open_consultation": OpenConsultationBody,
    "close_consultation": CloseConsultationBody, "extend": ExtendBody,
    "ask_reasons": AskReasonsBody, "notify_fee": NotifyFeeBody, "receive_fee": NoteBody, "decide": DecideBody,
    "send_reply": NoteBody, "archive": NoteBody, "withdraw": WithdrawBody,
}
