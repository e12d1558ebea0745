"""structlog JSON logging: one line per record, personal identifiers masked, no locals in tracebacks.

Applicants' ID numbers and phone numbers are personal information (个人信息保护法); they must
never reach a log file, whoever calls the logger and whatever key they use.

Every line — ours, Prefect's, uvicorn's — is one JSON object whose `timestamp` carries the
agency's zone offset (`GONGKAI_TIMEZONE`, default Asia/Shanghai: `2026-03-25T00:15:00.123+08:00`).
A process that logs before anyone configured structlog (a Prefect flow-run subprocess, a
worker's engine process, a CLI command) gets the same JSON from the settings, not structlog's
console default.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

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


def agency_zone(timezone: str | None = None) -> dt.tzinfo:
    """The zone every log timestamp is written in: the agency's (settings.timezone). Settings
    that cannot be read must not silence the logs: then UTC, which the `+00:00` says."""
    try:
        if timezone is None:
            from core.config import get_settings
            timezone = get_settings().timezone
        return ZoneInfo(timezone)
    except Exception:
        return dt.timezone.utc


class AgencyTimeStamper:
    """`timestamp`: ISO 8601 in the agency's zone with its offset, to the millisecond. A foreign
    record (Prefect's, uvicorn's) is stamped with the time it was made, not when formatted."""

    def __init__(self, timezone: str | None = None) -> None:
        self.zone = agency_zone(timezone)

    def __call__(self, _logger, _name, event_dict):
        record = event_dict.get("_record")
        when = (dt.datetime.fromtimestamp(record.created, self.zone) if record is not None
                else dt.datetime.now(self.zone))
        event_dict["timestamp"] = when.isoformat(timespec="milliseconds")
        return event_dict


def add_prefect_run(_logger, _name, event_dict):
    """Inside a Prefect flow run, name it on our lines too (as Prefect's own lines do). Looks
    Prefect up only if this process has loaded it: the API never does."""
    context = sys.modules.get("prefect.context")
    run = context.FlowRunContext.get() if context is not None else None
    if run is not None and run.flow_run is not None:
        event_dict.setdefault("flow_run_name", run.flow_run.name)
        event_dict.setdefault("flow_run_id", str(run.flow_run.id))
        if run.flow is not None:
            event_dict.setdefault("flow_name", run.flow.name)
    return event_dict


def configure_logging(level: str = "INFO", json: bool = True, stream=None,
                      timezone: str | None = None) -> None:
    renderer = (structlog.processors.JSONRenderer(ensure_ascii=False) if json
                else structlog.dev.ConsoleRenderer())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            add_prefect_run,
            structlog.processors.add_log_level,
            AgencyTimeStamper(timezone),
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=structlog.PrintLoggerFactory(file=stream or sys.stdout),
        cache_logger_on_first_use=False,
    )


def ensure_configured() -> None:
    """Configure structlog from the settings (GONGKAI_LOG_LEVEL, GONGKAI_LOG_JSON) unless this
    process already did: structlog's own default would print console text, not JSON."""
    if structlog.is_configured():
        return
    level, as_json = "INFO", True
    try:
        from core.config import get_settings
        settings = get_settings()
        level, as_json = settings.log_level, settings.log_json
    except Exception:
        pass
    configure_logging(level, as_json)


PREFECT_LOGGING_CONFIG = Path(__file__).with_name("prefect_logging.yml")


def stdlib_json_formatter() -> logging.Formatter:
    """A stdlib formatter that renders foreign records (Prefect's, uvicorn's) like our own lines:
    one JSON object, same keys, personal identifiers masked, the agency's zone on the timestamp.

    Prefect builds it in every process it configures logging for (`core/prefect_logging.yml`),
    flow-run subprocesses included, so structlog is configured there too."""
    ensure_configured()
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.ExtraAdder(allow=["flow_run_name", "flow_run_id", "flow_name",
                                               "task_run_name", "task_run_id"]),
            AgencyTimeStamper(),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)),
            mask_personal_data,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ])


UVICORN_LOGGING_CONFIG = Path(__file__).with_name("uvicorn_logging.yml")


def get_logger(name: str | None = None):
    ensure_configured()
    return structlog.get_logger(name)
