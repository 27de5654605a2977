"""dlt's own way of reading what was loaded, `pipeline.dataset()`, works on what we load.

It is the first thing a dlt user tries after a load. It broke on a fresh install while our
own SQL went on working: sqlglot 30.22 dropped an argument dlt 1.31 passes. `pyproject.toml`
bounds sqlglot, and this test is what fails when a newer release breaks it again.

Not bounded, and so not asserted on DuckDB: duckdb 2.0 dropped `fetch_arrow_table`, which
dlt 1.31 calls for `.arrow()` of a DuckDB dataset (rows and queries work). Holding duckdb
below 2.0 would lock out every file duckdb 2.0 wrote (storage 69 does not open in 1.5).
"""

from datetime import timedelta

import dlt
import pytest

from tests.helpers import LAST_COMPLETE, run, table_rows
from wechat_datacube_source.emulator import Emulator

pytestmark = pytest.mark.destinations

TABLES = ["user_summary", "user_cumulate"]


def test_the_loaded_tables_read_through_dlt_dataset(pipeline: dlt.Pipeline, api: Emulator) -> None:
    run(pipeline, api, resources=TABLES, start_date=str(LAST_COMPLETE - timedelta(days=9)))
    expected = {table: len(table_rows(pipeline, table)) for table in TABLES}
    assert expected["user_cumulate"] == 10 and expected["user_summary"] > 10

    dataset = pipeline.dataset()
    # a table, whole, as rows (and as arrow where dlt can: not on duckdb 2, module docstring)
    rows = dataset.user_cumulate.fetchall()
    assert len(rows) == 10
    if pipeline.destination.destination_name != "duckdb":
        assert dataset["user_cumulate"].arrow().num_rows == 10
    # a query in SQL
    [(count,)] = dataset("SELECT COUNT(*) FROM user_summary WHERE new_user >= 0").fetchall()
    assert count == expected["user_summary"]
    # dlt's row counts of every table
    counts = dict(dataset.row_counts().fetchall())
    assert {table: counts[table] for table in TABLES} == expected
