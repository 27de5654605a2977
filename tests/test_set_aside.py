"""The bookkeeping of windows set aside (set_aside.py), run by run, without HTTP: the
end-to-end behaviour is in test_fidelity.py."""

from datetime import date, timedelta
from typing import Any, Dict

from wechat_datacube_source.catalog import BY_TABLE
from wechat_datacube_source.set_aside import SET_ASIDE_KEY, STREAK_KEY, PayloadFailures
from wechat_datacube_source.windows import Window, halve

DAY = date(2026, 6, 1)


def days(first: int, last: int) -> Window:
    begin, end = DAY + timedelta(days=first), DAY + timedelta(days=last)
    return Window(begin, end, end, end, "day")


def failures(state: Dict[str, Any]) -> PayloadFailures:
    return PayloadFailures(BY_TABLE["user_summary"], state, threshold=3)


def test_the_same_problem_on_shifted_windows_counts_as_a_run_in_a_row() -> None:
    state: Dict[str, Any] = {}
    # the first run's window, then the refresh window's: they overlap, the problem differs
    # only in the numbers it quotes
    assert not failures(state).failed(days(0, 6), "total_num says 60 rows for 2026-06-01..07")
    assert not failures(state).failed(days(4, 10), "total_num says 61 rows for 2026-06-05..11")
    assert failures(state).failed(days(4, 10), "total_num says 61 rows for 2026-06-05..11")
    assert failures(state).set_aside() == [days(4, 10)] and STREAK_KEY not in state


def test_another_problem_or_other_days_start_a_new_run() -> None:
    state: Dict[str, Any] = {}
    failures(state).failed(days(0, 6), "the body is not JSON")
    failures(state).failed(days(0, 6), "`ref_date` is 'x', not a YYYY-MM-DD date")
    assert state[STREAK_KEY]["runs"] == 1
    failures(state).failed(days(7, 13), "`ref_date` is 'x', not a YYYY-MM-DD date")
    assert state[STREAK_KEY]["runs"] == 1


def test_a_window_set_aside_stays_set_aside_whatever_it_fails_with_next() -> None:
    state: Dict[str, Any] = {SET_ASIDE_KEY: {str(days(0, 0)): "the body is not JSON"}}
    # (a new version words its errors differently, or WeChat breaks the body another way)
    assert failures(state).failed(days(0, 0), "`list` is dict, not a list")
    # and a new bad window elsewhere still counts its own runs up to being set aside
    for run in (1, 2, 3):
        now_aside = failures(state).failed(days(10, 16), "`list` is dict, not a list")
        assert now_aside == (run == 3)
    assert failures(state).set_aside() == [days(0, 0), days(10, 16)]


def test_a_window_split_in_halves_sets_aside_only_the_halves_that_still_fail() -> None:
    state: Dict[str, Any] = {SET_ASIDE_KEY: {str(days(0, 6)): "the body is not JSON"}}
    first, second = halve(days(0, 6))
    failures(state).split(days(0, 6), (first, second))
    assert failures(state).failed(first, "the body is not JSON")
    failures(state).landed(second)
    assert failures(state).set_aside() == [first]
    failures(state).landed(days(0, 6))  # a window holding it lands: nothing is left aside
    assert state == {}


def test_a_bounded_backfill_only_reads_what_is_set_aside() -> None:
    state: Dict[str, Any] = {SET_ASIDE_KEY: {str(days(3, 3)): "the body is not JSON"}}
    assert failures(state).is_set_aside(days(0, 6), "the body is not JSON")
    assert not failures(state).is_set_aside(days(7, 13), "the body is not JSON")
    assert not failures(state).is_set_aside(days(0, 6), "`list` is dict, not a list")
    assert state == {SET_ASIDE_KEY: {str(days(3, 3)): "the body is not JSON"}}


def test_the_days_of_a_set_aside_window_asked_in_another_shape_are_set_aside_and_split() -> None:
    # a refresh window that holds a day set aside by an earlier run, failing the same way
    state: Dict[str, Any] = {SET_ASIDE_KEY: {str(days(3, 3)): "the body is not JSON"}}
    assert failures(state).failed(days(0, 6), "the body is not JSON")
    first, second = halve(days(0, 6))
    failures(state).split(days(0, 6), (first, second))  # (raised KeyError before)
    failures(state).landed(first)
    assert failures(state).set_aside() == [days(3, 3), second]
