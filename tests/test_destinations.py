"""Beyond DuckDB: Parquet files on the filesystem destination, and the warehouses' schema.

BigQuery and Snowflake cannot run here; what dlt would create there is checked instead: the
source is extracted and normalized for that destination (no credentials needed), and every
column's type comes from the destination's own type mapper.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Tuple

import dlt
import pyarrow.parquet as pq
import pytest

from tests.helpers import LAST_COMPLETE, NOT_DATA, ROOT, make_pipeline, run, snapshot, source
from wechat_datacube_source import scope_day_merges
from wechat_datacube_source.catalog import BY_TABLE, ENDPOINTS, SUMMARY_KEY, table_columns
from wechat_datacube_source.emulator import Emulator

TABLES = ["user_summary", "user_cumulate", "article_read", "upstream_msg_week"]
START = (LAST_COMPLETE - timedelta(days=20)).isoformat()


def parquet_rows(folder: Path, like: dlt.Pipeline) -> Dict[str, List[str]]:
    """Every table's rows read back from the Parquet files, as `snapshot(like)` gives them."""
    found: Dict[str, List[str]] = {}
    for table in like.default_schema.data_table_names(seen_data_only=True):
        files = sorted((folder / table).glob("*.parquet"))
        if table in NOT_DATA or not files:
            continue
        names = [
            n for n in like.default_schema.get_table_columns(table) if not n.startswith("_dlt")
        ]
        rows = [
            tuple(row[n] for n in names)
            for file in files
            for row in pq.read_table(file, columns=names).to_pylist()
        ]
        found[table] = sorted(repr(row) for row in rows)
    return found


def test_parquet_files_hold_what_duckdb_holds(
    tmp_path: Path, api: Emulator, pipeline: dlt.Pipeline
) -> None:
    lake = make_pipeline(
        tmp_path / "lake",
        name="wechat_lake",
        destination=dlt.destinations.filesystem(str(tmp_path / "files")),
    )
    info = lake.run(source(api, resources=TABLES, start_date=START))
    info.raise_on_failed_jobs()
    run(pipeline, api, resources=TABLES, start_date=START)

    files = parquet_rows(tmp_path / "files" / "wechat", like=pipeline)
    children = [BY_TABLE[t].child_table(c) for t in TABLES for c in BY_TABLE[t].children]
    assert set(files) == {*TABLES, *children}
    assert files == snapshot(pipeline)
    assert all(files.values())
    schema = pq.read_schema(
        next((tmp_path / "files" / "wechat" / "user_summary").glob("*.parquet"))
    )
    assert str(schema.field("ref_date").type) == "date32[day]"
    assert str(schema.field("new_user").type) == "int64"
    assert str(schema.field("app_id").type) == "string"


def documented_types() -> Dict[str, Dict[str, str]]:
    """The README's table of column types: {destination: {dlt type: destination type}}."""
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- types:begin -->")[1].split("<!-- types:end -->")[0]
    lines = [line for line in block.strip().splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    table: Dict[str, Dict[str, str]] = {name: {} for name in header[1:]}
    for line in lines[2:]:
        cells = [re.sub(r"`", "", cell).strip() for cell in line.strip("|").split("|")]
        for name, value in zip(header[1:], cells[1:]):
            table[name][cells[0]] = value
    return table


@pytest.mark.parametrize("warehouse", ["duckdb", "postgres", "bigquery", "snowflake"])
def test_each_table_gets_the_documented_types_and_keys(
    tmp_path: Path, api: Emulator, warehouse: str
) -> None:
    pipeline = make_pipeline(tmp_path, name=f"wechat_{warehouse}", destination=warehouse)
    pipeline.extract(source(api, start_date=START, include_ad_stats=True))
    pipeline.normalize()
    schema = pipeline.default_schema
    mapper: Any = pipeline.destination.capabilities().get_type_mapper()
    documented = documented_types()[warehouse]
    checked = 0
    for endpoint in ENDPOINTS:
        keys: Dict[str, Tuple[str, ...]] = {endpoint.table: endpoint.primary_key}
        merge_keys = dict.fromkeys(keys, ("app_id", endpoint.date_field))
        for child in endpoint.children:
            keys[endpoint.child_table(child)] = endpoint.child_key(child)
            merge_keys[endpoint.child_table(child)] = ("app_id", endpoint.date_field)
        if endpoint.summary_table is not None:
            # one row per requested window, replaced when the window is asked again
            keys[endpoint.summary_table] = SUMMARY_KEY
            merge_keys[endpoint.summary_table] = ()
        assert set(table_columns(endpoint)) == set(keys)
        for table_name, hints in table_columns(endpoint).items():
            table = schema.get_table(table_name)
            for name, hint in hints.items():
                column = table["columns"][name]
                assert mapper.to_destination_type(column, table) == documented[hint["data_type"]]
                checked += 1
            primary = [n for n, c in table["columns"].items() if c.get("primary_key")]
            merge = [n for n, c in table["columns"].items() if c.get("merge_key")]
            assert primary == ["app_id", *keys[table_name]], table_name
            assert merge == list(merge_keys[table_name]), table_name
            assert all(table["columns"][n].get("nullable") is False for n in primary)
    # every declared column of the 32 tables of the 24 endpoints (their own, child and summary
    # tables): a table left out of `table_columns` or of the schema fails here
    assert checked == 257
    log = schema.get_table("sync_log")
    assert mapper.to_destination_type(log["columns"]["started_at"], log) == documented["timestamp"]
    raw = schema.get_table("raw_responses")
    assert mapper.to_destination_type(raw["columns"]["fetched_at"], raw) == documented["timestamp"]


@pytest.mark.parametrize("destination", ["duckdb", "postgres", "bigquery", "filesystem"])
def test_only_duckdb_merges_delete_by_the_day_alone(
    tmp_path: Path, api: Emulator, destination: str
) -> None:
    """Into DuckDB every table merged by day deletes by (app_id, day) alone, a SQL scope that
    DuckDB plans as a join (day_merges.py); elsewhere dlt's own delete stays."""
    pipeline = make_pipeline(tmp_path, name=f"wechat_{destination}", destination=destination)
    prepared = source(api, start_date=START, include_ad_stats=True)
    scope_day_merges(prepared, pipeline.destination.destination_name)
    pipeline.extract(prepared)
    schema = pipeline.default_schema
    scoped = 0
    for endpoint in ENDPOINTS:
        by_day = [endpoint.table, *(endpoint.child_table(child) for child in endpoint.children)]
        for table_name in by_day:
            scope = schema.get_table(table_name).get("x-merge-destination-scope")
            if destination != "duckdb":
                assert scope is None, table_name
                continue
            day = f's."{endpoint.date_field}" = {{table}}."{endpoint.date_field}"'
            assert f's."app_id" = {{table}}."app_id" AND {day}' in str(scope), table_name
            scoped += 1
        if endpoint.summary_table is not None:
            assert "x-merge-destination-scope" not in schema.get_table(endpoint.summary_table)
    by_day_tables = sum(1 + len(endpoint.children) for endpoint in ENDPOINTS)
    assert scoped == (by_day_tables if destination == "duckdb" else 0)


def test_a_write_disposition_of_the_users_own_stays(api: Emulator) -> None:
    prepared = source(api, resources=["user_summary", "user_read"])
    prepared.user_read.apply_hints(write_disposition="append")
    scope_day_merges(prepared, "duckdb")
    scope_day_merges(prepared, "duckdb")  # twice: the scope, given once, stays
    assert prepared.user_read.write_disposition == "append"
    given = prepared.user_summary.write_disposition
    assert isinstance(given, dict) and "destination_scope" in given
