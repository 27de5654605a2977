"""Every official sample payload of the reference lands with exact values and types."""

import json
from datetime import date
from pathlib import Path

import pytest
import time_machine

from tests.helpers import last_sync_log, make_pipeline, run
from tests.payloads import assert_lands_exactly, label_dates, load_sample
from wechat_datacube_source.catalog import BY_API_NAME, ENDPOINTS, Endpoint
from wechat_datacube_source.emulator import Emulator
from wechat_datacube_source.emulator.samples import REDATED, SAMPLES, redated
from wechat_datacube_source.windows import period_end


@pytest.mark.parametrize(
    "endpoint", [e for e in ENDPOINTS if e.api_name not in REDATED], ids=lambda e: e.table
)
def test_official_sample_lands_exactly(tmp_path: Path, endpoint: Endpoint) -> None:
    pipeline, payload = load_sample(tmp_path, endpoint, SAMPLES[endpoint.api_name])
    assert_lands_exactly(pipeline, endpoint, payload)


@pytest.mark.parametrize("api_name", sorted(REDATED))
def test_unusable_sample_dates_are_explained_and_the_redated_sample_lands(
    tmp_path: Path, api_name: str
) -> None:
    endpoint = BY_API_NAME[api_name]
    payload = json.loads(redated(api_name))
    pipeline, _ = load_sample(tmp_path / "redated", endpoint, redated(api_name))
    assert_lands_exactly(pipeline, endpoint, payload)

    printed = json.loads(SAMPLES[api_name])
    with time_machine.travel(date(2026, 6, 15), tick=True), Emulator(samples=True) as api:
        verbatim = make_pipeline(tmp_path / "verbatim")
        start = min(label_dates(endpoint, payload))
        run(
            verbatim,
            api,
            start_date=start,
            end_date=period_end(start, endpoint.grain),
            resources=[endpoint.table],
        )
    log = last_sync_log(verbatim)[endpoint.table]
    if api_name == "publisher_cps_general":
        assert log["status"] == "failed"
        assert "20XX-XX-XX" in log["message"] and "not a YYYY-MM-DD date" in log["message"]
    else:
        # labelled outside every window the connector may send: dropped and counted
        assert log["status"] == "ok_rows_dropped" and log["rows"] == 0
        assert (
            f"{len(printed['list'])} rows dated outside their request were dropped"
            in log["message"]
        )
