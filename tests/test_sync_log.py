"""sync_log tells the truth about each run: run ids in run order, no `ok` for rows that did
not reach the destination."""

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import dlt
import duckdb
import psycopg2.errors
import pytest
import time_machine
from dlt.common.destination.exceptions import SchemaUpdateTransientError
from dlt.destinations.exceptions import DatabaseTransientException, DatabaseUndefinedRelation
from dlt.pipeline.exceptions import PipelineStepFailed

from tests.helpers import query, snapshot
from tests.hostile import HostileServer, Reply, Request, wechat_like
from tests.test_hostile import START, clean_load, columns, hostile_source
from wechat_datacube_source.account_run import new_run_id
from wechat_datacube_source.loading import NOT_LOADED, _refused_by_parser, load_source
from wechat_datacube_source.run_summary import needs_rerun


def test_run_ids_sort_in_run_order_even_within_one_clock_tick() -> None:
    # a timestamp to the second plus random hex sorted two runs of one second at random
    with time_machine.travel(datetime(2026, 6, 15, 2, 0, tzinfo=timezone.utc), tick=False):
        ids = [new_run_id() for _ in range(50)]
    assert sorted(ids) == ids and len(set(ids)) == 50
    assert all(re.fullmatch(r"\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{8}", run_id) for run_id in ids)


def rebuild_without_constraints(pipeline: dlt.Pipeline, table: str) -> None:
    """What a person fixing the table does: the same columns and rows, no constraint, and
    the column dlt adds to every table if the table lacks it (DuckDB 1.x cannot add that
    `_dlt_load_id NOT NULL` to a table itself, so it is refused before the table gets it)."""
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        fixed = client.make_qualified_table_name(f"{table}_fixed")
        has = client.execute_sql(
            "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = %s "
            "AND table_name = %s AND column_name = '_dlt_load_id'",
            client.dataset_name,
            table,
        )
        added = "" if has and has[0][0] else ", CAST(NULL AS VARCHAR) AS _dlt_load_id"
        client.execute_sql(f"CREATE TABLE {fixed} AS SELECT *{added} FROM {name}")
        client.execute_sql(f"DROP TABLE {name}")
        client.execute_sql(f"ALTER TABLE {fixed} RENAME TO {client.escape_column_name(table)}")


@pytest.mark.destinations
def test_a_load_no_retry_can_fix_never_jams_later_runs_and_is_never_called_ok(
    tmp_path: Path, pipeline: dlt.Pipeline, destination: Any, clock: Any
) -> None:
    tables = ["user_cumulate", "user_summary"]
    # a table someone made before the first load, with a rule the data breaks
    with pipeline.sql_client() as client:
        client.create_dataset()
        client.execute_sql(
            f"CREATE TABLE {client.make_qualified_table_name('user_cumulate')} (app_id "
            "VARCHAR NOT NULL, ref_date DATE NOT NULL, cumulate_user BIGINT CHECK (cumulate_user < 0))"
        )
    with HostileServer(wechat_like) as server:
        # an older runner's load fails and leaves its package behind
        with pytest.raises(PipelineStepFailed):
            pipeline.run(hostile_source(server, resources=tables))
        assert pipeline.has_pending_data
        server.requests.clear()
        outcome = load_source(pipeline, hostile_source(server, resources=tables))
        # not jammed: the old package was dropped and this run called WeChat again...
        assert server.calls("getusercumulate") and not pipeline.has_pending_data
        assert outcome.load_failed and not outcome.complete
        # in plain words, with what the destination said
        assert all("constraint" in problem.lower() for problem in outcome.problems)
        assert [
            problem.split(" failed in a way no retry can fix")[0] for problem in outcome.problems
        ] == [
            "the load an earlier run left",
            "this run's load",
        ]
        # ...and nothing says ok for rows that never reached the destination
        # (DuckDB 1.x refuses dlt's schema change itself, so no table of the load, sync_log
        # included, reaches it; PostgreSQL and DuckDB 2 refuse the rows, and sync_log lands)
        try:
            statuses = query(pipeline, "SELECT DISTINCT status, message FROM wechat.sync_log")
        except DatabaseUndefinedRelation:
            assert destination.destination_name == "duckdb" and duckdb.__version__ < "2"
            statuses = [("failed", NOT_LOADED)]  # (no table of the load reached DuckDB 1.x)
        assert statuses and all(
            status == "failed" and message.startswith(NOT_LOADED) for status, message in statuses
        ), statuses
        assert {result.status for result in outcome.results} <= {"failed"}
        # once the table is fixed, the next run loads everything, with no gap
        rebuild_without_constraints(pipeline, "user_cumulate")
        outcome = load_source(pipeline, hostile_source(server, resources=tables))
    assert outcome.complete and outcome.problems == []
    reference = clean_load(tmp_path, destination, resources=tables)
    assert snapshot(pipeline, columns(reference)) == snapshot(reference)


