"""Fidelity: the shapes WeChat has been seen to send land as the README says, every body is
kept in `raw_responses`, a window that never parses is set aside instead of blocking its
endpoint, and the tables can be rebuilt from the kept bodies with no API call."""

import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List

import dlt
import pytest
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
    table_rows,
)
from wechat_datacube_source.catalog import ENDPOINTS
from wechat_datacube_source.emulator import Emulator, FaultRule
from wechat_datacube_source.emulator.server import WILD_ELEMENT_TYPE
from wechat_datacube_source.raw_archive import raw_body
from wechat_datacube_source.rebuild import rebuild_source
from wechat_datacube_source.run_summary import needs_rerun, run_results
from wechat_datacube_source.set_aside import SET_ASIDE_KEY, STREAK_KEY
from wechat_datacube_source.windows import period_end

START = LAST_COMPLETE - timedelta(days=45)
READING = ["user_read", "user_read_hour"]
PERIODS = ["upstream_msg_week", "upstream_msg_month", "upstream_msg_dist_week"]
INTERFACE = ["interface_summary", "interface_summary_hour"]
NESTED = ["article_read", "biz_summary"]


def rows_of(pipeline: dlt.Pipeline, table: str) -> List[Dict[str, Any]]:
    """A table's rows without dlt's own columns, in a stable order."""
    rows = [
        {name: value for name, value in row.items() if not name.startswith("_dlt")}
        for row in table_rows(pipeline, table)
    ]
    return sorted(rows, key=repr)


def test_shapes_seen_in_the_wild_land_as_the_readme_says(tmp_path: Path, api: Emulator) -> None:
    tables = [*READING, *PERIODS, *INTERFACE, *NESTED]
    api.add_fault(FaultRule("mutate", mutation="wild"))
    pipeline = make_pipeline(tmp_path / "wild")
    run(pipeline, api, start_date=START, resources=tables)
    clean = reference(tmp_path, start_date=START, resources=tables)
    logs = last_sync_log(pipeline)
    assert {logs[table]["status"] for table in tables} == {"ok"}

    # rows of the older shape, without user_source, are the all-channel rows
    for table in READING:
        wanted = [row for row in rows_of(clean, table) if row["user_source"] == 99999999]
        assert wanted and rows_of(pipeline, table) == wanted
        assert "rows without `user_source` (the older documented shape)" in logs[table]["message"]

    # a week or month row dated on its last day lands under its first, its own date beside
    for table in PERIODS:
        mine = rows_of(pipeline, table)
        assert mine
        assert all(
            row["ref_date__as_sent"] == period_end(row["ref_date"], row_grain(table))
            for row in mine
        )
        assert [without(row, "ref_date__as_sent") for row in mine] == rows_of(clean, table)
        assert "stored under its first day" in logs[table]["message"]

    # max_time_count is max_time_cost, under its declared name
    for table in INTERFACE:
        assert rows_of(pipeline, table) == rows_of(clean, table)
        assert "max_time_count" not in pipeline.default_schema.get_table_columns(table)
        assert "`max_time_count` was read as `max_time_cost`" in logs[table]["message"]

    # an element of unknown shape is kept whole beside the others, keyed by its position
    for table in NESTED:
        child = f"{table}__read_user_source"
        assert rows_of(pipeline, table) == rows_of(clean, table)
        mine = rows_of(pipeline, child)
        known = [
            without(row, "element__as_sent") for row in mine if row["element__as_sent"] is None
        ]
        assert known == rows_of(clean, child)
        odd = [row for row in mine if row["element__as_sent"] is not None]
        assert len(odd) == len(rows_of(clean, table))  # one per parent row
        for row in odd:
            assert row["element__as_sent"].startswith(f'{{"type": {WILD_ELEMENT_TYPE}, "value": ')
            assert row["scene_desc"].startswith("unknown shape #") and row["user_count"] is None
        assert "kept whole in element__as_sent" in logs[table]["message"]


def row_grain(table: str) -> Any:
    return "month" if "month" in table else "week"


def without(row: Dict[str, Any], name: str) -> Dict[str, Any]:
    return {key: value for key, value in row.items() if key != name}


