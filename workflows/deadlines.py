"""Due soon and overdue: flag requests (audited) and build the reminder digests (到期提醒).

A request whose clock runs today (received, registered, reviewing, decided but not yet replied,
or consulting / awaiting a fee once every open stop has passed its lapse date, whether or not
anyone recorded the lapse) is `due_soon` with `due_soon_days` working days left or fewer, and
`overdue` on every day after its due date. A clock stopped today carries no flag. Digests are one per
department and one per assignee per day; each is e-mailed to the addresses configured for it
when SMTP is set up. Running again for the same day changes nothing and sends nothing twice.

Fast at 100,000 open requests (benchmarks/sweep.py): the stored `due_on` (the one door keeps it
as the clock computes it, and a loaded calendar year recomputes it) says in SQL, from the
indexes, which requests may need a flag changed today — those whose flag disagrees with their
due date, and flagged ones with an open stop, whose clock may stand still today
(reports/live.py reasons the same way). Only those few are read, their consultations in one
query, and each is checked on its live clock; every other request's flag already agrees with
it. A second run for the same day therefore reads next to nothing, and a request staff changed
in between is found again by its new due date or state. Changed flags are written a chunk per
transaction, each row locked and checked again (read afresh if staff moved it meanwhile).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field

from sqlalchemy import Engine, and_, exists, not_, or_, true
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from core.config import Settings, get_settings
from core.db import read_only, session_scope
from core.logging import get_logger
from reports.live import CLOCKED_SQL
from states.agency import agency_name
from states.workdays import CalendarYearMissing, WorkCalendar
from states.calendar_years import calendar_for
from states.clock import compute_clock
from states.ledger import consultations_by_request, ledger_of
from states.machine import CLOCKED_STATES
from states.models import Consultation, Request
from states.service import set_deadline_flags
from workflows.mail import send_mail, smtp_configured
from workflows.models import Digest

ACTOR = "system:sweep_deadlines"
WATCHED = CLOCKED_STATES
CHUNK = 500  # flags written per transaction
log = get_logger("workflows.deadlines")


@dataclass
class FlagResult:
    due_soon: list[str] = field(default_factory=list)
    overdue: list[str] = field(default_factory=list)
    cleared: list[str] = field(default_factory=list)

    @property
    def changed(self) -> int:
        return len(self.due_soon) + len(self.overdue) + len(self.cleared)


def _flag_for(row: Request, consultations: list[Consultation], today: dt.date,
              calendar: WorkCalendar, settings: Settings) -> tuple[str | None, int | None, bool]:
    """(flag, working days left, provisional) as the live clock has them today."""
    if row.state not in WATCHED or row.due_on is None:
        return None, None, False
    clock = compute_clock(ledger_of(row, consultations, calendar, settings), calendar)
    left = clock.days_left(today, calendar)
    if clock.stopped_on(today) or left is None:
        return None, None, False
    if clock.overdue(today):
        return "overdue", left, clock.provisional
    return ("due_soon" if left <= settings.due_soon_days else None), left, clock.provisional


def _due_soon_before(today: dt.date, calendar: WorkCalendar, settings: Settings) -> dt.date | None:
    """Due before this day: at most `due_soon_days` working days left today (None: the calendar
    does not reach that far, so every watched request is a candidate)."""
    try:
        return calendar.workday_after(today, settings.due_soon_days + 1)
    except CalendarYearMissing:
        return None


def _may_stop():
    """A stop that may hold the clock today: an open consultation or an unpaid fee."""
    open_one = aliased(Consultation)  # not the outer query's consultation, when it has one
    return or_(Request.state == "awaiting_fee",
               and_(Request.fee_notified_on.is_not(None), Request.fee_paid_on.is_(None)),
               exists().where(open_one.request_id == Request.id, open_one.closed_on.is_(None)))


# Read as plain rows (the clock needs only attributes): a mapped object costs ~40 µs to build,
# and the first sweep of a day reads thousands.
COLUMNS = tuple(c for c in Request.__table__.c if c.name != "description")


def _rows(session: Session, *where, order_by=(Request.id,)) -> list:
    return session.execute(select(*COLUMNS).where(*where).order_by(*order_by)).all()


def _consultations_where(session: Session, where) -> dict[int, list[Consultation]]:
    """The consultations of the requests `where` selects, in one query."""
    found: dict[int, list[Consultation]] = {}
    for c in session.exec(select(Consultation).join(Request, Request.id == Consultation.request_id)
                          .where(where).order_by(Consultation.id)):
        found.setdefault(c.request_id, []).append(c)
    return found


def candidates(session: Session, today: dt.date, calendar: WorkCalendar,
               settings: Settings) -> tuple[list, dict[int, list[Consultation]]]:
    """The requests whose flag today may differ from the one they carry, and their
    consultations; every other request's flag agrees with its live clock. By the stored due
    date: a request not stopped today is overdue after it and due soon within the window; one
    with an open stop may stand still."""
    before = _due_soon_before(today, calendar, settings)
    predicted_overdue = Request.due_on < today
    predicted_soon = (and_(Request.due_on >= today, Request.due_on < before) if before is not None
                      else Request.due_on >= today)  # the calendar ends: check them all
    # Watched, due by the window, not flagged as its due date says.
    to_flag = (CLOCKED_SQL, or_(
        and_(predicted_overdue, or_(Request.deadline_flag.is_(None), Request.deadline_flag != "overdue")),
        and_(predicted_soon, or_(Request.deadline_flag.is_(None), Request.deadline_flag != "due_soon"))))
    # Flagged, and its due date says otherwise — or it may be stopped today.
    agrees = and_(CLOCKED_SQL, Request.due_on.is_not(None), or_(
        and_(Request.deadline_flag == "overdue", predicted_overdue),
        and_(Request.deadline_flag == "due_soon", predicted_soon)))
    to_check = (Request.deadline_flag.is_not(None),
                or_(not_(agrees), _may_stop()) if before is not None else true())
    rows = {r.id: r for r in _rows(session, *to_flag)}
    rows.update((r.id, r) for r in _rows(session, *to_check))
    consultations = _consultations_where(session, or_(and_(*to_flag), and_(*to_check))) if rows else {}
    return [rows[k] for k in sorted(rows)], consultations


def _live_flags(session: Session, rows: list, today: dt.date, calendar: WorkCalendar,
                settings: Settings, consultations: dict[int, list[Consultation]] | None = None
                ) -> dict[int, tuple[str | None, int | None, bool]]:
    """Each row's flag by its live clock; the consultations given, or read in one query a
    thousand rows."""
    flags = {}
    for i in range(0, len(rows), 1000):
        page = rows[i:i + 1000]
        of = (consultations if consultations is not None
              else consultations_by_request(session, [r.id for r in page]))
        for row in page:
            try:
                flags[row.id] = _flag_for(row, of.get(row.id, []), today, calendar, settings)
            except CalendarYearMissing as missing:
                log.error("calendar_year_missing", request_number=row.number, problem=str(missing))
    return flags


def _write_flags(engine: Engine, changes: dict[int, tuple[int, str | None, int | None]],
                 today: dt.date, settings: Settings, result: FlagResult) -> None:
    """Set the flags of `changes` ({request id: (version read, flag, days left)}), CHUNK per
    transaction: each row locked and its flag checked again — by its live clock if the request
    moved since it was read — and each change recorded as a `flag_deadline` event."""
    ids = sorted(changes)
    for i in range(0, len(ids), CHUNK):
        chunk = ids[i:i + CHUNK]
        with session_scope(engine) as session:
            rows = session.exec(select(Request).where(Request.id.in_(chunk)).order_by(Request.id)
                                .with_for_update().execution_options(populate_existing=True)).all()
            moved = [r for r in rows if r.version != changes[r.id][0]]
            fresh = (_live_flags(session, moved, today, calendar_for(session, settings), settings)
                     if moved else {})
            todo = []
            for row in rows:
                if row.version == changes[row.id][0]:
                    flag, left = changes[row.id][1:]
                elif row.id in fresh:
                    flag, left, _ = fresh[row.id]
                else:
                    continue  # moved, and its clock cannot be counted now: left as it is
                todo.append((row, flag, {"due_on": row.due_on, "days_left": left}))
            done = [(row.deadline_flag, row.number)
                    for row in set_deadline_flags(session, todo, ACTOR, on=today)]
            session.commit()
        for flag, number in done:
            (getattr(result, flag) if flag else result.cleared).append(number)


def flag_deadlines(engine: Engine, today: dt.date, settings: Settings | None = None) -> FlagResult:
    """Flag the requests due soon or overdue today and clear the flags that no longer hold."""
    settings = settings or get_settings()
    result = FlagResult()
    with read_only(engine) as conn, Session(bind=conn) as session:
        calendar = calendar_for(session, settings)
        rows, consultations = candidates(session, today, calendar, settings)
        flags = _live_flags(session, rows, today, calendar, settings, consultations)
    changes = {r.id: (r.version, flags[r.id][0], flags[r.id][1]) for r in rows
               if r.id in flags and flags[r.id][0] != r.deadline_flag}
    _write_flags(engine, changes, today, settings, result)
    log.info("flag_deadlines_done", today=today.isoformat(), checked=len(rows),
             due_soon=len(result.due_soon), overdue=len(result.overdue), cleared=len(result.cleared))
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


def _scopes(agency_id: int, department: str | None, assignee: str | None) -> list[tuple]:
    scopes = [(agency_id, "department", department or "未分配部门")]
    if assignee:
        scopes.append((agency_id, "assignee", assignee))
    return scopes


def build_digests(engine: Engine, today: dt.date, settings: Settings | None = None) -> list[Digest]:
    """Store today's digests: per agency, one per department and per assignee with flagged
    requests. A scope whose digest today exists is left alone; when every one exists (the same
    day again) only the scopes are read."""
    settings = settings or get_settings()
    with read_only(engine) as conn, Session(bind=conn) as session:
        flagged_in = (Request.deadline_flag.is_not(None), Request.state.in_(WATCHED))
        existing = {(d.agency_id, d.scope_kind, d.scope) for d in session.exec(
            select(Digest).where(Digest.day == today))}
        scopes = {scope for agency_id, department, assignee in session.exec(
            select(Request.agency_id, Request.department, Request.assignee)
            .where(*flagged_in).distinct())
            for scope in _scopes(agency_id, department, assignee)}
        if scopes <= existing:
            return []
        calendar = calendar_for(session, settings)
        flagged = _rows(session, *flagged_in, order_by=(Request.due_on, Request.id))
        flags = _live_flags(session, flagged, today, calendar, settings,
                            _consultations_where(session, and_(*flagged_in)))
        groups: dict[tuple[int, str, str], list[dict]] = {}
        for row in flagged:
            flag, left, provisional = flags.get(row.id, (None, None, False))
            if flag is None:
                continue
            item = {"number": row.number, "request_id": row.id, "state": row.state,
                    "due_on": row.due_on.isoformat(), "days_left": left, "flag": flag,
                    "provisional": provisional,
                    "department": row.department, "assignee": row.assignee}
            for scope in _scopes(row.agency_id, row.department, row.assignee):
                if scope not in existing:
                    groups.setdefault(scope, []).append(item)
        names = {agency_id: agency_name(session, agency_id) for agency_id, _, _ in groups}
    made: list[Digest] = []
    with session_scope(engine) as session:
        # Made by another run meanwhile (two sweeps at once): theirs stands.
        existing = {(d.agency_id, d.scope_kind, d.scope) for d in session.exec(
            select(Digest).where(Digest.day == today))}
        now = dt.datetime.now(dt.timezone.utc)
        for (agency_id, kind, scope), items in sorted(groups.items()):
            if (agency_id, kind, scope) in existing:
                continue  # today's digest for this scope was already made
            digest = Digest(day=today, agency_id=agency_id, scope_kind=kind, scope=scope,
                            overdue=sum(i["flag"] == "overdue" for i in items),
                            due_soon=sum(i["flag"] == "due_soon" for i in items),
                            items=json.dumps(items, ensure_ascii=False),
                            body=digest_body(today, kind, scope, items, names[agency_id]),
                            created_at=now)
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