def test_a_load_whose_endpoint_stopped_is_not_complete(pipeline: dlt.Pipeline, clock: Any) -> None:
    """`LoadOutcome.complete` is what the README tells library users to check (breaks tried:
    `complete` reading only `load_failed`)."""

    def answer(request: Request) -> Reply:
        if (
            request.name == "getusersummary"
            and request.begin <= START + timedelta(days=1) <= request.end
        ):
            return Reply({"errcode": 40003, "errmsg": "invalid openid"})
        return wechat_like(request)

    with HostileServer(answer) as server:
        outcome = load_source(pipeline, hostile_source(server, resources=["user_summary"]))
    assert not outcome.load_failed and not outcome.complete
    assert [result.endpoint for result in needs_rerun(outcome.results)] == ["user_summary"]


def test_a_source_run_three_times_leaves_no_thread_and_gets_a_run_id_each_time(
    tmp_path: Path, clock: Any
) -> None:
    """Per-run things are made when the extract starts and released when it ends: a source
    built with its own pool left 8 idle threads per run (24 after three), and every run of
    one source object wrote its sync_log rows under the same run id."""
    import threading

    from tests.helpers import make_pipeline, source, table_rows
    from wechat_datacube_source.emulator import Emulator

    with Emulator() as api:
        before = {thread.ident for thread in threading.enumerate()}
        once = source(api, resources=["user_summary", "user_cumulate"])
        pipeline = make_pipeline(tmp_path)
        left = []
        for _ in range(3):
            pipeline.run(once).raise_on_failed_jobs()
            left.append(sorted(t.name for t in threading.enumerate() if t.ident not in before))
            # no thread of the run's pool is left (the deadline watchdog is one per process)
            assert not [name for name in left[-1] if name.startswith("wechat-datacube_")]
        assert left[0] == left[2], left
        runs = [row["run_id"] for row in table_rows(pipeline, "sync_log")]
    assert len(runs) == 6 and len(set(runs)) == 3
    # in run order: each run's id sorts after the one before
    by_load = {}
    for row in table_rows(pipeline, "sync_log"):
        by_load.setdefault(row["_dlt_load_id"], set()).add(row["run_id"])
    ordered = [ids.pop() for _, ids in sorted(by_load.items())]
    assert ordered == sorted(ordered) and len(ordered) == 3


