"""Backfills under a call budget: the newest days first, history after, the fewest calls.

A first run loads every endpoint's last 30 days before any call goes to history; what the
budget leaves goes to history, newest first; later runs carry history on back to `start_date`
(issue 14). After every run each endpoint's loaded days are one range ending at the last
complete day, and at the end the tables equal an uncapped load. Spans start at the widest any
source documents and narrow, once per span, where a server is stricter.
"""

from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, List, Tuple

import dlt
import time_machine

from tests.helpers import (
    LAST_COMPLETE,
    NOW,
    last_sync_log,
    make_pipeline,
    query,
    reference,
    run,
    snapshot,
)
from wechat_datacube_source.catalog import BY_API_NAME, BY_TABLE, DEFAULT_TABLES
from wechat_datacube_source.emulator import Emulator, FaultRule
from wechat_datacube_source.reading import account_status
from wechat_datacube_source.spans import SPAN_KEY, LearnedSpan
from wechat_datacube_source.sync_log import BACKFILLING
from wechat_datacube_source.windows import first_label, period_end, period_start, plan_windows

ONE_DAY = timedelta(days=1)
FRESH_FROM = LAST_COMPLETE - timedelta(days=29)
"""The first day of a first run's fresh part: its 30 days up to the last complete one."""


def loaded_range(pipeline: dlt.Pipeline, table: str) -> Tuple[date, date]:
    """(oldest, newest) day an endpoint's state says is loaded, every day between included."""
    state = pipeline.state["sources"]["wechat_datacube"]["resources"][table]
    return date.fromisoformat(state["history_from"]), date.fromisoformat(state["fetched_through"])


def rows_between(pipeline: dlt.Pipeline, table: str, first: date, last: date) -> List[str]:
    """The table's rows (dlt's columns left out) labelled `first..last`, order-free."""
    endpoint = BY_TABLE[table]
    names = [
        n for n in pipeline.default_schema.get_table_columns(table) if not n.startswith("_dlt")
    ]
    select = ", ".join(f'"{n}"' for n in names)
    return sorted(
        repr(row)
        for row in query(
            pipeline,
            f"SELECT {select} FROM wechat.{table} WHERE {endpoint.date_field} "
            f"BETWEEN '{first.isoformat()}' AND '{last.isoformat()}'",
        )
    )


def newest_complete(table: str) -> date:
    """The last day an endpoint can be loaded through: the last complete day, or the end of
    the last complete week or month."""
    grain = BY_TABLE[table].grain
    if grain in ("day", "hour"):
        return LAST_COMPLETE
    start = period_start(LAST_COMPLETE, grain)
    if period_end(start, grain) > LAST_COMPLETE:
        start = period_start(start - ONE_DAY, grain)
    return period_end(start, grain)


def test_capped_runs_load_the_newest_days_first_and_carry_history_back_to_the_start(
    tmp_path: Path, api: Emulator
) -> None:
    start = LAST_COMPLETE - timedelta(days=2 * 365 - 1)
    uncapped = reference(tmp_path, start_date=start)
    pipeline = make_pipeline(tmp_path)
    reached: Dict[str, List[date]] = {table: [] for table in DEFAULT_TABLES}
    for attempt in range(1, 20):
        before = len(api.requests)
        run(pipeline, api, start_date=start, max_calls=1000)
        assert len(api.requests) - before <= 1000
        logs = last_sync_log(pipeline)
        statuses = {s.table: s for s in account_status(pipeline.dataset())}
        for table in DEFAULT_TABLES:
            oldest, newest = loaded_range(pipeline, table)
            log = logs[table]
            # every endpoint up to date, on the first run already, whatever history is left
            assert newest >= newest_complete(table) - ONE_DAY, (attempt, table, newest)
            assert oldest <= first_label(BY_TABLE[table], FRESH_FROM), (attempt, table)
            # one contiguous range: exactly the uncapped load's rows of its days
            assert rows_between(pipeline, table, date.min, date.max) == rows_between(
                uncapped, table, oldest, newest
            ), (attempt, table)
            reached[table].append(oldest)
            assert statuses[table].loaded_from == oldest, (attempt, table)
            if oldest > first_label(BY_TABLE[table], start):
                assert log["status"] == BACKFILLING, (attempt, table, log)
                assert f"history is loaded back to {oldest.isoformat()}" in log["message"]
            else:
                assert log["status"] == "ok", (attempt, table, log)
            if log["history_from"] is not None:
                # history, older than the days brought up to date, and reaching `oldest`
                assert log["history_from"] == oldest
                assert log["fetched_from"] is None or log["history_to"] < log["fetched_from"]
        if all(status == "ok" for status in (logs[t]["status"] for t in DEFAULT_TABLES)):
            break
    assert attempt >= 4, "two years of every endpoint should take several budgets of 1,000"
    # history moved back on every run until it was done, never forward
    assert all(days == sorted(days, reverse=True) for days in reached.values())
    assert snapshot(pipeline) == snapshot(uncapped)


