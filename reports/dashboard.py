"""What the supervisor's dashboard (督办) shows beside the overdue and due-soon lists: open
requests by stage and by department, this year's decisions by outcome group, on-time rates, and
the approvals waiting for the head (延期 asked for; replies whose agency needs 负责人签批)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func
from sqlmodel import Session, select

from reports.live import on_time  # the same count as GET /supervision/on-time
from states.agency import signoff_groups
from states.codes import OUTCOMES
from states.machine import OPEN_STATES
from states.models import Request


def _scoped(query, agency_ids: frozenset[int] | None):
    return query if agency_ids is None else query.where(Request.agency_id.in_(sorted(agency_ids)))


def open_by_stage(session: Session, agency_ids: frozenset[int] | None) -> dict[str, int]:
    rows = session.exec(_scoped(select(Request.state, func.count()), agency_ids)
                        .where(Request.state.in_(OPEN_STATES)).group_by(Request.state)).all()
    found = dict(rows)
    return {state: found.get(state, 0) for state in OPEN_STATES}


def open_by_department(session: Session, agency_ids: frozenset[int] | None,
                       limit: int = 10) -> list[tuple[str, int]]:
    department = func.coalesce(Request.department, "")
    rows = session.exec(_scoped(select(department, func.count()), agency_ids)
                        .where(Request.state.in_(OPEN_STATES)).group_by(department)
                        .order_by(func.count().desc(), department).limit(limit)).all()
    return [(name or "（未分办）", n) for name, n in rows]


def decided_by_group(session: Session, year: int, agency_ids: frozenset[int] | None) -> dict[str, int]:
    """Decisions dated in `year` by the annual report's outcome group (予以公开, 部分公开, …)."""
    rows = session.exec(_scoped(select(Request.outcome, func.count()), agency_ids)
                        .where(Request.outcome.is_not(None),
                               Request.decided_on >= dt.date(year, 1, 1),
                               Request.decided_on <= dt.date(year, 12, 31))
                        .group_by(Request.outcome)).all()
    out: dict[str, int] = {}
    for outcome, n in rows:
        group = OUTCOMES[outcome].report_group
        out[group] = out.get(group, 0) + n
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def approvals(session: Session, agency_ids: frozenset[int] | None, limit: int = 100) -> list[dict]:
    """The head's inbox: extensions asked for, and decided replies their agency has the head
    sign before they are sent (oldest first)."""
    asked = session.exec(_scoped(select(Request), agency_ids)
                         .where(Request.extension_requested_days.is_not(None))
                         .order_by(Request.extension_requested_on, Request.id).limit(limit)).all()
    out = [{"kind": "approve_extension", "row": r, "since": r.extension_requested_on,
            "what": f"延期{r.extension_requested_days}个工作日：{r.extension_request_reason}"}
           for r in asked]
    decided = session.exec(_scoped(select(Request), agency_ids)
                           .where(Request.state == "decided", Request.reply_approved_by.is_(None))
                           .order_by(Request.decided_on, Request.id).limit(limit)).all()
    for r in decided:
        head, _ = signoff_groups(session, r)
        if r.outcome and OUTCOMES[r.outcome].report_group in head:
            out.append({"kind": "approve_reply", "row": r, "since": r.decided_on,
                        "what": f"答复待签批：{OUTCOMES[r.outcome].label}"})
    return out


def on_time_by_month(session: Session, today: dt.date,
                     agency_ids: frozenset[int] | None) -> list[dict]:
    """This year's replies month by month: how many, how many by their due date, the rate."""
    out = []
    for month in range(1, today.month + 1):
        start = dt.date(today.year, month, 1)
        end = min(today, (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1))
        per_agency = on_time(session, start, end, agency_ids).values()
        replied = sum(a["replied"] for a in per_agency)
        in_time = sum(a["in_time"] for a in per_agency)
        out.append({"month": month, "replied": replied, "in_time": in_time,
                    "rate": in_time / replied if replied else None})
    return out