def test_a_source_iterated_with_no_pipeline_yields_its_rows_once_a_run() -> None:
    """`list(source)` to look at rows, as dlt allows: no load package, still one run each.

    In a process of its own: with no pipeline of its own, dlt lends a source the state of the
    pipeline active in the process, which in a test worker is another test's."""
    import json
    import subprocess
    import sys

    from tests.helpers import ROOT
    from wechat_datacube_source.emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator

    code = (
        "import json, sys\n"
        "from wechat_datacube_source import wechat_datacube\n"
        "once = wechat_datacube(app_id=sys.argv[1], app_secret=sys.argv[2], base_url=sys.argv[3],"
        " resources=['user_cumulate'])\n"
        "for _ in range(2):\n"
        "    items = list(once.with_resources('user_cumulate'))\n"
        "    logs = [i for i in items if isinstance(i, dict) and 'run_id' in i]\n"
        "    print(json.dumps([(l['run_id'], l['status'], l['rows']) for l in logs]))\n"
    )
    with Emulator() as api:
        done = subprocess.run(
            [sys.executable, "-c", code, DEMO_APP_ID, DEMO_APP_SECRET, api.base_url],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "RUNTIME__DLTHUB_TELEMETRY": "false"},
        )
    assert done.returncode == 0, done.stderr
    (first,), (second,) = [json.loads(line) for line in done.stdout.splitlines()[-2:]]
    assert first[1:] == second[1:] == ["ok", 30]  # 30 days, one row each, both times
    assert first[0] < second[0]


def schema_change_failed(driver_error: BaseException) -> SchemaUpdateTransientError:
    """dlt's error for a failed schema change, raised from the driver's, as dlt raises it."""
    wrapped = DatabaseTransientException(driver_error)
    wrapped.__cause__ = driver_error
    error = SchemaUpdateTransientError("wechat_datacube", ["user_cumulate"], wrapped)
    error.__cause__ = wrapped
    return error


def test_only_a_statement_the_parser_refuses_makes_a_schema_change_final() -> None:
    """A refused statement is refused again; a clash of pipelines (a lock, a conflict) is
    worth the retry dlt offers (breaks tried: every schema-change failure final; a name
    match that took Python's own SyntaxError; a walk that never ended on a cycle)."""
    refused = [duckdb.ParserException("Adding columns with constraints not yet supported")]
    refused.append(psycopg2.errors.SyntaxError("syntax error at or near"))
    passing = [duckdb.TransactionException("Conflict on tuple"), SyntaxError("not a driver's")]
    passing.append(psycopg2.errors.LockNotAvailable("could not obtain lock"))
    assert [_refused_by_parser(schema_change_failed(e)) for e in refused] == [True, True]
    assert [_refused_by_parser(schema_change_failed(e)) for e in passing] == [False] * 3
    cycle = schema_change_failed(duckdb.TransactionException("Conflict"))
    assert cycle.__cause__ is not None
    cycle.__cause__.__cause__ = cycle
    assert not _refused_by_parser(cycle)


def test_more_of_a_run_carries_its_id_budget_account_stop_and_progress() -> None:
    """An endpoint that starts after the run's other endpoints ended gets a pool and
    connections of its own, and the same run: before, its new client forgot the account's
    stop (each such endpoint made its own failing call), the call budget and the progress."""
    import inspect

    from wechat_datacube_source import wechat_datacube
    from wechat_datacube_source.account_run import AccountRun
    from wechat_datacube_source.clock import last_complete_day
    from wechat_datacube_source.config import validate
    from wechat_datacube_source.errors import AccountStopped, WeChatApiError

    settings = {
        name: p.default for name, p in inspect.signature(wechat_datacube).parameters.items()
    }
    settings.update(app_id="wx1234567890abcdef", app_secret="s", base_url="http://127.0.0.1:9")
    config = validate(settings, last_complete_day())
    first = AccountRun.start(config)
    first.client.transport.calls.add()
    first.progress.planned(5)
    first.progress.done(rows=2)
    quota = WeChatApiError(45009, "reach max api daily quota limit", "user_read")
    first.client.transport.stop(quota)
    first.close()
    assert first.progress.finished

    more = AccountRun.start(config, first)
    try:
        assert more.run_id == first.run_id and more.pool is not first.pool
        assert more.progress is first.progress and not more.progress.finished
        assert more.client.transport.stopped is quota
        assert more.client.transport.calls.calls == 1
        with pytest.raises(AccountStopped):  # before any call: nothing listens on port 9
            more.client.transport.request("GET", "/datacube/x", label="user_cumulate", counter=None)
    finally:
        more.close()
