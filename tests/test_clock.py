"""Deadlines as a careful OGI officer counts them, across real 2025–2026 holidays and 调休 days."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from states.workdays import CalendarYearMissing, default_calendar
from states.clock import Ledger, Stop, compute_clock

D = dt.date
cal = default_calendar()


@pytest.mark.parametrize("received, due", [
    (D(2026, 3, 2), D(2026, 3, 30)),    # plain 20 working days, no holiday
    (D(2025, 9, 30), D(2025, 11, 4)),   # day before National Day; Sat 11 Oct is a make-up day
    (D(2026, 2, 14), D(2026, 3, 20)),   # received on a make-up Saturday before Spring Festival
    (D(2025, 4, 30), D(2025, 6, 3)),    # across Labour Day and 端午 (Mon 2 June)
])
def test_reply_due_20_working_days_after_receipt(received, due):
    assert compute_clock(Ledger(received_on=received), cal).due_on == due


def test_supplement_notice_is_due_7_working_days_after_receipt_across_national_day():
    assert compute_clock(Ledger(received_on=D(2025, 9, 30)), cal).supplement_notice_due == D(2025, 10, 16)  # Sat 11 Oct is a make-up working day


def test_a_consultation_stops_the_clock_for_its_working_days_only():
    stop = Stop("third_party", "征求第三方意见", D(2026, 3, 10), D(2026, 3, 24), D(2026, 3, 31))
    clock = compute_clock(Ledger(received_on=D(2026, 3, 2), stops=(stop,)), cal)
    assert clock.stopped_workdays == 10
    assert clock.due_on == D(2026, 4, 14)  # 30 Mar + 10 working days, skipping 清明 4–6 Apr
    assert "2026-03-10至2026-03-24征求第三方意见，期间10个工作日不计入" in clock.explanation_zh


def test_a_request_counting_into_an_unloaded_year_says_so_instead_of_guessing():
    clock = compute_clock(Ledger(received_on=D(2026, 12, 10)), cal)
    assert clock.due_on is None
    assert clock.error == ("2027年的国务院节假日安排未加载，无法计算工作日 "
                           "(the State Council holiday calendar for 2027 is not loaded)")
    with pytest.raises(CalendarYearMissing):
        cal.workday_after(D(2026, 12, 10), 20)


days = st.dates(min_value=D(2005, 1, 1), max_value=D(2026, 10, 31))


@settings(max_examples=300, deadline=None)
@given(start=days, n=st.integers(min_value=1, max_value=40))
def test_nth_working_day_after_and_working_days_between_are_inverse(start, n):
    end = cal.workday_after(start, n)
    assert cal.is_workday(end)
    assert cal.workdays_between(start, end) == n


@settings(max_examples=200, deadline=None)
@given(received=st.dates(min_value=D(2025, 1, 1), max_value=D(2026, 6, 30)),
       offset=st.integers(min_value=0, max_value=30), length=st.integers(min_value=0, max_value=25))
def test_adding_a_stop_never_moves_the_due_date_earlier(received, offset, length):
    base = compute_clock(Ledger(received_on=received), cal).due_on
    start = received + dt.timedelta(days=offset)
    stop = Stop("agency", "征求其他机关意见", start, start + dt.timedelta(days=length),
                start + dt.timedelta(days=length))
    assert compute_clock(Ledger(received_on=received, stops=(stop,)), cal).due_on >= base
