"""The agency's working-day calendar: the package's years plus notices loaded into the database.

Loading a year recomputes every open request's clock through the same lock-and-audit path as
the one door, one audit event per request whose due date changed (old, new, why).
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from collections import defaultdict

from sqlalchemy import Engine, String, cast, func, text

import audit
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import session_scope
from states.workdays import WorkCalendar, YearSpec, build_calendar, parse_year_file
from states.ledger import recompute_clock
from states.machine import OPEN_STATES
from states.models import CalendarYear, Consultation, Request



# Plain SQL, built once: read by every event and every view (the ORM built it afresh each time).
_LOADED = text("SELECT year, holidays, makeup_workdays FROM calendar_year ORDER BY year")


def loaded_years(session: Session) -> tuple[YearSpec, ...]:
    return tuple(_spec(*r) for r in session.execute(_LOADED).all())


# The same years as one value, for a statement that reads other things beside them (a request's
# view: states/presence.py). A loaded year's dates are validated ISO dates in a JSON list, so
# neither separator can occur inside one.
_ROW, _FIELD = "\n", "|"
LOADED_TEXT = (select(func.aggregate_strings(
    cast(CalendarYear.year, String) + _FIELD + CalendarYear.holidays + _FIELD
    + CalendarYear.makeup_workdays, _ROW)).scalar_subquery())


def years_from_text(value: str | None) -> tuple[YearSpec, ...]:
    """`LOADED_TEXT` read back: the same tuple `loaded_years` gives, in year order."""
    if not value:
        return ()
    rows = sorted((int(year), holidays, makeup) for year, holidays, makeup
                  in (line.split(_FIELD, 2) for line in value.split(_ROW)))
    return tuple(_spec(*r) for r in rows)


@lru_cache(maxsize=64)
def _spec(year: int, holidays: str, makeup_workdays: str) -> YearSpec:
    return YearSpec(year, frozenset(dt.date.fromisoformat(d) for d in json.loads(holidays)),
                    frozenset(dt.date.fromisoformat(d) for d in json.loads(makeup_workdays)))


def calendar_for(session: Session, settings: Settings | None = None, *,
                 loaded: tuple[YearSpec, ...] | None = None) -> WorkCalendar:
    """The calendar as the database holds it now: read on every call (another process may have
    loaded a year), parsed and built again only when what was read differs (parsing each year's
    dates took ~1 ms of every event, profiled). `loaded`: the years, read already beside
    something else (`years_from_text`)."""
    settings = settings or get_settings()
    return build_calendar(loaded_years(session) if loaded is None else loaded,
                          settings.provisional_calendar_years)


def store_year(session: Session, doc: dict, loaded_by: str) -> YearSpec:
    """Check a notice file and store it (replacing an earlier load of the same year)."""
    spec, source = parse_year_file(doc)
    row = session.get(CalendarYear, spec.year) or CalendarYear(year=spec.year, source=source,
                                                               holidays="", makeup_workdays="",
                                                               loaded_at=dt.datetime.now(dt.timezone.utc),
                                                               loaded_by=loaded_by)
    row.source, row.loaded_by = source, loaded_by
    row.loaded_at = dt.datetime.now(dt.timezone.utc)
    row.holidays = json.dumps(sorted(d.isoformat() for d in spec.holidays))
    row.makeup_workdays = json.dumps(sorted(d.isoformat() for d in spec.makeup_workdays))
    session.add(row)
    return spec


def recompute_open_clocks(engine: Engine, *, actor: str, reason: str, on: dt.date,
                          settings: Settings | None = None, batch: int = 2000,
                          progress=None, data: dict | None = None) -> dict:
    """Recompute every open request in batches; audit each one whose clock changed."""
    settings = settings or get_settings()
    checked = 0
    changes: list[dict] = []
    last_id = 0
    while True:
        with session_scope(engine) as session:
            calendar = calendar_for(session, settings)
            rows = session.exec(select(Request).where(Request.state.in_(OPEN_STATES),
                                                      Request.id > last_id)
                                .order_by(Request.id).limit(batch).with_for_update()).all()
            if not rows:
                break
            by_request: dict[int, list[Consultation]] = defaultdict(list)
            for c in session.exec(select(Consultation).where(
                    Consultation.request_id.in_([r.id for r in rows])).order_by(Consultation.id)):
                by_request[c.request_id].append(c)
            events = []
            for row in rows:
                event = recompute_clock(row, by_request[row.id], calendar, settings, actor=actor,
                                        on=on, reason=reason, data=data)
                if event:
                    events.append(event)
            written = audit.append_many(session, events)
            heads = {w["request_id"]: (w["seq"], w["hash"]) for w in written}
            numbers = {row.id: row.number for row in rows}
            for row in rows:
                if row.id in heads:
                    row.audit_seq, row.audit_head = heads[row.id]
            changes += [{"request_id": e["request_id"], "number": numbers[e["request_id"]],
                         "old_due_on": e["data"]["old_due_on"], "new_due_on": e["data"]["new_due_on"],
                         **({"changed": e["data"]["changed"]} if "changed" in e["data"] else {})}
                        for e in events]
            checked += len(rows)
            last_id = rows[-1].id
            session.commit()
        if progress:
            progress(len(rows))
    return {"checked": checked, "changed": len(changes), "changes": changes}


def calendar_years(session: Session, settings: Settings | None = None) -> list[dict]:
    """Every year the engine can count: official (the package's, or a loaded notice with its
    source) or provisional (no notice yet: Mon–Fri less the statutory holidays)."""
    calendar = calendar_for(session, settings)
    loaded = {r.year: r for r in session.exec(select(CalendarYear))}
    out = []
    for year in range(calendar.first_year, calendar.last_year + 1):
        row = loaded.get(year)
        kind = "provisional" if year in calendar.provisional else "official"
        out.append({"year": year, "kind": kind,
                    "source": (row.source if row else "chinesecalendar" if kind == "official"
                               else "全国年节及纪念日放假办法（暂定）"),
                    "loaded_at": row.loaded_at if row else None,
                    "loaded_by": row.loaded_by if row else None,
                    "holidays": sorted(calendar.years[year].holidays),
                    "makeup_workdays": sorted(calendar.years[year].makeup_workdays)})
    return out


def calendar_changes(session: Session, year: int | None = None,
                     agency_ids: frozenset[int] | None = None,
                     unit_id: int | None = None) -> list[dict]:
    """The due dates that loading a calendar year changed (the `recompute_clock` audit events),
    newest first, for supervisors to re-check those requests (of `agency_ids`; None: all)."""
    query = (select(audit.AuditEvent, Request.number)
             .join(Request, Request.id == audit.AuditEvent.request_id)
             .where(audit.AuditEvent.event == "recompute_clock")
             .order_by(audit.AuditEvent.id.desc()))
    if agency_ids is not None:
        query = query.where(Request.agency_id.in_(sorted(agency_ids)))
    if unit_id is not None:
        query = query.where(Request.unit_id == unit_id)
    out = []
    for ev, number in session.exec(query):
        data = json.loads(ev.data)
        if year is not None and data.get("calendar_year") != year:
            continue
        out.append({"request_id": ev.request_id, "number": number, "on": ev.on,
                    "actor": ev.actor, "calendar_year": data.get("calendar_year"),
                    "old_due_on": data.get("old_due_on"), "new_due_on": data.get("new_due_on"),
                    "reason": data.get("reason"), "changed": data.get("changed", {})})
    return out
