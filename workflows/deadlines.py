"""Due soon and overdue: flag requests (audited) and build the reminder digests (到期提醒).

A request whose clock runs today (received, registered, reviewing, decided but not yet replied,
or consulting / awaiting a fee once every open stop has passed its lapse date, whether or not
anyone recorded the lapse) is `due_soon` with `due_soon_days` working days left or fewer, and
`overdue` on every day after its due date. A clock stopped today carries no flag. Digests are one per
department and one per assignee per day; each is e-mailed to the addresses configured for it
when SMTP is set up. Running again for the same day changes nothing and sends nothing twice.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlmodel import select

from core.config import Settings, get_settings
from core.db import session_scope
from core.logging import get_logger
from states.agency import agency_name
from states.workdays import CalendarYearMissing
from states.calendar_years import calendar_for
from states.ledger import clock_for
from states.machine import CLOCKED_STATES
from states.models import Request
from states.service import set_deadline_flag
from workflows.mail import send_mail, smtp_configured
from workflows.models import Digest

ACTOR = "system:sweep_deadlines"
WATCHED = CLOCKED_STATES
log = get_logger("workflows.deadlines")


@dataclass
class FlagResult:
    due_soon: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.due_soon) + len(self.overdue) + len(self.cleared)


def _flag_for(session, row: Request, today: dt.date, calendar,
              settings: Settings) -> tuple[str | None, int | None, bool]:
    """(flag, working days left, provisional) as the live clock has them today."""
    if row.state not in WATCHED or row.due_on is None:
        return None, None, False
    clock = clock_for(session, row, calendar, settings)
    left = clock.days_left(today, calendar)
    if clock.stopped_on(today) or left is None:
        return None, None, False
    if clock.overdue(today):
        return "overdue", left, clock.provisional
    return ("due_soon" if left <= settings.due_soon_days else None), left, clock.provisional


def flag_deadlines(engine: Engine, today: dt.date, settings: Settings | None = None) -> FlagResult:
    settings = settings or get_settings()
    result = FlagResult()
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)
        rows = session.exec(select(Request).where(
            (Request.state.in_(WATCHED) & Request.due_on.is_not(None))
            | Request.deadline_flag.is_not(None)).order_by(Request.id)).all()
        flags = {}
        for row in rows:
            try:
                flags[row.id] = _flag_for(session, row, today, calendar, settings)[:2]
            except CalendarYearMissing as missing:
                log.error("calendar_year_missing", request_number=row.number, problem=str(missing))
    for row in rows:
        if row.id not in flags:
            continue
        flag, left = flags[row.id]
        if flag == row.deadline_flag:
            continue
        with session_scope(engine) as session:
            changed = set_deadline_flag(session, row.id, flag, ACTOR, on=today,
                                        data={"due_on": row.due_on, "days_left": left})
            session.commit()
        if changed:
            (getattr(result, flag) if flag else result.cleared).append(row.number)
    log.info("flag_deadlines_done", today=today.isoformat(), due_soon=len(result.due_soon),
             overdue=len(result.overdue), cleared=len(result.cleared))
    return result


def _line(item: dict) -> str:
    due = dt.date.fromisoformat(item["due_on"])
    when = f"{due.year}年{due.month}月{due.day}日"
    if item.get("provisional"):
        when += "（按暂定日历计算）"
    if item["flag"] == "overdue":
        status = f"应于{when}前答复，已逾期{-item['days_left']}个工作日"
    else:
        status = f"应于{when}前答复，剩余{item['days_left']}个工作日"
    who = f"经办人：{item['assignee']}" if item["assignee"] else "未分配经办人"
    return f"  {item['number']}  {status}（{item['department'] or '未分配部门'}，{who}）"


def digest_body(day: dt.date, scope_kind: str, scope: str, items: list[dict], agency: str) -> str:
    label = {"department": "部门", "assignee": "经办人"}[scope_kind]
    overdue = [i for i in items if i["flag"] == "overdue"]
    soon = [i for i in items if i["flag"] == "due_soon"]
    lines = [f"政府信息公开申请到期提醒（{agency}，{day.year}年{day.month}月{day.day}日，"
             f"{label}：{scope}）", ""]
    lines.append(f"已逾期 {len(overdue)} 件：")
    lines += [_line(i) for i in overdue] or ["  无"]
    lines.append(f"即将到期 {len(soon)} 件：")
    lines += [_line(i) for i in soon] or ["  无"]
    return "\n".join(lines) + "\n"


def build_digests(engine: Engine, today: dt.date, settings: Settings | None = None) -> list[Digest]:
    """Store today's digests: per agency, one per department and per assignee with flagged
    requests."""
    settings = settings or get_settings()
    made: list[Digest] = []
    with session_scope(engine) as session:
        calendar = calendar_for(session, settings)
        flagged = session.exec(select(Request).where(Request.deadline_flag.is_not(None),
                                                     Request.state.in_(WATCHED))
                               .order_by(Request.due_on, Request.id)).all()
        groups: dict[tuple[int, str, str], list[dict]] = {}
        for row in flagged:
            flag, left, provisional = _flag_for(session, row, today, calendar, settings)
            if flag is None:
                continue
            item = {"number": row.number, "request_id": row.id, "state": row.state,
                    "due_on": row.due_on.isoformat(), "days_left": left, "flag": flag,
                    "provisional": provisional,
                    "department": row.department, "assignee": row.assignee}
            agency = row.agency_id
            groups.setdefault((agency, "department", row.department or "未分配部门"), []).append(item)
            if row.assignee:
                groups.setdefault((agency, "assignee", row.assignee), []).append(item)
        existing = {(d.agency_id, d.scope_kind, d.scope) for d in session.exec(
            select(Digest).where(Digest.day == today))}
        now = dt.datetime.now(dt.timezone.utc)
        for (agency_id, kind, scope), items in sorted(groups.items()):
            if (agency_id, kind, scope) in existing:
                continue  # today's digest for this scope was already made
            name = agency_name(session, agency_id)
            digest = Digest(day=today, agency_id=agency_id, scope_kind=kind, scope=scope,
                            overdue=sum(i["flag"] == "overdue" for i in items),
                            due_soon=sum(i["flag"] == "due_soon" for i in items),
                            items=json.dumps(items, ensure_ascii=False),
                            body=digest_body(today, kind, scope, items, name), created_at=now)
            session.add(digest)
            made.append(digest)
        session.commit()
    return made


def mail_digests(engine: Engine, today: dt.date, settings: Settings | None = None) -> list[int]:
    """E-mail today's digests not yet sent to their configured recipients; returns digest ids sent."""
    settings = settings or get_settings()
    if not smtp_configured(settings):
        return []
    sent: list[int] = []
    with session_scope(engine) as session:
        pending = session.exec(select(Digest).where(Digest.day == today,
                                                    Digest.emailed_at.is_(None))).all()
    for digest in pending:
        to = settings.digest_recipients.get(f"{digest.scope_kind}:{digest.scope}")
        if not to:
            continue
        subject = f"政府信息公开申请到期提醒：逾期{digest.overdue}件，即将到期{digest.due_soon}件（{digest.scope}）"
        try:
            send_mail(settings, to=to, subject=subject, body=digest.body,
                      message_id=f"<digest-{digest.id}@gongkai>")
            values = {"emailed_at": dt.datetime.now(dt.timezone.utc),
                      "email_to": ", ".join(to), "email_error": None}
            sent.append(digest.id)
        except OSError as exc:  # smtplib errors are OSErrors: keep it for the next run
            values = {"email_error": f"{type(exc).__name__}: {exc}"}
            log.warning("digest_mail_failed", digest_id=digest.id, problem=str(exc))
        with session_scope(engine) as session:
            row = session.get(Digest, digest.id)
            for key, value in values.items():
                setattr(row, key, value)
            session.add(row)
            session.commit()
    return sent
