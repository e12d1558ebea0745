"""Request and response bodies of the JSON API. The inputs themselves — a new request, each
event's body — are `states/inputs.py`, which the web pages validate against too."""

from __future__ import annotations

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field
from typing import Annotated

from states.inputs import (  # noqa: F401 (the API's names for them)
    EVENT_BODIES, WITHHELD_CODES, Applicant, EventBody, IsoDate, PlainText, RequestCreate,
    RevealBody, Strict)

# A row id in a path: outside the database's integer range it cannot exist (404, never a 500).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


class ErrorDetail(BaseModel):
    field: str = Field(description="the field (or path part) at fault")
    rule: str = Field(description="the rule it broke")


class ErrorBody(BaseModel):
    """Every error has this shape (409 event_not_allowed adds `state` and `allowed_events`;
    unknown_event adds `events`)."""
    model_config = ConfigDict(extra="allow")
    error: str = Field(description="kind: not_found, invalid_input, rule_violation, event_not_allowed, "
                                   "concurrent_change, body_too_large, internal_error …")
    message: str
    detail: list[ErrorDetail]


# Documented on every route: the error shape, never FastAPI's default validation schema.
ERROR_RESPONSES: dict = {
    400: {"model": ErrorBody, "description": "the body is not JSON"},
    401: {"model": ErrorBody, "description": "not logged in: no valid bearer token or session"},
    403: {"model": ErrorBody, "description": "the user's role may not do this (or the CSRF token "
                                              "of a session is missing)"},
    404: {"model": ErrorBody, "description": "no such request, letter, outbox row or digest (or one "
                                              "of an agency outside the user's scope)"},
    409: {"model": ErrorBody, "description": "the state does not allow the event, or a concurrent "
                                              "change (stale expected_version, lost race)"},
    413: {"model": ErrorBody, "description": "the body is larger than GONGKAI_MAX_BODY_BYTES"},
    422: {"model": ErrorBody, "description": "invalid input or a broken rule, naming the field"},
    500: {"model": ErrorBody, "description": "an unexpected failure; nothing was saved"},
}


