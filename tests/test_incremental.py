"""Incremental behaviour over several runs: refresh windows, watermarks, backfills, faults.

Every test here runs on DuckDB and on PostgreSQL.
"""

import logging
from datetime import date, timedelta
from typing import Any, Dict, List

import dlt
import pytest
import time_machine

from tests.helpers import (
    DEMO_APP_ID,
    LAST_COMPLETE,
    days,
    last_sync_log,
    query,
    run,
    snapshot,
    source,
    window_holding,
)
from wechat_datacube_source.emulator import Emulator, FaultRule
from wechat_datacube_source.run_summary import needs_rerun, run_results

pytestmark = pytest.mark.destinations

ONE_DAY = timedelta(days=1)
SOME = ["user_summary", "user_cumulate", "article_total", "upstream_msg_week", "article_read"]


def resource_state(pipeline: dlt.Pipeline, table: str) -> Dict[str, Any]:
    return dict(pipeline.state["sources"]["wechat_datacube"]["resources"].get(table, {}))


def all_rows(pipeline: dlt.Pipeline, tables: List[str]) -> Dict[str, List[str]]:
    rows = snapshot(pipeline)
    return {table: rows[table] for table in tables}


def dates_in(pipeline: dlt.Pipeline, table: str, column: str = "ref_date") -> List[date]:
    return [
        row[0]
        for row in query(pipeline, f"SELECT DISTINCT {column} FROM wechat.{table} ORDER BY 1")
    ]


def test_rerunning_is_idempotent(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=SOME)
    first = all_rows(pipeline, SOME)
    child = "article_read__read_user_source"
    children = sorted(query(pipeline, f"SELECT scene_desc, user_count FROM wechat.{child}"))
    assert first["article_read"] and children
    # fields the docs do not list (the emulator sends user_source: 0, as WeChat does) land too
    for table in ("article_total", "user_cumulate"):
        assert "user_source" in pipeline.default_schema.get_table_columns(table)
    run(pipeline, api, resources=SOME)
    assert all_rows(pipeline, SOME) == first
    # re-fetched parents replace their child rows instead of adding to them
    assert sorted(query(pipeline, f"SELECT scene_desc, user_count FROM wechat.{child}")) == children
    for table, key in (
        ("user_summary", "ref_date, user_source"),
        ("article_total", "msgid, stat_date"),
    ):
        duplicates = query(
            pipeline,
            f"SELECT {key}, COUNT(*) FROM wechat.{table} GROUP BY {key} HAVING COUNT(*) > 1",
        )
        assert duplicates == []


class Warnings(logging.Handler):
    """The messages a logger passed on (after its filters)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_a_refetched_day_replaces_that_days_rows_of_that_account_only(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    warned = Warnings()
    logging.getLogger("dlt").addHandler(warned)
    try:
        check_refetched_days(pipeline, api, warned)
    finally:
        logging.getLogger("dlt").removeHandler(warned)


def check_refetched_days(pipeline: dlt.Pipeline, api: Emulator, warned: "Warnings") -> None:
    run(pipeline, api, resources=["user_summary"])
    columns = list(pipeline.default_schema.get_table_columns("user_summary"))
    settled = LAST_COMPLETE - timedelta(days=20)  # long before the refresh window

    def add_row(app_id: str, day: date) -> None:
        """A copy of the account's row of `day` under a channel WeChat never sent."""
        chosen = {"app_id": f"'{app_id}'", "user_source": "9999"}
        picked = ", ".join(chosen.get(name, name) for name in columns)
        query(
            pipeline,
            f"INSERT INTO wechat.user_summary ({', '.join(columns)}) SELECT {picked} "  # noqa: S608
            f"FROM wechat.user_summary WHERE ref_date = '{day}' AND user_source = 0",
        )

    # a row WeChat no longer sends for a re-fetched day, the same of another account, and of
    # a day no later run asks for again
    add_row(DEMO_APP_ID, LAST_COMPLETE)
    add_row("wx_another_account", LAST_COMPLETE)
    add_row(DEMO_APP_ID, settled)
    run(pipeline, api, resources=["user_summary"])
    added = query(
        pipeline, "SELECT app_id, ref_date FROM wechat.user_summary WHERE user_source = 9999"
    )
    assert sorted(added) == sorted([(DEMO_APP_ID, settled), ("wx_another_account", LAST_COMPLETE)])
    # the merge key and the destination scope that says the same go without dlt's warning,
    # which stays for tables not ours
    assert not [message for message in warned.messages if "destination_scope" in message]
    logging.getLogger("dlt").warning(
        "Table `their_table` has `merge_key` and `destination_scope`. The destination scope wins"
    )
    assert [message for message in warned.messages if "their_table" in message]


