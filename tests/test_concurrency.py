"""Requests in flight, request rate and call budget: the account's limits hold."""

from datetime import timedelta

import dlt
import pytest
import time_machine

from tests.helpers import LAST_COMPLETE, last_sync_log, run, snapshot
from wechat_datacube_source import ConfigurationError
from wechat_datacube_source.emulator import Emulator

TABLES = ["user_read", "user_share", "article_read", "user_summary"]
START = LAST_COMPLETE - timedelta(days=11)


@pytest.mark.parametrize("limit", [1, 3, 8])
def test_the_in_flight_limit_holds_across_endpoints(
    pipeline: dlt.Pipeline, clock: time_machine.Traveller, limit: int
) -> None:
    with Emulator(latency_seconds=0.03) as api:
        run(pipeline, api, resources=TABLES, start_date=START, max_concurrent_requests=limit)
    assert api.max_in_flight <= limit
    if limit > 1:
        assert api.max_in_flight >= 2, "windows were not fetched ahead"
    assert {log["status"] for log in last_sync_log(pipeline).values()} == {"ok"}


def test_fetching_ahead_loads_the_same_tables_as_one_request_at_a_time(
    tmp_path, clock: time_machine.Traveller
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import make_pipeline

    results = []
    for limit in (1, 8):
        with Emulator(latency_seconds=0.01) as api:
            pipeline = make_pipeline(tmp_path / str(limit), f"p{limit}")
            run(pipeline, api, resources=TABLES, start_date=START, max_concurrent_requests=limit)
            logs = last_sync_log(pipeline)
            assert {logs[table]["status"] for table in TABLES} == {"ok"}
            results.append(snapshot(pipeline))
    # (two empty loads were equal too, when every window failed)
    assert set(results[0]) >= set(TABLES) and all(results[0].values())
    assert results[0] == results[1]


def test_the_request_rate_cap_spaces_requests(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=["user_read_hour"], start_date=START, max_requests_per_second=20)
    starts = sorted(r.at for r in api.requests)
    assert len(starts) == 13  # the token and 12 one-day windows
    assert starts[-1] - starts[0] >= 12 / 20 * 0.9


def test_the_call_budget_stops_the_run_cleanly_and_the_next_run_resumes(
    tmp_path,
    pipeline: dlt.Pipeline,
    api: Emulator,  # type: ignore[no-untyped-def]
) -> None:
    from tests.helpers import reference

    run(pipeline, api, resources=TABLES, start_date=START, max_calls=10, max_concurrent_requests=1)
    assert len(api.requests) == 10  # the token fetch counts too
    logs = last_sync_log(pipeline)
    stopped = [log for log in logs.values() if log["status"] in ("partial", "failed")]
    assert stopped and all(
        "max_calls budget of 10 calls is used up" in log["message"] for log in stopped
    )
    run(pipeline, api, resources=TABLES, start_date=START)
    assert snapshot(pipeline) == snapshot(reference(tmp_path, resources=TABLES, start_date=START))


@pytest.mark.parametrize(
    ("setting", "value"),
    [("max_concurrent_requests", 0), ("max_requests_per_second", -1.0), ("max_calls", 0)],
)
def test_limits_are_validated(api: Emulator, setting: str, value: float) -> None:
    from tests.helpers import source

    with pytest.raises(ConfigurationError, match=f"^{setting}: "):
        source(api, **{setting: value})
