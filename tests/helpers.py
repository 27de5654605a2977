"""Helpers shared by the tests: building pipelines and sources, reading tables back."""

import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

import dlt
import duckdb
from dlt.common.pipeline import LoadInfo

from wechat_datacube_source import scope_day_merges, wechat_datacube
from wechat_datacube_source.catalog import BY_TABLE
from wechat_datacube_source.emulator import DEMO_APP_ID, DEMO_APP_SECRET, Emulator, FaultRule
from wechat_datacube_source.settings import BEIJING
from wechat_datacube_source.windows import Window, plan_windows

# 10:00 in Beijing: yesterday (2026-06-14) is complete
NOW = datetime(2026, 6, 15, 10, 0, tzinfo=BEIJING)
LAST_COMPLETE = date(2026, 6, 14)


def make_pipeline(
    tmp_path: Path, name: str = "wechat_test", destination: Optional[Any] = None
) -> dlt.Pipeline:
    """A pipeline with its own working folder; DuckDB in tmp_path unless told otherwise."""
    return dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(tmp_path / "pipelines"),
        destination=destination or dlt.destinations.duckdb(str(tmp_path / "test.duckdb")),
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
    # as the commands load: into DuckDB with the merge by day (day_merges.py)
    prepared = source(api, **settings)
    scope_day_merges(prepared, pipeline.destination.destination_name)
    info = pipeline.run(prepared)
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


def window_holding(table: str, start: date, end: date, day: date) -> Window:
    """The window of a first walk of `start..end` that asks for `day`, at the widest span."""
    return next(w for w in plan_windows(BY_TABLE[table], start, end) if w.begin <= day <= w.end)


def days(first: date, last: date) -> List[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


NOT_DATA = ("sync_log", "code_labels", "raw_responses")
"""Tables that record runs (appended to by each), not data that converges."""


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


def db_snapshot(path: Path, dataset: str = "wechat") -> Dict[str, List[str]]:
    """Like `snapshot`, read straight from a DuckDB file another process wrote."""
    with duckdb.connect(str(path), read_only=True) as db:
        tables = [
            name
            for (name,) in db.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = ? AND table_type = 'BASE TABLE'",
                [dataset],
            ).fetchall()
            if not name.startswith("_dlt") and name not in NOT_DATA
        ]
        result = {}
        for table in tables:
            names = sorted(
                name
                for (name,) in db.execute(
                    "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                    [dataset, table],
                ).fetchall()
                if not name.startswith("_dlt")
            )
            select = ", ".join(f'"{n}"' for n in names)
            rows = db.execute(f"SELECT {select} FROM {dataset}.{table}").fetchall()
            result[table] = sorted(repr(row) for row in rows)
    return result


ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "pipelines" / "wechat_datacube_pipeline.py"
PINNED_CLOCK = ROOT / "tests" / "pinned_clock.py"


def script_command(
    tmp_path: Path, *args: str, runner: Path = SCRIPT, now: Optional[datetime] = None
) -> List[str]:
    """The command that runs `runner` (the script or a runner of it); at `now` when given."""
    pinned = [str(PINNED_CLOCK), now.isoformat()] if now else []
    return [
        sys.executable,
        *pinned,
        str(runner),
        "--duckdb-file",
        str(tmp_path / "out.duckdb"),
        *args,
    ]


def script_environment(tmp_path: Path, env: Dict[str, str]) -> Dict[str, str]:
    """The environment of a pipeline-script subprocess: isolated dlt folders, no telemetry."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "DLT_PROJECT_DIR": str(tmp_path),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        **env,
    }


def run_script(
    tmp_path: Path,
    *args: str,
    env: Dict[str, str],
    runner: Path = SCRIPT,
    now: Optional[datetime] = None,
) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        script_command(tmp_path, *args, runner=runner, now=now),
        cwd=tmp_path,
        env=script_environment(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=300,
    )


COMMAND = [sys.executable, "-m", "wechat_datacube_source.cli"]
"""The `wechat-datacube` command, as the working tree has it (the installed script is the
same function: tests/test_command.py checks the wheel declares it)."""


def run_command(
    tmp_path: Path, *args: str, env: Dict[str, str]
) -> "subprocess.CompletedProcess[str]":
    """`wechat-datacube *args` in `tmp_path` (where its DuckDB file lands by default)."""
    return subprocess.run(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=script_environment(tmp_path, env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def credentials(api: Emulator, **settings: str) -> Dict[str, str]:
    """Source settings for a subprocess, as environment variables."""
    values = {
        "app_id": DEMO_APP_ID,
        "app_secret": DEMO_APP_SECRET,
        "base_url": api.base_url,
        "retry_backoff_seconds": "0",
        "max_retries": "1",
        **settings,
    }
    return {f"SOURCES__WECHAT_DATACUBE__{key.upper()}": value for key, value in values.items()}


def ip_not_whitelisted() -> FaultRule:
    """WeChat's answer to a token request from an IP outside the account's whitelist."""
    return FaultRule(
        "errcode",
        errcode=40164,
        errmsg="invalid ip 203.0.113.7 ipv6 ::ffff:203.0.113.7, not in whitelist",
        endpoints=("token",),
    )
