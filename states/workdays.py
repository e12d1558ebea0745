"""The working-day calendar of the State Council (工作日: Mon–Fri less holidays, plus 调休 make-up days).

Built from `chinesecalendar`. Precomputed as a sorted table of working-day ordinals so that
"working day n after D" and "working days in (A, B]" are a bisect each (O(log n)).
Years after the last official notice are counted on a *provisional* calendar (on by default):
Monday–Friday less the statutory holidays that are known years ahead (全国年节及纪念日放假办法,
as amended 2024), with the lunar and solar-term dates from `lunar_python` and `chinesecalendar`.
Every date counted on such a year is marked provisional until the official notice is loaded.
Counting into a year the calendar does not hold at all raises `CalendarYearMissing`.
"""

from __future__ import annotations

import datetime as dt
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

import chinese_calendar
from lunar_python import Lunar


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


def statutory_holidays(year: int) -> frozenset[dt.date]:
    return frozenset(statutory_holiday_names(year))


def statutory_holiday_names(year: int) -> dict[dt.date, str]:
    """The holidays 全国年节及纪念日放假办法 (as amended 2024, in force 2025) fixes in advance:
    元旦 1/1; 春节 除夕 to 初三 (4 days); 清明 (the solar term); 劳动节 5/1–5/2; 端午 (五月初五);
    中秋 (八月十五); 国庆 10/1–10/3. The State Council's yearly notice adds bridge days and 调休,
    which cannot be known in advance, so a calendar built on these alone is provisional."""
    def solar(lunar: Lunar) -> dt.date:
        s = lunar.getSolar()
        return dt.date(s.getYear(), s.getMonth(), s.getDay())

    new_year = Lunar.fromYmd(year, 1, 1)
    days = {dt.date(year, 1, 1): "元旦"}
    days.update({solar(new_year.next(n)): "春节" for n in (-1, 0, 1, 2)})  # 除夕 to 初三
    days.update({d: "清明节" for d, name in chinese_calendar.get_solar_terms(
        dt.date(year, 4, 1), dt.date(year, 4, 30)) if name == "清明"})
    days.update({dt.date(year, 5, 1): "劳动节", dt.date(year, 5, 2): "劳动节"})
    days[solar(Lunar.fromYmd(year, 5, 5))] = "端午节"
    days[solar(Lunar.fromYmd(year, 8, 15))] = "中秋节"
    days.update({dt.date(year, 10, d): "国庆节" for d in (1, 2, 3)})
    return {d: name for d, name in days.items() if d.year == year}


def provisional_year(year: int) -> YearSpec:
    """Mon–Fri less the statutory holidays: no bridge days, no 调休 (they are not known yet)."""
    return YearSpec(year, frozenset(d for d in statutory_holidays(year) if d.weekday() < 5),
                    frozenset())


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
    source = doc.get("source") or ""
    if not isinstance(source, str):
        raise YearFileError("source: must be the notice's title as text")
    source = source.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in source):
        raise YearFileError("source: must not contain control characters")
    if not source:
        raise YearFileError("source: name the notice (e.g. 国务院办公厅关于2027年部分节假日安排的通知)")
    named = {int(y) for y in re.findall(r"((?:19|20)\d\d)年", source)}
    if named and year not in named:
        raise YearFileError(f"source: names {sorted(named)[0]}年 but the file is for {year}")
    holidays = _dates(doc.get("holidays") or [], "holidays", year)
    makeup = _dates(doc.get("makeup_workdays") or [], "makeup_workdays", year)
    if not holidays:
        raise YearFileError("holidays: a year's notice always lists holidays")
    if both := sorted(holidays & makeup):
        raise YearFileError(f"makeup_workdays: {both[0]} is also listed as a holiday")
    if weekdays := sorted(d for d in makeup if d.weekday() < 5):
        raise YearFileError(f"makeup_workdays: {weekdays[0]} is a weekday; make-up days fall on weekends")
    if year >= 2025:  # 全国年节及纪念日放假办法 as amended 2024: these days are off by law
        for day, name in sorted(statutory_holiday_names(year).items()):
            if day.weekday() < 5 and day not in holidays:
                raise YearFileError(f"holidays: {day} ({name}) is a statutory holiday under "
                                    "全国年节及纪念日放假办法 and must be listed")
    return YearSpec(year, frozenset(d for d in holidays if d.weekday() < 5), frozenset(makeup)), source


class WorkCalendar:
    def __init__(self, years: dict[int, YearSpec], provisional_years: int = 0):
        """`years`: the official ones. `provisional_years`: how many years after the last
        official one may be counted provisionally (any gap before it is filled the same way);
        0: only a gap-free run of official years is counted, anything beyond fails loudly."""
        if not years:
            raise ValueError("a calendar needs at least one year")
        first = min(years)
        if provisional_years:
            last = max(years) + provisional_years
        else:
            last = first
            while last + 1 in years:
                last += 1
        self.provisional = frozenset(y for y in range(first, last + 1) if y not in years)
        years = {y: years.get(y) or provisional_year(y) for y in range(first, last + 1)}
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


    def provisional_years_in(self, *days: dt.date | None) -> list[int]:
        """The provisional years from the first to the last of `days` (None ignored)."""
        days = tuple(d for d in days if d is not None)
        if not self.provisional or not days:
            return []
        return [y for y in range(min(days).year, max(days).year + 1) if y in self.provisional]

    def is_provisional(self, *days: dt.date | None) -> bool:
        """Whether any year from the first to the last of `days` is only provisional."""
        return bool(self.provisional_years_in(*days))


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
