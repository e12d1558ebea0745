"""structlog JSON logging: one line per record, personal identifiers masked, no locals in tracebacks.

Applicants' ID numbers and phone numbers are personal information (个人信息保护法); they must
never reach a log file, whoever calls the logger and whatever key they use.
"""

from __future__ import annotations

import logging
import re
import sys
from pathlib import Path

import structlog
from structlog.tracebacks import ExceptionDictTransformer

SENSITIVE_KEYS = {"id_number", "applicant_id_number", "phone", "applicant_phone", "email",
                  "applicant_email", "address", "applicant_address"}
# 18-digit 居民身份证号 (last may be X) and 11-digit mainland mobile numbers, found inside text.
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _mask_text(text: str) -> str:
    return _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id_number]", text))


def _mask(value):
    if isinstance(value, str):
        return _mask_text(value)
    if isinstance(value, dict):
        return {k: ("[masked]" if k in SENSITIVE_KEYS else _mask(v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_mask(v) for v in value]
    return value


def mask_personal_data(_logger, _name, event_dict):
    return {k: ("[masked]" if k in SENSITIVE_KEYS else _mask(v)) for k, v in event_dict.items()}


def configure_logging(level: str = "INFO", json: bool = True, stream=None) -> None:
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


PREFECT_LOGGING_CONFIG = Path(__file__).with_name("prefect_logging.yml")


def stdlib_json_formatter() -> logging.Formatter:
    """A stdlib formatter that renders foreign records (Prefect's, uvicorn's) like our own lines:
    one JSON object, same keys, personal identifiers masked."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(allow=["flow_run_name", "flow_run_id", "flow_name",
                                               "task_run_name", "task_run_id"]),
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ])


def get_logger(name: str | None = None):
    return structlog.get_logger(name)
