"""structlog JSON logging: one line per record, personal identifiers masked, no locals in tracebacks.

Applicants' ID numbers, phone numbers, e-mail addresses, names and addresses are personal
information (个人信息保护法); they must never reach a log file, whoever calls the logger and
whatever key they use. Numbers and e-mail addresses are recognised in any text (exception text
included); names and addresses cannot be, so what would quote them is cut instead: a database
error's SQL parameters (also hidden at the source, see core/db.py) and PostgreSQL's DETAIL and
CONTEXT lines ("Failing row contains (…)", "Key (…)=(…)"). uvicorn's error logger is masked
whatever formatter its launcher gave it (`uvicorn api.app:app` without --log-config included),
and so are the log lines Prefect sends to its server (core/prefect_logging.yml).

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
                  "applicant_email", "address", "applicant_address", "applicant_name"}
# 18-digit 居民身份证号 (last may be X) and 11-digit mainland mobile numbers, found inside text.
_ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")
_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
# A landline with its area code as core.personal_data stores it (0571-87000000, 057187000000).
_LANDLINE = re.compile(r"(?<![\dA-Za-z])0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Up to the end of the line, or of the escaped line when the text was repr()'d into a message
# (Prefect's "Finished in state Failed('… \\n[parameters: …]\\n…')").
_SQL_PARAMETERS = re.compile(r"\[parameters: (?:(?!\\n)[^\n])*")
_PG_DETAIL = re.compile(r"(DETAIL|CONTEXT):  (?:(?!\\n)[^\n])*")


def mask_text(text: str) -> str:
    """`text` with personal identifiers and quoted database rows masked (also for text a command
    prints that is no log line, e.g. a failed flow run's state message)."""
    text = _PG_DETAIL.sub(r"\1:  [hidden]", _SQL_PARAMETERS.sub("[parameters hidden]", text))
    text = _MOBILE.sub("[phone]", _ID_NUMBER.sub("[id_number]", text))
    return _EMAIL.sub("[email]", _LANDLINE.sub("[phone]", text))


def _mask(value):
    if isinstance(value, str):
        return mask_text(value)
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


def _masked_arg(arg):
    if isinstance(arg, str):
        return mask_text(arg)
    return mask_text(str(arg)) if isinstance(arg, BaseException) else arg


class MaskRecord(logging.Filter):
    """Masks a stdlib record before any handler sees it: its message, and its traceback as the
    text (`exc_text`) that logging.Formatter prints instead of formatting `exc_info` itself.
    A formatter of ours (stdlib_json_formatter) renders `exc_info` and masks it on its own."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            # Format string and arguments kept apart: uvicorn's coloured formatter formats its
            # `color_message` with the same arguments.
            if isinstance(record.msg, str):
                record.msg = mask_text(record.msg)
            if isinstance(record.args, tuple):
                record.args = tuple(_masked_arg(a) for a in record.args)
            if record.exc_info and not record.exc_text:
                record.exc_text = mask_text(logging.Formatter().formatException(record.exc_info))
        except Exception:  # noqa: BLE001 — a filter that raises would break the caller, not the log
            pass
        return True


def mask_uvicorn_errors() -> None:
    """uvicorn prints "Exception in ASGI application" with the traceback on `uvicorn.error`, in
    plain text unless its launcher passed our --log-config. The API answers every failure inside
    the app (api/middleware.py), so none should get there; if one does, it is masked. (Its access
    log prints the method, path and status of a call, which carry no applicant data.)"""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, MaskRecord) for f in logger.filters):
        logger.addFilter(MaskRecord())


def configure_logging(level: str = "INFO", json: bool = True, stream=None,
                      timezone: str | None = None) -> None:
    mask_uvicorn_errors()
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


class MaskedTextFormatter(logging.Formatter):
    """Plain text (message, then traceback) with personal data masked: for the lines Prefect
    sends to its server, which its UI shows and its database keeps."""

    def format(self, record: logging.LogRecord) -> str:
        text = mask_text(super().format(record))
        # logging.Formatter caches the traceback text on the record for the next handlers.
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        return text


UVICORN_LOGGING_CONFIG = Path(__file__).with_name("uvicorn_logging.yml")


def get_logger(name: str | None = None):
    ensure_configured()
    return structlog.get_logger(name)