def test_rows_outside_the_request_show_in_the_status(tmp_path: Path, api: Emulator) -> None:
    api.add_fault(FaultRule("mutate", endpoints=("user_summary",), mutation="outside"))
    pipeline = make_pipeline(tmp_path)
    info = run(pipeline, api, start_date=START, resources=["user_summary", "user_cumulate"])
    logs = last_sync_log(pipeline)
    assert logs["user_summary"]["status"] == "ok_rows_dropped"
    assert logs["user_cumulate"]["status"] == "ok"
    # nothing a rerun would change: the run is healthy, its exit code 0
    assert needs_rerun(run_results(pipeline, info)) == []
    # the dropped rows are in the kept bodies
    bodies = [raw_body(row["body"]) for row in raw_rows(pipeline, "user_summary")]
    assert all(b"2099-12-31" in body for body in bodies)


def raw_rows(pipeline: dlt.Pipeline, endpoint: str) -> List[Dict[str, Any]]:
    return [row for row in table_rows(pipeline, "raw_responses") if row["endpoint"] == endpoint]


@pytest.mark.destinations
def test_every_committed_body_is_kept_and_failed_ones_always(
    tmp_path: Path, api: Emulator, destination: Any
) -> None:
    poison = LAST_COMPLETE - timedelta(days=3)
    api.add_fault(FaultRule("malformed", endpoints=("user_cumulate",), dates=(poison,)))
    settings = dict(start_date=START, resources=["user_summary", "user_cumulate"], max_retries=0)
    kept_all = make_pipeline(tmp_path / "all", destination=destination)
    run(kept_all, api, **settings)
    calls = {r.begin for r in api.data_requests("user_summary")}
    raw = raw_rows(kept_all, "user_summary")
    # one body per call, as the emulator sent it, with what was asked and when
    assert {row["requested_from"] for row in raw} == calls and len(raw) == len(calls)
    assert all(row["problem"] is None and row["page"] == 1 for row in raw)
    assert all(raw_body(row["body"]).startswith(b'{"list":') for row in raw)
    (failed,) = [row for row in raw_rows(kept_all, "user_cumulate") if row["problem"]]
    assert raw_body(failed["body"]) == b'{"list":[{"ref_date":"20'
    assert "not JSON" in failed["problem"]

    only_failed = make_pipeline(tmp_path / "failed", name="only_failed")
    run(only_failed, api, **settings, keep_raw_responses=False)
    raw = table_rows(only_failed, "raw_responses")
    assert len(raw) == 1 and raw[0]["endpoint"] == "user_cumulate" and raw[0]["problem"]
    # the window that failed is kept again when it lands, so a rebuild finds its newer body
    api.clear_faults()
    run(only_failed, api, **settings, keep_raw_responses=False)
    raw = sorted(table_rows(only_failed, "raw_responses"), key=lambda row: row["fetched_at"])
    failed, *landed = raw
    assert failed["problem"] and landed and not any(row["problem"] for row in landed)
    # (the windows it landed in hold the failed one's days: later runs plan from the refresh)
    assert min(row["requested_from"] for row in landed) <= failed["requested_from"]
    assert max(row["requested_to"] for row in landed) >= failed["requested_to"]
    assert all(
        row["requested_from"] <= failed["requested_to"]
        and row["requested_to"] >= failed["requested_from"]
        for row in landed
    ), "a body kept that holds none of the failed days"


