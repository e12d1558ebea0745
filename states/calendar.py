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


class YearFileError(ValueError):
    """A holiday-notice file that does not hold together; the message names the entry."""


def _dates(entries, field: str, year: int) -> set[dt.date]:
    out: set[dt.date] = set()
    for entry in entries:
        try:
            if isinstance(entry, list) and len(entry) == 2:
                first, last = dt.date.fromisoformat(entry[0]), dt.date.fromisoformat(entry[1])
            else:
                first = last = dt.date.fromisoformat(entry)
        except (TypeError, ValueError):
            raise YearFileError(f"{field}: {entry!r} is not a date or a [first, last] range") from None
        if last < first:
            raise YearFileError(f"{field}: range {entry!r} ends before it starts")
        day = first
        while day <= last:
            if day.year != year:
                raise YearFileError(f"{field}: {day} is not in {year}")
            out.add(day)
            day += dt.timedelta(days=1)
    return out


def parse_year_file(doc: dict) -> tuple[YearSpec, str]:
    """A State Council notice as data: {"year", "source", "holidays": [date | [first, last]],
    "makeup_workdays": [date]}. Checked so a typo cannot silently move every deadline."""
    year = doc.get("year")
    if not isinstance(year, int) or not 2000 <= year <= 2100:
        raise YearFileError("year: must be a whole year such as 2027")
    source = (doc.get("source") or "").strip()
    if not source:
        raise YearFileError("source: name the notice (e.g. 国务院办公厅关于2027年部分节假日安排的通知)")
    holidays = _dates(doc.get("holidays") or [], "holidays", year)
    makeup = _dates(doc.get("makeup_workdays") or [], "makeup_workdays", year)
    if not holidays:
        raise YearFileError("holidays: a year's notice always lists holidays")
    if both := sorted(holidays & makeup):
        raise YearFileError(f"makeup_workdays: {both[0]} is also listed as a holiday")
    if weekdays := sorted(d for d in makeup if d.weekday() < 5):
        raise YearFileError(f"makeup_workdays: {weekdays[0]} is a weekday; make-up days fall on weekends")
    return YearSpec(year, frozenset(d for d in holidays if d.weekday() < 5), frozenset(makeup)), source


class WorkCalendar:
    def __init__(self, years: dict[int, YearSpec], provisional_years: int = 0):
        if not years:
            raise ValueError("a calendar needs at least one year")
        first = min(years)
        last = first
        while last + 1 in years:  # only a gap-free run of years can be counted across
            last += 1
        years = {y: spec for y, spec in years.items() if y <= last}
        # Where the agency allows it, the years after the last official one count Mon–Fri
        # only, and every deadline reaching into them is shown as provisional.
        self.provisional = frozenset(range(last + 1, last + 1 + provisional_years))
        for y in self.provisional:
            years[y] = YearSpec(y, frozenset(), frozenset())
        last += provisional_years
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


    def is_provisional(self, *days: dt.date) -> bool:
        """Whether any year from the first to the last of `days` is only provisional."""
        if not self.provisional or not days:
            return False
        return any(y in self.provisional for y in range(min(days).year, max(days).year + 1))


@lru_cache
def package_years() -> dict[int, YearSpec]:
    return chinesecalendar_years()


@lru_cache(maxsize=8)
def build_calendar(loaded: tuple[YearSpec, ...] = (), provisional_years: int = 0) -> WorkCalendar:
    """The package's years overlaid with the agency's loaded notices (a loaded year wins)."""
    years = dict(package_years())
    years.update({spec.year: spec for spec in loaded})
    return WorkCalendar(years, provisional_years)


def default_calendar() -> WorkCalendar:
    return build_calendar()
