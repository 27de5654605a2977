"""Helpers shared by the tests: building pipelines and sources, reading tables back."""

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List

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
