"""The working-day calendar of the State Council (工作日: Mon–Fri less holidays, plus 调休 make-up days).

Built from `chinesecalendar`. Precomputed as a sorted table of working-day ordinals so that
"working day n after D" and "working days in (A, B]" are a bisect each (O(log n)).
Counting into a year the calendar does not hold raises `CalendarYearMissing`: a guessed
deadline is worse than none.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar


class CalendarYearMissing(Exception):
    """A count needs a year whose official holiday notice is not loaded."""

    def __init__(self, year: int):
        self.year = year
        super().__init__(
            f"{year}年的国务院节假日安排未加载，无法计算工作日 "
            f"(the State Council holiday calendar for {year} is not loaded)"
        )


@dataclass(frozen=True)
class YearSpec:
    """One year's official arrangement: its holidays and its make-up working days (调休上班)."""
    year: int
    holidays: frozenset[dt.date]
    makeup_workdays: frozenset[dt.date]

    def is_workday(self, day: dt.date) -> bool:
        if day in self.makeup_workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays


def chinesecalendar_years() -> dict[int, YearSpec]:
    """Every year the installed chinesecalendar package knows."""
    years: dict[int, tuple[set, set]] = {}
    for day in chinese_calendar.holidays:
        years.setdefault(day.year, (set(), set()))[0].add(day)
    for day in chinese_calendar.workdays:
        years.setdefault(day.year, (set(), set()))[1].add(day)
    # chinese_calendar.holidays also lists ordinary weekends; keep only weekday holidays and
    # weekend make-up days, which is all a YearSpec needs.
    return {
        y: YearSpec(y, frozenset(d for d in hol if d.weekday() < 5),
                    frozenset(d for d in work if d.weekday() >= 5))
        for y, (hol, work) in years.items()
    }


class WorkCalendar:
    def __init__(self, years: dict[int, YearSpec]):
        if not years:
            raise ValueError("a calendar needs at least one year")
        first = min(years)
        last = first
        while last + 1 in years:  # only a gap-free run of years can be counted across
            last += 1
        self.years = dict(years)
        self.first_year, self.last_year = first, last
        self.first_day = dt.date(first, 1, 1)
        self.last_day = dt.date(last, 12, 31)
        days: list[int] = []
        day = self.first_day
        one = dt.timedelta(days=1)
        while day <= self.last_day:
            if years[day.year].is_workday(day):
                days.append(day.toordinal())
            day += one
        self._days = days

    def _check(self, day: dt.date) -> None:
        if day < self.first_day:
            raise CalendarYearMissing(day.year)
        if day > self.last_day:
            raise CalendarYearMissing(day.year)

    def is_workday(self, day: dt.date) -> bool:
        self._check(day)
        return self.years[day.year].is_workday(day)

    def workday_after(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after `day` (`day` itself not counted); n = 0 gives `day`."""
        if n < 0:
            raise ValueError("n must be ≥ 0")
        if n == 0:
            return day
        self._check(day)
        index = bisect_right(self._days, day.toordinal()) + n - 1
        if index >= len(self._days):
            raise CalendarYearMissing(self.last_year + 1)
        return dt.date.fromordinal(self._days[index])

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """How many working days lie in (start, end]; 0 when end ≤ start."""
        if end <= start:
            return 0
        self._check(start)
        self._check(end)
        return bisect_right(self._days, end.toordinal()) - bisect_right(self._days, start.toordinal())


@lru_cache
def default_calendar() -> WorkCalendar:
    return WorkCalendar(chinesecalendar_years())