def test_a_first_run_ten_years_back_loads_every_last_month_before_any_history(
    tmp_path: Path, api: Emulator
) -> None:
    start = LAST_COMPLETE - timedelta(days=3652)
    pipeline = make_pipeline(tmp_path)
    run(pipeline, api, start_date=start, max_calls=1000)
    requests = api.data_requests()
    fresh = [
        index
        for index, r in enumerate(requests)
        if r.begin is not None and r.begin >= first_label(BY_API_NAME[r.endpoint], FRESH_FROM)
    ]
    history = sorted(set(range(len(requests))) - set(fresh))
    assert fresh and history, "the budget covers every last month and some history"
    # no history call starts before every endpoint is up to date
    assert max(fresh) < min(history)
    for table in DEFAULT_TABLES:
        oldest, newest = loaded_range(pipeline, table)
        assert oldest < first_label(BY_TABLE[table], FRESH_FROM) or table.startswith("article_")
        assert newest >= newest_complete(table) - ONE_DAY
    logs = last_sync_log(pipeline)
    backfilling = [
        t for t in DEFAULT_TABLES if loaded_range(pipeline, t)[0] > first_label(BY_TABLE[t], start)
    ]
    # (the published-content family starts in 2025: some of it is done)
    assert len(backfilling) >= len(DEFAULT_TABLES) - 4
    assert {logs[t]["status"] for t in DEFAULT_TABLES} == {BACKFILLING, "ok"}
    for table in backfilling:
        # what stopped history is said, and is not a fault of the run
        assert logs[table]["status"] == BACKFILLING
        assert "max_calls budget of 1000" in logs[table]["message"]


STRICT_SPANS = {
    "getuserread": 1,
    "getusershare": 1,
    "getusersummary": 2,
    "getupstreammsgweek": 1,
    "getupstreammsgdistweek": 15,
    "getupstreammsgdistmonth": 15,
}
"""A server stricter than the widest documented spans: the narrowest readings, and less."""


def test_spans_narrow_where_the_server_refuses_and_each_refused_span_costs_one_call(
    tmp_path: Path, clock: time_machine.Traveller
) -> None:
    tables = [BY_API_NAME[name].table for name in STRICT_SPANS]
    settings: Dict[str, Any] = {"start_date": LAST_COMPLETE - timedelta(days=119)}
    pipeline = make_pipeline(tmp_path)
    with Emulator(spans=STRICT_SPANS) as strict:
        run(pipeline, strict, resources=tables, **settings)
        refused = Counter(
            (r.endpoint, (r.end - r.begin).days + 1)  # type: ignore[operator]
            for r in strict.data_requests()
            if r.errcode == 61501
        )
        # one refusal per endpoint and span, and only of spans wider than the server allows
        assert refused and set(refused.values()) == {1}, refused
        assert {name for name, _ in refused} == set(STRICT_SPANS)
        assert all(days > STRICT_SPANS[name] for name, days in refused)
        states = pipeline.state["sources"]["wechat_datacube"]["resources"]
        for name, allowed in STRICT_SPANS.items():
            assert states[BY_API_NAME[name].table][SPAN_KEY]["days"] <= allowed, name
        # the next runs start from what the server accepted: not one call refused
        asked = len(strict.requests)
        clock.move_to(NOW + timedelta(days=9))
        run(pipeline, strict, resources=tables, **settings)
        assert all(r.errcode == 0 for r in strict.data_requests()[asked:])
    assert snapshot(pipeline) == snapshot(reference(tmp_path, resources=tables, **settings))


def test_a_learned_span_never_goes_beyond_the_widest_documented_one() -> None:
    user_read = BY_TABLE["user_read"]
    assert LearnedSpan(user_read, {}).days == 3
    assert LearnedSpan(user_read, {SPAN_KEY: {"days": 30, "accepted": 30}}).days == 3
    # state edited by hand, or of another shape, is read as nothing learned
    for stored in ({"days": "7"}, {"days": True}, {"days": -2}, [], "3"):
        assert LearnedSpan(user_read, {SPAN_KEY: stored}).days == 3
    state: Dict[str, Any] = {}
    span = LearnedSpan(BY_TABLE["upstream_msg_dist_week"], state)
    assert span.days == 30
    five_weeks = plan_windows(
        BY_TABLE["upstream_msg_dist_week"], date(2026, 6, 1), date(2026, 7, 5)
    )
    assert [w.days for w in five_weeks] == [29]
    assert span.refused(five_weeks[0]) and span.days == 15
    assert state[SPAN_KEY] == {"days": 15, "accepted": 0}


def test_weeks_and_months_asked_together_but_answered_one_at_a_time_are_asked_one_by_one(
    tmp_path: Path, api: Emulator
) -> None:
    # the current docs say one period a request; a server that reads them so and ignores
    # end_date answers the first week of five: the four others must not pass for empty ones
    tables = ["upstream_msg_week", "upstream_msg_dist_month"]
    settings: Dict[str, Any] = {
        "start_date": LAST_COMPLETE - timedelta(days=200),
        "resources": tables,
    }
    api.add_fault(FaultRule("mutate", mutation="first_period"))
    pipeline = make_pipeline(tmp_path)
    run(pipeline, api, **settings)
    states = pipeline.state["sources"]["wechat_datacube"]["resources"]
    assert {states[table][SPAN_KEY]["days"] for table in tables} == {1}
    assert snapshot(pipeline) == snapshot(reference(tmp_path, **settings))
