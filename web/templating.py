"""The pages' Jinja2 environment (autoescaped HTML) and the Chinese labels every template reads."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from web.labels import (APPLICANT_KINDS, CHANNELS, CHOICES, DUE_FILTERS, EVENTS, FIELDS,
                        ROLE_NAMES, STAGES, verify_reason)

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(STAGES=STAGES, CHANNELS=CHANNELS, DUE_FILTERS=DUE_FILTERS,
                             ROLE_NAMES=ROLE_NAMES, EVENTS=EVENTS, FIELDS=FIELDS, CHOICES=CHOICES,
                             APPLICANT_KINDS=APPLICANT_KINDS)
templates.env.filters["verify_reason"] = verify_reason
