"""The agency's working-day calendar: the package's years plus notices loaded into the database.

Loading a year recomputes every open request's clock through the same lock-and-audit path as
the one door, one audit event per request whose due date changed (old, new, why).
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict

from sqlalchemy import Engine

import audit
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import session_scope
from states.calendar import WorkCalendar, YearSpec, build_calendar, parse_year_file
from states.models import CalendarYear, Consultation, Request

OPEN_STATES = ("received", "registered", "reviewing", "awaiting_supplement", "consulting",
               "awaiting_fee")


def loaded_years(session: Session) -> tuple[YearSpec, ...]:
    rows = session.exec(select(CalendarYear).order_by(CalendarYear.year)).all()
    return tuple(YearSpec(r.year, frozenset(dt.date.fromisoformat(d) for d in json.loads(r.holidays)),
                          frozenset(dt.date.fromisoformat(d) for d in json.loads(r.makeup_workdays)))
                 for r in rows)


def calendar_for(session: Session, settings: Settings | None = None) -> WorkCalendar:
    settings = settings or get_settings()
    return build_calendar(loaded_years(session), settings.provisional_calendar_years)


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
                          progress=None) -> dict[str, int]:
    """Recompute every open request in batches; audit each one whose clock changed."""
    from states.service import ledger_of, recompute_clock  # the one door's own clock step

    settings = settings or get_settings()
    checked = changed = 0
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
                ledger = ledger_of(row, by_request[row.id], calendar, settings)
                event = recompute_clock(row, ledger, calendar, actor=actor, on=on, reason=reason)
                if event:
                    events.append(event)
            written = audit.append_many(session, events)
            heads = {w["request_id"]: (w["seq"], w["hash"]) for w in written}
            for row in rows:
                if row.id in heads:
                    row.audit_seq, row.audit_head = heads[row.id]
            changed += len(written)
            checked += len(rows)
            last_id = rows[-1].id
        if progress:
            progress(len(rows))
    return {"checked": checked, "changed": changed}