def test_a_window_that_never_parses_is_set_aside_then_lands_with_no_gap_or_duplicate(
    tmp_path: Path, api: Emulator
) -> None:
    poison = LAST_COMPLETE - timedelta(days=20)
    api.add_fault(FaultRule("malformed", endpoints=("user_summary",), dates=(poison,)))
    settings = dict(start_date=START, resources=["user_summary"], max_retries=0)
    pipeline = make_pipeline(tmp_path)
    for attempt in (1, 2):
        run(pipeline, api, **settings)
        log = last_sync_log(pipeline)["user_summary"]
        # blocked at the window, as any failing window blocks its endpoint (failed: when the
        # refresh window holds it, nothing new is loaded)
        assert log["status"] in ("partial", "failed"), attempt
        assert log["fetched_to"] is None or log["fetched_to"] < poison, attempt
        assert "stopped at window" in log["message"]
    run(pipeline, api, **settings)
    log = last_sync_log(pipeline)["user_summary"]
    # the third time the same problem met it, its window is halved down to the day that does
    # not parse, that day is set aside, and the endpoint moves on
    aside = f"{poison.isoformat()}..{poison.isoformat()}"
    assert log["status"] == "partial" and log["fetched_to"] == LAST_COMPLETE
    assert "1 window(s) set aside" in log["message"] and aside in log["message"]
    assert "not JSON" in log["message"]
    days = {row["ref_date"] for row in table_rows(pipeline, "user_summary")}
    all_days = {START + timedelta(days=n) for n in range((LAST_COMPLETE - START).days + 1)}
    assert all_days - days == {poison}
    failed = [row for row in raw_rows(pipeline, "user_summary") if row["problem"]]
    assert len(failed) > 3 and all(
        row["requested_from"] <= poison <= row["requested_to"] for row in failed
    )

    # later runs ask for it again, one call, and it stays set aside while it fails
    before = len(api.data_requests("user_summary"))
    run(pipeline, api, **settings)
    again = [r for r in api.data_requests("user_summary")[before:] if r.begin <= poison <= r.end]
    assert [(r.begin, r.end) for r in again] == [(poison, poison)]
    assert last_sync_log(pipeline)["user_summary"]["status"] == "partial"

    # a bounded backfill over it skips it too, names it, and leaves state alone
    state = pipeline.state["sources"]["wechat_datacube"]["resources"]["user_summary"]
    kept_state = json.dumps(state, sort_keys=True, default=str)
    end = poison + timedelta(days=5)
    run(pipeline, api, **settings, end_date=end)
    log = last_sync_log(pipeline)["user_summary"]
    assert log["status"] == "partial" and log["fetched_to"] == end and aside in log["message"]
    state = pipeline.state["sources"]["wechat_datacube"]["resources"]["user_summary"]
    assert json.dumps(state, sort_keys=True, default=str) == kept_state

    # once WeChat answers it (or a parser fix reads it), it lands: no gap, no duplicate
    api.clear_faults()
    run(pipeline, api, **settings)
    log = last_sync_log(pipeline)["user_summary"]
    assert log["status"] == "ok" and "parsed now and landed" in log["message"]
    clean = reference(tmp_path, **settings)
    assert snapshot(pipeline)["user_summary"] == snapshot(clean)["user_summary"]
    state = pipeline.state["sources"]["wechat_datacube"]["resources"]["user_summary"]
    assert SET_ASIDE_KEY not in state and STREAK_KEY not in state


@pytest.mark.parametrize("errcode", [-1, 40003])  # busy (transient); an API error
def test_transient_and_api_errors_never_set_a_window_aside(
    tmp_path: Path, api: Emulator, errcode: int
) -> None:
    poison = LAST_COMPLETE - timedelta(days=20)
    api.add_fault(
        FaultRule("errcode", endpoints=("user_summary",), errcode=errcode, dates=(poison,))
    )
    settings = dict(start_date=START, resources=["user_summary"], max_retries=0)
    pipeline = make_pipeline(tmp_path)
    for _ in range(4):
        run(pipeline, api, **settings)
        log = last_sync_log(pipeline)["user_summary"]
        # stopped before the bad day, whatever the window around it (failed: nothing before)
        assert log["status"] in ("partial", "failed") and "set aside" not in log["message"]
        assert log["fetched_to"] is None or log["fetched_to"] < poison
    state = pipeline.state["sources"]["wechat_datacube"]["resources"]["user_summary"]
    assert SET_ASIDE_KEY not in state and STREAK_KEY not in state


@pytest.mark.destinations
def test_rebuilt_tables_equal_the_live_load_with_no_api_call(
    tmp_path: Path, destination: Any, clock: time_machine.Traveller
) -> None:
    tables = [
        "user_summary",
        "user_read",
        "article_read",
        "upstream_msg_week",
        "publisher_adpos_general",
        "publisher_settlement",
        "interface_summary",
    ]
    pipeline = make_pipeline(tmp_path, destination=destination)
    revised = tuple(LAST_COMPLETE - timedelta(days=n) for n in range(3))
    with Emulator() as api:
        # the first run sees provisional numbers of its last days, which the second replaces
        api.add_fault(FaultRule("mutate", endpoints=("upstream_msg_week",), mutation="wild"))
        api.add_fault(FaultRule("mutate", mutation="provisional", dates=revised))
        run(pipeline, api, start_date=START, resources=tables)
        api.clear_faults()
        clock.move_to(NOW + timedelta(days=2))
        run(pipeline, api, start_date=START, resources=tables)
    live = snapshot(pipeline)
    assert {t for t in live if "__" not in t} >= set(tables) and all(live.values())
    with pipeline.sql_client() as client:
        for table in live:
            client.execute_sql(f"DELETE FROM {client.make_qualified_table_name(table)}")
    assert not any(snapshot(pipeline).values())

    # no emulator runs now: any call would fail
    source, outcomes = rebuild_source(pipeline)
    pipeline.run(source).raise_on_failed_jobs()
    assert snapshot(pipeline) == live
    # and over the rows it wrote: nothing doubles, nothing changes
    pipeline.run(rebuild_source(pipeline)[0]).raise_on_failed_jobs()
    assert snapshot(pipeline) == live
    done = {outcome.endpoint: outcome for outcome in outcomes}
    assert all(done[table].answers and done[table].rows for table in tables)
    assert not any(outcome.failed for outcome in outcomes)
    assert query(pipeline, "SELECT COUNT(*) FROM wechat.sync_log")[0][0] == 2 * len(tables)


