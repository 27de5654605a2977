"""What the connector sends, read from the emulator's request log: shape, span, cover, count."""

from datetime import date, timedelta
from typing import List, Tuple

import dlt

from tests.helpers import LAST_COMPLETE, last_sync_log, run
from wechat_datacube_source.catalog import BY_TABLE, ENDPOINTS
from wechat_datacube_source.emulator import DEMO_APP_ID, Emulator
from wechat_datacube_source.settings import PUBLISHER_PAGE_SIZE
from wechat_datacube_source.windows import first_label, plan_windows

START, END = date(2025, 10, 20), date(2025, 11, 12)


def test_every_endpoint_sends_valid_minimal_requests(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, start_date=START, end_date=END, include_ad_stats=True)
    log = last_sync_log(pipeline)
    for endpoint in ENDPOINTS:
        requests = sorted(
            api.data_requests(endpoint.table), key=lambda r: (r.begin, int(r.params.get("page", 0)))
        )
        expected = plan_windows(endpoint, START, END)
        sent: List[Tuple[date, date]] = []
        for request in requests:
            assert request.errcode == 0, (endpoint.table, request)
            assert request.params["access_token"]
            if endpoint.is_publisher:
                assert request.method == "GET" and request.path == "/publisher/stat"
                assert request.params["action"] == endpoint.api_name
                assert request.params["page_size"] == str(PUBLISHER_PAGE_SIZE)
                assert set(request.params) == {
                    "action",
                    "access_token",
                    "page",
                    "page_size",
                    "start_date",
                    "end_date",
                }
                assert request.body is None
            else:
                assert request.method == "POST" and request.path == f"/datacube/{endpoint.api_name}"
                assert set(request.body) == {"begin_date", "end_date"}
                assert set(request.params) == {"access_token"}
            assert request.begin is not None and request.end is not None
            assert request.begin >= endpoint.earliest, f"{endpoint.table} asked before its floor"
            assert request.end <= END
            assert (request.end - request.begin).days + 1 <= endpoint.widest_span
            sent.append((request.begin, request.end))
        # exactly the planned windows, each once (publisher: page by page until total_num
        # rows), which is the minimum number of calls. Compared sorted: windows are fetched
        # ahead in parallel, so the log's order is arrival order; the order of commits is
        # test_concurrency's and test_incremental's to prove
        planned = [(w.begin, w.end) for w in expected]
        if endpoint.is_publisher:
            planned = [
                (w.begin, w.end)
                for w in expected
                for _ in range(
                    max(
                        1,
                        -(
                            -len(api.rows(endpoint, DEMO_APP_ID, w.begin, w.end))
                            // PUBLISHER_PAGE_SIZE
                        ),
                    )
                )
            ]
            pages = [int(r.params["page"]) for r in requests]
            assert pages == [
                n for w in expected for n in range(1, planned.count((w.begin, w.end)) + 1)
            ]
        assert sent == planned, endpoint.table
        assert log[endpoint.table]["status"] == "ok"
        assert log[endpoint.table]["api_calls"] == len(planned)
    # every table is keyed by app_id plus its natural key and merged per (app_id, date)
    for endpoint in ENDPOINTS:
        columns = pipeline.default_schema.get_table_columns(endpoint.table)
        assert [n for n, c in columns.items() if c.get("primary_key")] == [
            "app_id",
            *endpoint.primary_key,
        ]
        assert {n for n, c in columns.items() if c.get("merge_key")} == {
            "app_id",
            endpoint.date_field,
        }
        assert pipeline.default_schema.get_table(endpoint.table)["write_disposition"] == "merge"
    # the published-content family starts 2025-11-01 and the floor is respected
    assert api.data_requests("getarticleread")[0].begin == date(2025, 11, 1)
    # a month window is the first day of a month that is over
    assert [r.begin for r in api.data_requests("upstream_msg_month")] == [date(2025, 10, 1)]


def test_one_stable_token_serves_the_whole_run(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=["user_summary", "user_cumulate", "interface_summary"])
    token_requests = [r for r in api.requests if r.endpoint in ("token", "stable_token")]
    assert [r.endpoint for r in token_requests] == ["stable_token"]
    assert token_requests[0].body["force_refresh"] is False
    tokens = {r.params["access_token"] for r in api.data_requests()}
    assert len(tokens) == 1


def test_a_first_run_loads_the_30_days_up_to_the_last_complete_day(
    pipeline: dlt.Pipeline, api: Emulator
) -> None:
    run(pipeline, api, resources=["user_summary", "upstream_msg_week"])
    requests = api.data_requests("user_summary")
    assert min(r.begin for r in requests) == LAST_COMPLETE - timedelta(days=29)
    assert max(r.end for r in requests) == LAST_COMPLETE
    weeks = api.data_requests("upstream_msg_week")
    assert min(r.begin for r in weeks) == first_label(
        BY_TABLE["upstream_msg_week"], LAST_COMPLETE - timedelta(days=29)
    )
