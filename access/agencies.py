"""Agencies (行政机关) and their units (科室) as data: added and changed by an admin, every change
in the access log; the GONGKAI_AGENCY__* settings are the bootstrap of a one-agency deployment.

A letter takes its agency's profile (`profile`) when it is frozen, so a later change of address
or 复议机关 never alters a letter already sent.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

import audit
from access.errors import AccessConflict, AccessNotFound, Forbidden, InvalidAccessInput
from access.models import Agency, Unit
from access.policy import Principal
from core.config import Agency as AgencyProfile
from core.config import Settings
from core.text import ControlCharacter, plain_text

# What an admin may set on an agency (all of its profile but the code, which never changes).
FIELDS = tuple(f for f in AgencyProfile.model_fields if f != "code")
NUMBERS = tuple(f for f in FIELDS if AgencyProfile.model_fields[f].annotation is int)
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")
_PLACEHOLDERS = AgencyProfile()


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def profile(row: Agency) -> AgencyProfile:
    """The agency as letters read it (validated like the settings it replaces)."""
    values = {f: getattr(row, f) for f in FIELDS}
    values["electronic_seal"] = Path(row.electronic_seal) if row.electronic_seal else None
    return AgencyProfile(code=row.code, **values)


def missing(row: Agency) -> list[str]:
    """Fields a letter needs that are still empty or at their placeholder."""
    return [f for f in AgencyProfile.REQUIRED
            if not str(getattr(row, f) or "").strip() or getattr(row, f) == getattr(_PLACEHOLDERS, f)]


def _validated(values: dict) -> dict:
    """Check every field as the settings would (patterns, the 文号 pattern's keys, plain text)."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise InvalidAccessInput(unknown[0], f"not an agency field; fields: {', '.join(FIELDS)}")
    clean = {}
    for field, value in values.items():
        if isinstance(value, Path):
            value = str(value)
        if value is None and field != "electronic_seal":
            if field in AgencyProfile.REQUIRED or field == "doc_number_pattern":
                raise InvalidAccessInput(field, "required: it cannot be cleared")
            value = ""  # an optional field cleared
        if field in NUMBERS:
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidAccessInput(field, "must be a whole number")
            clean[field] = value
            continue
        if value is not None and not isinstance(value, str):
            raise InvalidAccessInput(field, "must be text")
        if value is not None:
            try:
                value = plain_text(value).strip()
            except ControlCharacter as exc:
                raise InvalidAccessInput(field, str(exc)) from None
            if len(value) > 500:
                raise InvalidAccessInput(field, "at most 500 characters")
        clean[field] = value
    try:
        model = AgencyProfile(**{k: v for k, v in clean.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidAccessInput(".".join(str(p) for p in first["loc"]), first["msg"]) from None
    for field, value in clean.items():  # as the validators normalised them
        if value is not None and field != "electronic_seal":
            clean[field] = getattr(model, field)
    if clean.get("electronic_seal") == "":
        clean["electronic_seal"] = None
    return clean


def get_agency(session: Session, code: str) -> Agency:
    row = session.exec(select(Agency).where(Agency.code == code)).first()
    if row is None:
        raise AccessNotFound(f"agency {code!r} does not exist")
    return row


def list_agencies(session: Session) -> list[Agency]:
    return list(session.exec(select(Agency).order_by(Agency.id)))


def add_agency(session: Session, code: str, values: dict, actor: str) -> Agency:
    """A new agency. Fields not given start at the placeholders, which refuse letters until set."""
    if not CODE.fullmatch(code or ""):
        raise InvalidAccessInput("code", "1–32 lower-case letters, digits or '-', starting with a "
                                 "letter or digit")
    if session.exec(select(Agency).where(Agency.code == code)).first() is not None:
        raise AccessConflict(f"agency {code!r} already exists")
    clean = _validated(values)
    base = {f: getattr(_PLACEHOLDERS, f) for f in FIELDS}
    base["electronic_seal"] = None
    base.update({k: v for k, v in clean.items() if v is not None})
    now = _now()
    row = Agency(code=code, **base, created_at=now, updated_at=now)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # the same code added concurrently
        raise AccessConflict(f"agency {code!r} already exists") from None
    audit.append_access(session, actor=actor, event="agency_added", subject=f"agency:{code}",
                        data={f: getattr(row, f) for f in FIELDS})
    return row


def update_agency(session: Session, code: str, changes: dict, actor: str,
                  expected_version: int | None = None, event: str = "agency_changed") -> Agency:
    row = session.exec(select(Agency).where(Agency.code == code).with_for_update()).first()
    if row is None:
        raise AccessNotFound(f"agency {code!r} does not exist")
    if expected_version is not None and expected_version != row.version:
        raise AccessConflict(f"agency {code!r} changed meanwhile: expected version "
                             f"{expected_version}, it is now {row.version}")
    clean = _validated(changes)
    before = {f: getattr(row, f) for f in clean if getattr(row, f) != clean[f]}
    if not before:
        return row
    for field in before:
        setattr(row, field, clean[field])
    row.version += 1
    row.updated_at = _now()
    session.add(row)
    session.flush()
    audit.append_access(session, actor=actor, event=event, subject=f"agency:{code}",
                        data={"changed": {f: {"from": before[f], "to": clean[f]} for f in before},
                              "version": row.version})
    return row


def set_active(session: Session, code: str, active: bool, actor: str) -> Agency:
    row = get_agency(session, code)
    if row.active != active:
        row.active, row.version, row.updated_at = active, row.version + 1, _now()
        session.add(row)
        audit.append_access(session, actor=actor, event="agency_enabled" if active else "agency_disabled",
                            subject=f"agency:{code}", data={"version": row.version})
    return row


def add_unit(session: Session, code: str, name: str, actor: str) -> Unit:
    agency = get_agency(session, code)
    try:
        name = plain_text(name or "").strip()
    except ControlCharacter as exc:
        raise InvalidAccessInput("name", str(exc)) from None
    if not 1 <= len(name) <= 100:
        raise InvalidAccessInput("name", "1–100 characters")
    if session.exec(select(Unit).where(Unit.agency_id == agency.id, Unit.name == name)).first():
        raise AccessConflict(f"agency {code!r} already has a unit {name!r}")
    unit = Unit(agency_id=agency.id, name=name, created_at=_now())
    session.add(unit)
    try:
        session.flush()
    except IntegrityError:
        raise AccessConflict(f"agency {code!r} already has a unit {name!r}") from None
    audit.append_access(session, actor=actor, event="unit_added", subject=f"agency:{code}",
                        data={"unit": name})
    return unit


def get_unit(session: Session, agency: Agency, name: str) -> Unit:
    unit = session.exec(select(Unit).where(Unit.agency_id == agency.id, Unit.name == name)).first()
    if unit is None:
        raise InvalidAccessInput("unit", f"agency {agency.code!r} has no unit {name!r}")
    return unit


def units_of(session: Session, agency_id: int) -> list[Unit]:
    return list(session.exec(select(Unit).where(Unit.agency_id == agency_id).order_by(Unit.id)))


def bootstrap(session: Session, settings: Settings, actor: str = "system:bootstrap") -> Agency | None:
    """The one-agency deployment configured by GONGKAI_AGENCY__*: create its agency if there is
    none, and fill in any of its fields still at a placeholder that the settings now give (an
    admin's edits are never overwritten). Caller commits."""
    given = settings.agency
    row = session.exec(select(Agency).where(Agency.code == given.code).with_for_update()).first()
    if row is None:
        if session.exec(select(Agency.id)).first() is not None:
            return None  # a multi-agency deployment: agencies are managed as data
        values = {f: getattr(given, f) for f in FIELDS}
        return add_agency(session, given.code, values, actor)
    fill = {}
    for field in FIELDS:
        value = getattr(given, field)
        value = str(value) if isinstance(value, Path) else value
        current = getattr(row, field)
        placeholder = getattr(_PLACEHOLDERS, field)
        placeholder = str(placeholder) if isinstance(placeholder, Path) else placeholder
        if value not in (None, "") and value != placeholder and current in (None, "", placeholder):
            fill[field] = value
    if fill:
        update_agency(session, row.code, fill, actor, event="agency_filled_from_settings")
    return row


def placement(session: Session, user: Principal, agency: str | None,
              unit: str | None) -> tuple[int, int | None]:
    """Where a new request goes: the agency named (one the user serves) or the user's own, and
    the unit named or the staff member's own."""
    if agency:
        try:
            row = get_agency(session, agency)
        except AccessNotFound:
            raise InvalidAccessInput("agency", f"no agency {agency!r}") from None
        if not user.sees_agency(row.id):
            raise Forbidden(f"you do not serve agency {agency!r}")
    elif user.agency_id is not None:
        row = session.get(Agency, user.agency_id)
    else:
        raise InvalidAccessInput("agency", "you serve several agencies: name the one it was made to")
    if not row.active:
        raise InvalidAccessInput("agency", f"agency {row.code!r} is disabled")
    unit_id = get_unit(session, row, unit).id if unit else None
    if user.role == "staff" and user.unit_id is not None:
        if unit_id not in (None, user.unit_id):
            raise Forbidden("staff of a unit receive requests for their own unit")
        unit_id = user.unit_id
    return row.id, unit_id
