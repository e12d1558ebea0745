"""台账: the requests an officer may see, searched the way staff look for one — by number,
applicant, words of the request, the dates it was received, its stage, its agency, and whether
it is overdue or due soon — newest first, one page at a time, each with its live clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func
from sqlmodel import Session, select

from core.config import Settings
from reports.live import CLOCKED_SQL, due_soon_limit, open_stop, stopped_today
from reports.request_view import request_view
from states.calendar_years import calendar_for
from states.agency import with_names
from states.ledger import consultations_by_request
from states.models import Request

PAGE_SIZE = 50
MAX_PAGE = 10_000
DUE_FILTERS = ("overdue", "due_soon")


@dataclass(frozen=True)
class LedgerQuery:
    number: str | None = None          # 编号: any part of it
    applicant: str | None = None       # 申请人: any part of the name
    keywords: str | None = None        # words of the description, all of them (space-separated)
    received_from: dt.date | None = None
    received_to: dt.date | None = None
    state: str | None = None
    agency_id: int | None = None
    due: str | None = None             # overdue / due_soon (today, by the stored due date)
    page: int = 1


@dataclass
class LedgerPage:
    items: list[dict]
    total: int
    page: int
    pages: int


def search(session: Session, q: LedgerQuery, *, agency_ids: frozenset[int] | None,
           unit_id: int | None, settings: Settings, size: int = PAGE_SIZE) -> LedgerPage:
    """`agency_ids`/`unit_id`: the officer's scope (None: every agency / every unit)."""
    today = settings.today()
    calendar = calendar_for(session, settings)
    conditions = []
    if agency_ids is not None:
        conditions.append(Request.agency_id.in_(sorted(agency_ids)))
    if unit_id is not None:
        conditions.append(Request.unit_id == unit_id)
    if q.agency_id is not None:
        conditions.append(Request.agency_id == q.agency_id)
    if q.number:
        conditions.append(Request.number.contains(q.number, autoescape=True))
    if q.applicant:
        conditions.append(Request.applicant_name.contains(q.applicant, autoescape=True))
    for word in (q.keywords or "").split():
        conditions.append(Request.description.contains(word, autoescape=True))
    if q.received_from:
        conditions.append(Request.received_on >= q.received_from)
    if q.received_to:
        conditions.append(Request.received_on <= q.received_to)
    if q.state:
        conditions.append(Request.state == q.state)
    if q.due:
        clocked = CLOCKED_SQL  # literal, so the planners use the partial due-date indexes
        if q.due == "overdue":
            conditions.append(and_(clocked, Request.due_on < today))
        else:
            conditions.append(and_(clocked, Request.due_on >= today, Request.due_on < due_soon_limit(
                today, calendar, settings.due_soon_days)))
            # As the dashboard counts them: a clock that stands still today is not running out.
            stopped = stopped_today(session, select(Request).where(and_(True, *conditions),
                                                                   open_stop()),
                                    today, calendar, settings)
            if stopped:
                conditions.append(Request.id.not_in([r.id for r in stopped]))
    where = and_(True, *conditions)
    total = session.exec(select(func.count()).select_from(Request).where(where)).one()
    pages = max(1, -(-total // size))
    page = min(max(1, q.page), pages)
    rows = with_names(session, select(Request).where(where)
                      .order_by(Request.received_on.desc(), Request.id.desc())
                      .offset((page - 1) * size).limit(size))
    stops = consultations_by_request(session, [r.id for r in rows])
    items = []
    for r in rows:
        view = request_view(session, r, settings, full=False, calendar=calendar,
                            consultations=stops.get(r.id, []))
        view.update(applicant_name=r.applicant_name, applicant_kind=r.applicant_kind,
                    description=r.description, outcome=r.outcome, replied_on=r.replied_on)
        items.append(view)
    return LedgerPage(items, total, page, pages)


EXPORT_LIMIT = 100_000
EXPORT_COLUMNS = ("编号", "收到日期", "申请方式", "申请人", "申请人类型", "申请内容", "办理阶段", "承办部门",
                  "承办人", "答复期限", "期限暂定", "剩余工作日", "超期", "答复日期", "处理结果")


def export_rows(session: Session, q: LedgerQuery, *, agency_ids: frozenset[int] | None,
                unit_id: int | None, settings: Settings, labels: dict[str, dict[str, str]]):
    """Every request the search finds (at most EXPORT_LIMIT), newest first, as the 台账's rows in
    Chinese — `labels` names the codes (stage, channel, applicant kind, outcome)."""
    page = 1
    while True:
        found = search(session, LedgerQuery(**{**q.__dict__, "page": page}),
                       agency_ids=agency_ids, unit_id=unit_id, settings=settings, size=1000)
        for v in found.items:
            yield (v["number"], v["received_on"], labels["channel"].get(v["channel"], v["channel"]),
                   v["applicant_name"], labels["applicant_kind"].get(v["applicant_kind"], v["applicant_kind"]),
                   v["description"], labels["state"].get(v["state"], v["state"]), v["department"] or "",
                   v["assignee"] or "", v["due_on"], "是" if v["due_on_provisional"] else "",
                   v["days_left"], "是" if v["overdue"] else "", v["replied_on"],
                   labels["outcome"].get(v["outcome"], v["outcome"] or ""))
        if page >= found.pages or page * 1000 >= EXPORT_LIMIT:
            return
        page += 1


def to_xlsx(rows, *, title: str) -> bytes:
    """The rows as an Excel workbook (one sheet, a header row, dates as dates)."""
    import io

    from openpyxl import Workbook  # only an export needs it (memory of the idle service)
    from openpyxl.cell import WriteOnlyCell

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31])
    sheet.append(list(EXPORT_COLUMNS))

    def cell(value):
        # What applicants and staff typed stays text: "=HYPERLINK(…)" as a name is not a formula.
        if not isinstance(value, str):
            return value
        text = WriteOnlyCell(sheet, value)
        text.data_type = "s"
        return text

    for row in rows:
        sheet.append([cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
