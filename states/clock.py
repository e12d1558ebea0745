"""The statutory clock (Art 30, 32–34 of the 条例), derived from a request's ledger.

Nothing here is stored by hand: `compute_clock` takes the facts (receipt, 补正, stops,
extension) and returns the due date with an explanation a legal reviewer can check.
Counting conventions are those of ogi-rules.md ("Engine conventions for counting").
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from states.workdays import CalendarYearMissing, WorkCalendar

REPLY_DAYS = 20           # Art 33
SUPPLEMENT_NOTICE_DAYS = 7  # Art 30
CONSULTATION_DAYS = 15    # Art 32, 34
FEE_PAYMENT_DAYS = 20     # 国办函〔2020〕109号
MAX_EXTENSION_DAYS = 20   # Art 33


@dataclass(frozen=True)
class Stop:
    """A period that does not count (Art 33 ¶3): (start, end] in working days, never past `bound`."""
    kind: str               # third_party / agency / fee
    label_zh: str
    start: dt.date
    end: dt.date | None     # None while still open
    bound: dt.date | None   # the latest it can end (lapse date); None if its year is not loaded
    presumed: bool = False  # the bound is counted from a presumed, not a recorded, service date

    @property
    def effective_end(self) -> dt.date:
        """An answer after the lapse stops the clock only until the lapse (ogi-rules.md)."""
        if self.end is not None:
            return min(self.end, self.bound) if self.bound is not None else self.end
        if self.bound is None:  # an open stop whose end cannot be counted yet
            raise CalendarYearMissing(self.start.year + 1)
        return self.bound


@dataclass(frozen=True)
class Ledger:
    received_on: dt.date
    supplement_requested_on: dt.date | None = None
    supplement_received_on: dt.date | None = None
    stops: tuple[Stop, ...] = ()
    extension_days: int = 0
    extension_approved_by: str | None = None
    replied_on: dt.date | None = None
    deferred_to: dt.date | None = None  # Art 35: the reasonable later date set for the reply
    closed: bool = False    # decided without a reply period left to watch (withdrawn, archived)


@dataclass
class Clock:
    start: dt.date
    due_on: dt.date | None
    stopped: bool = False          # an open stop holds the clock (until `stop_bound` at most)
    stopped_since: dt.date | None = None
    stop_bound: dt.date | None = None  # the day the open stops lapse: the clock runs again after it
    stopped_workdays: int = 0
    supplement_notice_due: dt.date | None = None
    frozen_days_left: int | None = None
    provisional: bool = False   # counted partly on a provisional calendar year
    presumed: bool = False      # the due date rests on a presumed (unrecorded) service date
    error: str | None = None
    explanation_zh: list[str] = field(default_factory=list)
    explanation_en: list[str] = field(default_factory=list)

    def stopped_on(self, today: dt.date) -> bool:
        """Whether the clock stands still on `today`: an open stop past its lapse date no longer
        holds it, whether or not anyone has recorded the lapse."""
        return self.stopped and (self.stop_bound is None or today <= self.stop_bound)

    def overdue(self, today: dt.date) -> bool:
        return self.due_on is not None and today > self.due_on and not self.stopped_on(today)

    def days_left(self, today: dt.date, calendar: WorkCalendar) -> int | None:
        """Working days to the due date, frozen while stopped; once overdue a negative count
        of the working days late, counting the one in progress, so that on a weekend or
        holiday after the due date it is already -1 and never disagrees with `overdue`."""
        if self.due_on is None:
            return None
        if self.stopped_on(today):
            return self.frozen_days_left
        try:
            if today <= self.due_on:
                return calendar.workdays_between(today, self.due_on)
            next_workday = calendar.workday_after(today - dt.timedelta(days=1), 1)
            return -calendar.workdays_between(self.due_on, next_workday)
        except CalendarYearMissing:
            return None


def merge_stops(stops: list[tuple[dt.date, dt.date]]) -> list[tuple[dt.date, dt.date]]:
    """Union of (start, end] periods, so overlapping consultations stop the clock once."""
    merged: list[list[dt.date]] = []
    for start, end in sorted(stops):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def compute_clock(ledger: Ledger, calendar: WorkCalendar) -> Clock:
    restarted = ledger.supplement_received_on is not None
    start = ledger.supplement_received_on if restarted else ledger.received_on
    clock = Clock(start=start, due_on=None)
    try:
        if ledger.supplement_requested_on is None and ledger.replied_on is None and not ledger.closed:
            clock.supplement_notice_due = calendar.workday_after(
                ledger.received_on, SUPPLEMENT_NOTICE_DAYS)
        if ledger.supplement_requested_on is not None and not restarted:
            clock.stopped = True
            clock.stopped_since = ledger.supplement_requested_on
            clock.explanation_zh.append(
                f"{ledger.supplement_requested_on.isoformat()}已发出补正告知，答复期限自收到补正之日起重新计算")
            clock.explanation_en.append(
                f"supplement requested on {ledger.supplement_requested_on.isoformat()}; the reply "
                "period starts afresh when the supplement arrives")
            return clock

        if restarted:
            clock.explanation_zh.append(
                f"自{start.isoformat()}（收到补正材料）起重新计算{REPLY_DAYS}个工作日")
            clock.explanation_en.append(
                f"{REPLY_DAYS} working days afresh from {start.isoformat()} (supplement received)")
        else:
            clock.explanation_zh.append(f"自{start.isoformat()}（收到申请）起算{REPLY_DAYS}个工作日")
            clock.explanation_en.append(
                f"{REPLY_DAYS} working days from {start.isoformat()} (request received)")

        # A stop holds the clock only if it began while the period still ran: a consultation
        # opened (or a fee notice sent) after the due date excuses no lateness.
        stops, late = [], []
        for s in sorted(ledger.stops, key=lambda s: s.start):
            held = sum(calendar.workdays_between(a, b) for a, b in merge_stops(
                [(max(x.start, start), x.effective_end) for x in stops]))
            due_then = calendar.workday_after(start, REPLY_DAYS + held + ledger.extension_days)
            if ledger.deferred_to is not None:
                due_then = max(due_then, ledger.deferred_to)
            (late if s.start > due_then else stops).append(s)
            if s.start > due_then:
                clock.explanation_zh.append(
                    f"{s.start.isoformat()}{s.label_zh}时答复期限已于{due_then.isoformat()}届满，不予扣除")
                clock.explanation_en.append(
                    f"the stop from {s.start.isoformat()} began after the period ran out on "
                    f"{due_then.isoformat()}: not counted")
        # Only the part of a stop after the clock's start can hold it back.
        periods = [(max(s.start, start), s.effective_end) for s in stops]
        merged = merge_stops(periods)
        stopped = sum(calendar.workdays_between(a, b) for a, b in merged)
        clock.stopped_workdays = stopped
        for s in stops:
            end = s.effective_end
            days = calendar.workdays_between(max(s.start, start), end)
            if s.end is None:
                state_zh, state_en = "（尚未结束，按届满日计）", " (still open, counted to its lapse date)"
            elif s.end > end:
                state_zh = f"（{s.end.isoformat()}答复，晚于届满日，只计至届满日）"
                state_en = f" (answered {s.end.isoformat()}, after its lapse: counted to the lapse)"
            else:
                state_zh = state_en = ""
            if s.presumed and (s.end is None or s.end > end):
                clock.presumed = True  # the due date rests on a presumed service date
                state_zh += "（送达日未登记，届满日按推定送达日计算）"
                state_en += " (service date not recorded: lapse counted from a presumed service date)"
            clock.explanation_zh.append(
                f"{s.start.isoformat()}至{end.isoformat()}{s.label_zh}{state_zh}，期间{days}个工作日不计入")
            clock.explanation_en.append(
                f"stopped {s.start.isoformat()}→{end.isoformat()} for {s.kind} consultation"
                f"{state_en}, {days} working days" if s.kind != "fee" else
                f"stopped {s.start.isoformat()}→{end.isoformat()} awaiting the fee{state_en}, "
                f"{days} working days")
        if len(merged) < len([p for p in periods if p[1] > p[0]]):
            clock.explanation_zh.append(f"重叠期间只计一次，合计{stopped}个工作日不计入")
            clock.explanation_en.append(f"overlapping stops count once: {stopped} working days in all")

        if ledger.extension_days:
            clock.explanation_zh.append(
                f"经{ledger.extension_approved_by}同意延长{ledger.extension_days}个工作日")
            clock.explanation_en.append(
                f"extended {ledger.extension_days} working days on approval of "
                f"{ledger.extension_approved_by}")

        # The due date is a working day, so adding the stop and the extension to the count is
        # the same as moving the due date on by them one after the other.
        clock.due_on = calendar.workday_after(start, REPLY_DAYS + stopped + ledger.extension_days)
        if ledger.deferred_to is not None and ledger.deferred_to > clock.due_on:
            clock.due_on = ledger.deferred_to
            clock.explanation_zh.append(
                f"申请人说明的理由合理，依照条例第三十五条确定延迟答复期限至{ledger.deferred_to.isoformat()}")
            clock.explanation_en.append(
                f"Art 35: reasons accepted, reply deferred to {ledger.deferred_to.isoformat()}")
        open_stops = [s for s in stops if s.end is None]
        if open_stops:
            since = min(s.start for s in open_stops)
            bound = max(s.bound for s in open_stops)
            clock.stopped = True
            clock.stopped_since = since
            clock.stop_bound = bound
            clock.frozen_days_left = (calendar.workdays_between(since, clock.due_on)
                                      - calendar.workdays_between(since, bound))
        # A deferred date (Art 35) is fixed by the agency, not counted: never provisional.
        clock.provisional = (ledger.deferred_to != clock.due_on
                             and calendar.is_provisional(start, clock.due_on))
        if clock.provisional:
            years = "、".join(f"{y}年" for y in calendar.provisional_years_in(start, clock.due_on))
            clock.explanation_zh.append(
                f"{years}节假日安排尚未加载，按暂定日历（周一至周五，扣除法定节假日）计算，"
                "正式安排加载后重新计算")
            clock.explanation_en.append(
                "counted on a provisional calendar (Mon–Fri less the statutory holidays) for "
                "a year whose official notice is not loaded; recomputed when it is")
        clock.explanation_zh.append(f"答复期限：{clock.due_on.isoformat()}")
        clock.explanation_en.append(f"reply due on {clock.due_on.isoformat()}")
    except CalendarYearMissing as missing:
        clock.due_on = None
        clock.error = str(missing)
        clock.explanation_zh.append(f"无法计算答复期限：{missing.year}年节假日安排未加载")
        clock.explanation_en.append(
            f"no due date: the holiday calendar for {missing.year} is not loaded")
    return clock
