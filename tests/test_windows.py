"""The window planner and the Beijing clock: pure functions, exhaustively and by property."""

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wechat_datacube_source.catalog import BY_TABLE, ENDPOINTS
from wechat_datacube_source.clock import last_complete_day
from wechat_datacube_source.settings import BEIJING
from wechat_datacube_source.windows import halve, period_end, period_start, plan_windows


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # 07:59 Beijing on 06-15: yesterday is not final yet
        (datetime(2026, 6, 14, 23, 59, tzinfo=timezone.utc), date(2026, 6, 13)),
        # 08:00 Beijing on 06-15
        (datetime(2026, 6, 15, 0, 0, tzinfo=timezone.utc), date(2026, 6, 14)),
        # 23:30 UTC on 06-14 is already 07:30 on 06-15 in Beijing
        (datetime(2026, 6, 14, 23, 30, tzinfo=timezone.utc), date(2026, 6, 13)),
        # 00:00 on 06-16 in Beijing: 06-15 is not final until 08:00
        (datetime(2026, 6, 15, 16, 0, tzinfo=timezone.utc), date(2026, 6, 14)),
    ],
)
def test_last_complete_day_is_yesterday_in_beijing_from_0800(utc: datetime, expected: date) -> None:
    assert last_complete_day(utc) == expected
    assert last_complete_day(utc) < utc.astimezone(BEIJING).date()


def test_daily_windows_respect_span_and_cover_the_range() -> None:
    user_summary = BY_TABLE["user_summary"]
    windows = plan_windows(user_summary, date(2026, 3, 1), date(2026, 3, 19))
    assert [(w.begin.day, w.end.day) for w in windows] == [(1, 7), (8, 14), (15, 19)]


def test_windows_never_start_before_the_endpoint_floor() -> None:
    windows = plan_windows(BY_TABLE["article_read"], date(2025, 10, 30), date(2025, 11, 2))
    assert [w.begin for w in windows] == [date(2025, 11, 1), date(2025, 11, 2)]
    assert plan_windows(BY_TABLE["user_summary"], date(2010, 1, 1), date(2014, 12, 3))[
        0
    ].begin == date(2014, 12, 1)


def test_week_and_month_windows_are_one_complete_period_each() -> None:
    weeks = plan_windows(BY_TABLE["upstream_msg_week"], date(2026, 6, 3), date(2026, 6, 20))
    # the week holding 06-03 starts 06-01; the week of 06-15 ends 06-21, after the range
    assert [(w.begin, w.end, w.covers_through) for w in weeks] == [
        (date(2026, 6, 1), date(2026, 6, 1), date(2026, 6, 7)),
        (date(2026, 6, 8), date(2026, 6, 8), date(2026, 6, 14)),
    ]
    months = plan_windows(BY_TABLE["upstream_msg_month"], date(2026, 1, 15), date(2026, 3, 30))
    assert [(w.begin, w.covers_through) for w in months] == [
        (date(2026, 1, 1), date(2026, 1, 31)),
        (date(2026, 2, 1), date(2026, 2, 28)),
    ]


def test_halve_splits_a_window_into_two_adjacent_ones() -> None:
    window = plan_windows(BY_TABLE["user_summary"], date(2026, 3, 1), date(2026, 3, 7))[0]
    first, second = halve(window)
    assert (first.begin, first.end, second.begin, second.end) == (
        date(2026, 3, 1),
        date(2026, 3, 3),
        date(2026, 3, 4),
        date(2026, 3, 7),
    )
    with pytest.raises(ValueError, match="cannot be split"):
        halve(first.__class__(first.begin, first.begin, first.begin, first.begin))


# the same examples on every run, so CI passes or fails on the code, never on luck; explore
# further by turning derandomize off and max_examples up
@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    endpoint=st.sampled_from(ENDPOINTS),
    start=st.dates(date(2013, 1, 1), date(2027, 1, 1)),
    length=st.integers(-5, 400),
)
def test_plan_covers_exactly_without_overlap_or_overreach(endpoint, start, length) -> None:  # type: ignore[no-untyped-def]
    end = start + timedelta(days=length)
    windows = plan_windows(endpoint, start, end)
    covered = []
    for window in windows:
        assert window.begin >= endpoint.earliest
        assert window.covers_through <= end
        if endpoint.grain in ("week", "month"):
            assert window.begin == window.end == period_start(window.begin, endpoint.grain)
            assert window.covers_through == period_end(window.begin, endpoint.grain)
        else:
            assert window.days <= endpoint.span
        day = window.begin
        while day <= window.covers_through:
            covered.append(day)
            day += timedelta(days=1)
    assert covered == sorted(set(covered)), "windows overlap or are out of order"
    first = max(start, endpoint.earliest)
    if endpoint.grain in ("week", "month"):
        first = period_start(first, endpoint.grain)
        expected_last = end
        while period_end(period_start(expected_last, endpoint.grain), endpoint.grain) > end:
            expected_last = period_start(expected_last, endpoint.grain) - timedelta(days=1)
    else:
        expected_last = end
    if first <= expected_last:
        assert covered[0] == first and covered[-1] == expected_last
        assert len(covered) == (expected_last - first).days + 1, "windows leave a gap"
    else:
        assert windows == []