def test_a_later_day_fetches_only_the_refresh_windows(
    pipeline: dlt.Pipeline, api: Emulator, clock: time_machine.Traveller
) -> None:
    run(pipeline, api, resources=SOME)
    before = len(api.requests)
    clock.shift(timedelta(days=1))
    run(pipeline, api, resources=SOME)
    second: Dict[str, List[Any]] = {}
    for record in api.requests[before:]:
        if record.begin:
            second.setdefault(record.endpoint, []).append((record.begin, record.end))
    second = {name: sorted(windows) for name, windows in second.items()}
    today = LAST_COMPLETE + ONE_DAY
    # refresh 3 days before the watermark, plus the new day
    assert second["getusersummary"] == [(LAST_COMPLETE - 2 * ONE_DAY, today)]
    # article totals grow for 7 days after sending: those send dates again, one per call
    assert second["getarticletotal"] == [(d, d) for d in days(LAST_COMPLETE - 6 * ONE_DAY, today)]
    # no week ended since the last run: no week call at all
    assert "getupstreammsgweek" not in second
    assert max(dates_in(pipeline, "user_summary")) == today


def test_a_sparse_endpoint_does_not_refetch_empty_history(
    pipeline: dlt.Pipeline, api: Emulator, clock: time_machine.Traveller
) -> None:
    # an account whose articles get no reads: every day of article_summary is empty
    api.add_fault(FaultRule("empty", endpoints=("getarticlesummary",)))
    run(pipeline, api, resources=["article_summary"])
    assert len(api.data_requests("article_summary")) == 30
    clock.shift(timedelta(days=1))
    before = len(api.requests)
    run(pipeline, api, resources=["article_summary"])
    again = sorted(r.begin for r in api.requests[before:] if r.begin)
    # the watermark stopped at the day before the last (still possibly unfinished) day;
    # the second run re-scans only the refresh window, not the 30 empty days
    assert again == days(LAST_COMPLETE - 3 * ONE_DAY, LAST_COMPLETE + ONE_DAY)


def test_an_end_date_backfill_leaves_state_untouched(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=SOME)
    state = {table: resource_state(pipeline, table) for table in SOME}
    run(pipeline, api, resources=SOME, start_date="2026-03-01", end_date="2026-03-10")
    assert {table: resource_state(pipeline, table) for table in SOME} == state
    loaded = dates_in(pipeline, "user_summary")
    assert set(days(date(2026, 3, 1), date(2026, 3, 10))) <= set(loaded)
    assert date(2026, 3, 11) not in loaded
    # and the next normal run continues from the watermark, not from the backfill
    before = len(api.requests)
    run(pipeline, api, resources=["user_summary"])
    assert [r.begin for r in api.requests[before:] if r.begin] == [LAST_COMPLETE - 2 * ONE_DAY]


