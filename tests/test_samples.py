"""Every official sample payload of the reference lands with exact values and types."""

import json
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping

import pytest
import time_machine

from tests.helpers import last_sync_log, make_pipeline, run, table_rows
from wechat_datacube_source.catalog import BY_API_NAME, ENDPOINTS, Endpoint
from wechat_datacube_source.emulator import Emulator
from wechat_datacube_source.emulator.samples import REDATED, SAMPLES, redated
from wechat_datacube_source.windows import period_end, period_start

NESTED = ("detail", "details", "detail_list")


def expected_rows(endpoint: Endpoint, payload: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
    """The sample as the reference says it lands: `detail` lifted, `details` one row each, a
    week or month row under its period's first day (WeChat's own date beside it)."""
    shared = {name: payload[name] for name in endpoint.response_fields}
    for item in payload[endpoint.list_key]:
        base = {key: value for key, value in item.items() if key not in NESTED}
        base.update(item.get("detail", {}))
        dated = date.fromisoformat(base[endpoint.date_field])
        label = period_start(dated, endpoint.grain)
        if label != dated:
            base[endpoint.date_field] = label.isoformat()
            base[endpoint.date_field + "__as_sent"] = dated
        children = item.get("details") or item.get("detail_list")
        for child in children or [{}]:
            yield {**base, **child, **shared}


def label_dates(endpoint: Endpoint, payload: Mapping[str, Any]) -> List[date]:
    return [date.fromisoformat(item[endpoint.date_field]) for item in payload[endpoint.list_key]]


def load_sample(tmp_path: Path, endpoint: Endpoint, payload_text: str) -> Any:
    payload = json.loads(payload_text)
    start = min(label_dates(endpoint, payload))
    end = period_end(start, endpoint.grain)
    with (
        time_machine.travel(date(2026, 6, 15), tick=True),
        Emulator(samples={endpoint.api_name: payload_text}) as api,
    ):
        pipeline = make_pipeline(tmp_path)
        run(pipeline, api, start_date=start, end_date=end, resources=[endpoint.table])
    return pipeline, payload


def assert_lands_exactly(pipeline: Any, endpoint: Endpoint, payload: Mapping[str, Any]) -> None:
    expected = list(expected_rows(endpoint, payload))
    columns = pipeline.default_schema.get_table_columns(endpoint.table)
    rows = table_rows(pipeline, endpoint.table)
    assert len(rows) == len(expected)
    key = ("app_id", *endpoint.primary_key)
    by_key = {tuple(row[name] for name in key): row for row in rows}
    for want in expected:
        row = by_key[
            tuple(
                [rows[0]["app_id"]]
                + [_typed(endpoint, name, want[name]) for name in endpoint.primary_key]
            )
        ]
        for name, value in want.items():
            if isinstance(value, list):
                # a child table keyed by the parent's key: the elements in their order
                child = next(c for c in endpoint.children if c.list_field == name)
                children = table_rows(pipeline, endpoint.child_table(child))
                mine = [
                    c
                    for c in children
                    if all(c[k] == row[k] for k in ("app_id", *endpoint.primary_key))
                ]
                assert sorted(({k: c[k] for k in value[0]} for c in mine), key=repr) == sorted(
                    value, key=repr
                ), name
                continue
            assert row[name] == _typed(endpoint, name, value), name
            # every field is declared, but the date WeChat gave a relabelled period row
            assert columns[name]["data_type"] == endpoint.fields.get(name, "date"), name
    assert last_sync_log(pipeline)[endpoint.table]["status"] == "ok"


def _typed(endpoint: Endpoint, name: str, value: Any) -> Any:
    kind = endpoint.fields.get(name)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bigint" and isinstance(value, str):
        return int(value)  # mail_send_cnt is a string in the sample; it is a count
    return value


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
