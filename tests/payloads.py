"""Loads a response body through the source and checks that it landed whole: every row,
every field with its value and type, every nested element (the official samples and the
corpus of bodies other projects captured use it alike)."""

import json
from datetime import date
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional

import time_machine

from tests.helpers import last_sync_log, make_pipeline, run, table_rows
from wechat_datacube_source.catalog import Endpoint
from wechat_datacube_source.emulator import Emulator
from wechat_datacube_source.windows import period_end, period_start

NESTED = ("detail", "details", "detail_list")


def expected_rows(endpoint: Endpoint, payload: Mapping[str, Any]) -> Iterator[Dict[str, Any]]:
    """The body as the README says it lands: `detail` lifted, `details` one row each, a
    week or month row under its period's first day (WeChat's own date beside it), another
    spelling of a field under the declared name, a key field older shapes omit set to the
    value that stands for it."""
    shared = {name: payload[name] for name in endpoint.response_fields}
    for item in payload[endpoint.list_key]:
        base = {key: value for key, value in item.items() if key not in NESTED}
        base.update(item.get("detail", {}))
        for alias, declared in endpoint.aliases.items():
            if alias in base and declared not in base:
                base[declared] = base.pop(alias)
        for name, value in endpoint.key_defaults.items():
            base.setdefault(name, value)
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


def load_sample(
    tmp_path: Path, endpoint: Endpoint, payload_text: str, start: Optional[date] = None
) -> Any:
    """A bounded load of the period holding the body's first date (or `start`), every request
    of the endpoint answered with the body."""
    payload = json.loads(payload_text)
    start = start or min(label_dates(endpoint, payload))
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
                # every field of every element (an element may have fields the first lacks)
                fields = {k for element in value for k in element}
                assert sorted(({k: c.get(k) for k in fields} for c in mine), key=repr) == sorted(
                    ({k: element.get(k) for k in fields} for element in value), key=repr
                ), name
                continue
            assert row[name] == _typed(endpoint, name, value), name
            assert columns[name]["data_type"] == _column_type(endpoint, name, value), name
    if endpoint.summary_table is not None:
        # WeChat's own totals of the window, and how many rows it says the window has
        (summary,) = table_rows(pipeline, endpoint.summary_table)
        for name, value in {
            **payload.get("summary", {}),
            "total_num": payload["total_num"],
        }.items():
            assert summary[name] == value, name
    assert last_sync_log(pipeline)[endpoint.table]["status"] == "ok"


def _column_type(endpoint: Endpoint, name: str, value: Any) -> str:
    """A declared field's type; a field nobody declared takes its value's."""
    if name in endpoint.fields:
        return endpoint.fields[name]
    return {date: "date", int: "bigint", float: "double", str: "text"}[type(value)]


def _typed(endpoint: Endpoint, name: str, value: Any) -> Any:
    kind = endpoint.fields.get(name)
    if kind == "date":
        return date.fromisoformat(value)
    if kind == "bigint" and isinstance(value, str):
        return int(value)  # mail_send_cnt is a string in the sample; it is a count
    return value