def test_a_backfill_given_as_dlt_incremental_hints_loads_that_range_and_keeps_state(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    """dlt's own way to bound a resource, `apply_hints(incremental=...)`, is read as the
    source's end_date is (breaks tried: the plan ignoring the cursor's end_value; its
    initial_value)."""
    run(pipeline, api, resources=["user_cumulate"])
    state = resource_state(pipeline, "user_cumulate")
    backfill = source(api, resources=["user_cumulate"])
    backfill.user_cumulate.apply_hints(
        incremental=dlt.sources.incremental(
            "ref_date", initial_value=date(2026, 3, 1), end_value=date(2026, 3, 10)
        )
    )
    before = len(api.requests)
    pipeline.run(backfill)
    # dlt's end_value is open unless told otherwise: 2026-03-01..2026-03-09
    asked = [day for r in api.requests[before:] if r.begin for day in days(r.begin, r.end)]
    assert asked == days(date(2026, 3, 1), date(2026, 3, 9))
    assert resource_state(pipeline, "user_cumulate") == state
    assert set(days(date(2026, 3, 1), date(2026, 3, 9))) <= set(dates_in(pipeline, "user_cumulate"))


def test_a_backfill_before_an_endpoint_floor_asks_nothing_of_it(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    run(
        pipeline,
        api,
        start_date="2024-01-01",
        end_date="2024-01-03",
        resources=["article_read", "user_summary"],
    )
    assert api.data_requests("article_read") == []
    logs = last_sync_log(pipeline)
    assert logs["article_read"]["status"] == "ok" and logs["article_read"]["api_calls"] == 0
    assert dates_in(pipeline, "user_summary") == days(date(2024, 1, 1), date(2024, 1, 3))


@pytest.mark.parametrize(
    ("table", "fault"),
    [
        ("user_summary", FaultRule("empty", endpoints=("getusersummary",), dates=(LAST_COMPLETE,))),
        (
            "user_summary",
            FaultRule(
                "errcode",
                errcode=61503,
                errmsg="data not ready, please try later",
                endpoints=("getusersummary",),
                dates=(LAST_COMPLETE,),
            ),
        ),
        (
            "article_read",
            FaultRule("is_delay", endpoints=("getarticleread",), dates=(LAST_COMPLETE,)),
        ),
    ],
    ids=["empty-yesterday", "61503", "is_delay"],
)
def test_not_ready_days_are_fetched_again_later(
    pipeline: dlt.Pipeline, api: Emulator, table: str, fault: FaultRule
) -> None:
    api.add_fault(fault)
    run(pipeline, api, resources=[table])
    assert max(dates_in(pipeline, table)) == LAST_COMPLETE - ONE_DAY
    log = last_sync_log(pipeline)[table]
    assert log["status"] == "ok" and "no final data for 2026-06-14" in log["message"]
    assert log["fetched_to"] == LAST_COMPLETE - ONE_DAY
    assert (
        resource_state(pipeline, table)["fetched_through"] == (LAST_COMPLETE - ONE_DAY).isoformat()
    )
    api.clear_faults()
    run(pipeline, api, resources=[table])
    assert max(dates_in(pipeline, table)) == LAST_COMPLETE
    assert resource_state(pipeline, table)["fetched_through"] == LAST_COMPLETE.isoformat()


def test_a_failing_window_stops_its_endpoint_and_leaves_no_gap(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    broken = LAST_COMPLETE - 10 * ONE_DAY
    api.add_fault(FaultRule("errcode", errcode=-1, endpoints=("getuserread",), dates=(broken,)))
    info = pipeline.run(source(api, resources=["user_read", "user_summary"], max_retries=2))
    results = {result.endpoint: result for result in run_results(pipeline, info)}
    assert results["user_read"].status == "partial"
    assert results["user_read"].errcode == -1
    window = window_holding("user_read", LAST_COMPLETE - 29 * ONE_DAY, LAST_COMPLETE, broken)
    assert f"stopped at window {window}" in (results["user_read"].message or "")
    assert results["user_read"].fetched_to == window.begin - ONE_DAY
    assert results["user_summary"].status == "ok"
    assert needs_rerun(list(results.values())) != []
    # everything before the window loaded, nothing after it; bounded retries of that window
    loaded = dates_in(pipeline, "user_read")
    assert loaded == days(LAST_COMPLETE - 29 * ONE_DAY, window.begin - ONE_DAY)
    assert len([r for r in api.data_requests("user_read") if r.begin == window.begin]) == 3
    assert (
        resource_state(pipeline, "user_read")["fetched_through"]
        == (window.begin - ONE_DAY).isoformat()
    )

    api.clear_faults()
    info = pipeline.run(source(api, resources=["user_read", "user_summary"]))
    assert needs_rerun(run_results(pipeline, info)) == []
    assert dates_in(pipeline, "user_read") == days(LAST_COMPLETE - 29 * ONE_DAY, LAST_COMPLETE)


def test_a_date_range_error_shrinks_the_window(
    pipeline: dlt.Pipeline, clock: time_machine.Traveller
) -> None:
    # an API stricter than the documented 7 days
    with Emulator(spans={"getusersummary": 3}) as strict:
        run(pipeline, strict, resources=["user_summary"])
        sent = strict.data_requests("user_summary")
    assert any(r.errcode == 61501 for r in sent)
    assert all((r.end - r.begin).days < 3 for r in sent if r.errcode == 0)
    assert dates_in(pipeline, "user_summary") == days(LAST_COMPLETE - 29 * ONE_DAY, LAST_COMPLETE)
    assert last_sync_log(pipeline)["user_summary"]["status"] == "ok"


def test_retired_and_forbidden_endpoints_are_skipped_with_the_reason(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    api.add_fault(
        FaultRule(
            "errcode",
            errcode=47009,
            errmsg="this api is offline, please use the new api",
            endpoints=("getarticletotal",),
        )
    )
    api.add_fault(
        FaultRule("errcode", errcode=48001, errmsg="api unauthorized", endpoints=("getuserread",))
    )
    info = pipeline.run(source(api, resources=["article_total", "user_read", "user_summary"]))
    results = {result.endpoint: result for result in run_results(pipeline, info)}
    assert results["article_total"].status == "skipped"
    assert "article_total_detail" in (results["article_total"].message or "")
    assert results["user_read"].status == "skipped" and results["user_read"].errcode == 48001
    assert "no permission" in (results["user_read"].message or "")
    assert results["user_summary"].status == "ok"
    assert needs_rerun(list(results.values())) == []
    # one call each: a skipped endpoint is not retried window after window
    assert len(api.data_requests("article_total")) == 1 and len(api.data_requests("user_read")) == 1