def test_with_keep_raw_responses_off_a_rebuild_never_brings_back_older_numbers(
    tmp_path: Path, api: Emulator, clock: time_machine.Traveller
) -> None:
    settings = dict(start_date=START, resources=["user_summary"], keep_raw_responses=False)
    bad, revised = LAST_COMPLETE - timedelta(days=1), (LAST_COMPLETE - timedelta(days=1),)
    pipeline = make_pipeline(tmp_path)
    api.add_fault(FaultRule("malformed", endpoints=("user_summary",), dates=(bad,)))
    api.add_fault(FaultRule("mutate", mutation="provisional", dates=revised))
    run(pipeline, api, **settings, max_retries=0)  # the window of `bad` fails: kept
    api.clear_faults()
    api.add_fault(FaultRule("mutate", mutation="provisional", dates=revised))
    run(pipeline, api, **settings)  # it lands, provisional: kept, as it failed before
    api.clear_faults()
    clock.move_to(NOW + timedelta(days=2))
    run(pipeline, api, **settings)  # the final numbers: not kept
    live = snapshot(pipeline)
    assert len(table_rows(pipeline, "raw_responses")) == 2

    source, outcomes = rebuild_source(pipeline)
    pipeline.run(source).raise_on_failed_jobs()
    # the kept provisional body is older than the run that loaded the final numbers
    assert snapshot(pipeline) == live
    assert [outcome.answers for outcome in outcomes if outcome.endpoint == "user_summary"] == [1]


def test_a_parser_upgrade_rebuilds_a_window_it_had_set_aside(
    tmp_path: Path, api: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the version before the upgrade did not know the older shape of getuserread's rows
    import wechat_datacube_source

    older = tuple(
        replace(endpoint, key_defaults={}) if endpoint.table == "user_read" else endpoint
        for endpoint in ENDPOINTS
    )
    monkeypatch.setattr(wechat_datacube_source, "ENDPOINTS", older)
    old_shape = LAST_COMPLETE - timedelta(days=10)
    api.add_fault(
        FaultRule("mutate", endpoints=("user_read",), mutation="wild", dates=(old_shape,))
    )
    settings = dict(start_date=START, resources=["user_read"])
    pipeline = make_pipeline(tmp_path)
    for _ in range(3):
        run(pipeline, api, **settings)
    log = last_sync_log(pipeline)["user_read"]
    assert log["status"] == "partial" and "has no user_source" in log["message"]
    assert old_shape not in {row["ref_date"] for row in table_rows(pipeline, "user_read")}

    monkeypatch.undo()  # the upgrade
    source, outcomes = rebuild_source(pipeline, ["user_read"])
    pipeline.run(source).raise_on_failed_jobs()
    rows = [row for row in rows_of(pipeline, "user_read") if row["ref_date"] == old_shape]
    assert [row["user_source"] for row in rows] == [99999999]
    assert not outcomes[0].failed
    assert any("older documented shape" in note for note in outcomes[0].notes)


def test_a_recent_day_set_aside_is_asked_again_in_the_refresh_window_without_harm(
    tmp_path: Path, api: Emulator
) -> None:
    bad = LAST_COMPLETE - timedelta(days=1)  # within the refresh window of every later run
    api.add_fault(FaultRule("malformed", endpoints=("user_summary",), dates=(bad,)))
    settings = dict(start_date=START, resources=["user_summary"], max_retries=0)
    pipeline = make_pipeline(tmp_path)
    for _ in range(5):
        run(pipeline, api, **settings)
        log = last_sync_log(pipeline)["user_summary"]
    # the refresh window holding the day set aside is split down to it, run after run
    assert log["status"] == "partial" and f"{bad}..{bad} (" in log["message"]
    days = {row["ref_date"] for row in table_rows(pipeline, "user_summary")}
    all_days = {START + timedelta(days=n) for n in range((LAST_COMPLETE - START).days + 1)}
    assert all_days - days == {bad}
