"""Helpers shared by the tests: building pipelines and sources, reading tables back."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

import dlt
from dlt.common.pipeline import LoadInfo

from wechat_datacube_source import wechat_datacube
from wechat_datacube_source.emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator
from wechat_datacube_source.settings import BEIJING

# 10:00 in Beijing: yesterday (2026-06-14) is complete
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=BEIJING)
LAST_COMPLETE = date(2026, 6, 14)


def make_pipeline(tmp_path: Path, name: str = "wechat_test") -> dlt.Pipeline:
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=dlt.destinations.duckdb(str(tmp_path / "test.duckdb")),
        dataset_name="wechat",
    )


def source(api: Emulator, **settings: Any) -> Any:
    """The source pointed at the emulator's demo account, with fast retries."""
    arguments: Dict[str, Any] = {
        "app_id": DEMO_APP_ID,
        "app_secret": DEMO_APP_SECRET,
        "base_url": api.base_url,
        "retry_backoff_seconds": 0.0,
    }
    arguments.update(settings)
    return wechat_datacube(**arguments)


def run(pipeline: dlt.Pipeline, api: Emulator, **settings: Any) -> LoadInfo:
    info = pipeline.run(source(api, **settings))
    info.raise_on_failed_jobs()
    return info


def query(pipeline: dlt.Pipeline, sql: str) -> List[Any]:
    with pipeline.sql_client() as client:
        return list(client.execute_sql(sql) or [])


def table_rows(pipeline: dlt.Pipeline, table: str, columns: str = "*") -> List[Dict[str, Any]]:
    with pipeline.sql_client() as client:
        name = client.make_qualified_table_name(table)
        with client.execute_query(f"SELECT {columns} FROM {name}") as cursor:  # noqa: S608
            names = [description[0] for description in cursor.description]
            return [dict(zip(names, row)) for row in cursor.fetchall()]


def last_sync_log(pipeline: dlt.Pipeline) -> Dict[str, Dict[str, Any]]:
    """sync_log rows of the newest run, by endpoint."""
    rows = table_rows(pipeline, "sync_log")
    newest = max(row["run_id"] for row in rows)
    return {row["endpoint"]: row for row in rows if row["run_id"] == newest}


def days(first: date, last: date) -> List[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


NOT_DATA = ("sync_log", "code_labels")


def snapshot(
    pipeline: dlt.Pipeline, columns_of: Optional[Dict[str, List[str]]] = None
) -> Dict[str, List[str]]:
    """Every data table's rows (dlt's own columns left out), order-free, for comparing loads.

    `columns_of` restricts tables to the columns another snapshot has (to ignore new columns).
    """
    result: Dict[str, List[str]] = {}
    schema = pipeline.default_schema
    for table in schema.data_table_names(seen_data_only=True):
        if table in NOT_DATA:
            continue
        names = [n for n in schema.get_table_columns(table) if not n.startswith("_dlt")]
        if columns_of is not None:
            names = [n for n in names if n in columns_of.get(table, [])]
        select = ", ".join(f'"{n}"' for n in names)
        result[table] = sorted(
            repr(row) for row in query(pipeline, f"SELECT {select} FROM wechat.{table}")
        )
    return result


def columns(pipeline: dlt.Pipeline) -> Dict[str, List[str]]:
    schema = pipeline.default_schema
    return {
        t: list(schema.get_table_columns(t)) for t in schema.data_table_names(seen_data_only=True)
    }


def reference(tmp_path: Path, **settings: Any) -> dlt.Pipeline:
    """A fault-free load of the same account and settings, on a fresh emulator."""
    with Emulator() as clean:
        pipeline = make_pipeline(tmp_path / "reference", name="wechat_reference")
        run(pipeline, clean, **settings)
    return pipeline
