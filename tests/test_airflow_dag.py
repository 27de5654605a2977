"""The Airflow DAG example under Airflow itself (the `airflow` extra): its shape as Airflow's
DAG loader sees it, and a whole run with `dag.test()` into a real PostgreSQL server.

Skipped when Airflow is not installed; `.ci/run` installs the extra and sets
WECHAT_TESTS_REQUIRE_AIRFLOW so that there they must run. Airflow runs in a subprocess: it
configures logging and its settings on import, which must not leak into the other tests.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List

import dlt
import pytest

from tests.helpers import ROOT, make_pipeline, query
from wechat_datacube_source.emulator import Emulator

DAG_FILE = ROOT / "pipelines" / "wechat_datacube_dag.py"
SECRETS = {"wx00000000000000a1": "secret-a1", "wx00000000000000b2": "secret-b2"}
ROTATED = "wx00000000000000c3"  # configured with a secret WeChat no longer accepts
ACCOUNTS = [*SECRETS, ROTATED]

SHAPE = """
import json, sys
from airflow.models.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("wechat_datacube")
timetable = dag and dag.timetable
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    # Airflow 3's timetable names them without the underscore of Airflow 2's
    "schedule": dag and str(getattr(timetable, "expression", None)
                            or getattr(timetable, "_expression", None)),
    "timezone": dag and str(getattr(timetable, "timezone", None)
                            or getattr(timetable, "_timezone", None)),
    "catchup": dag and dag.catchup,
    "tasks": dag and {task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks},
}))
"""

RUN = """
import json, runpy, sys
run = runpy.run_path(sys.argv[1])["dag"].test()
print(json.dumps({
    "state": str(run.state),
    "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()},
}))
"""


@pytest.fixture
def airflow_env(tmp_path: Path) -> Iterator[Dict[str, str]]:
    """The environment of an Airflow subprocess, with the DAG alone in its DAGs folder."""
    if os.environ.get("WECHAT_TESTS_REQUIRE_AIRFLOW") is None:
        pytest.importorskip("airflow", reason="the `airflow` extra is not installed")
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags)
    accounts = [{"app_id": app_id, "app_secret": secret} for app_id, secret in SECRETS.items()]
    accounts.append({"app_id": ROTATED, "app_secret": "secret-from-last-year"})
    yield {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "PYTHONPATH": str(ROOT),
        "DLT_DATA_DIR": str(tmp_path / "dlt"),
        "DLT_PROJECT_DIR": str(tmp_path),
        "RUNTIME__DLTHUB_TELEMETRY": "false",
        "SOURCES__WECHAT_DATACUBE__ACCOUNTS": json.dumps(accounts),
    }


def airflow(env: Dict[str, str], *arguments: str) -> str:
    """Runs Python with `arguments` in the Airflow environment; the last line it printed."""
    done = subprocess.run(
        [sys.executable, *arguments], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # no secret reaches what Airflow logs or shows
    assert "secret-" not in done.stdout + done.stderr
    return done.stdout.strip().splitlines()[-1]


def test_the_dag_has_a_task_group_per_account_and_runs_after_8_beijing(
    airflow_env: Dict[str, str],
) -> None:
    found = json.loads(airflow(airflow_env, "-c", SHAPE, airflow_env["AIRFLOW__CORE__DAGS_FOLDER"]))
    assert found["errors"] == {}
    assert found["schedule"] == "30 8 * * *"
    assert "Asia/Shanghai" in found["timezone"]
    assert found["catchup"] is False
    tasks = found["tasks"]
    for app_id in ACCOUNTS:
        group = f"wechat_datacube_{app_id}"
        runs = [task for task in tasks if task.startswith(f"{group}.")]
        assert runs, f"no task group for {app_id}: {sorted(tasks)}"
        # each account's load leads to the views and the final check, to nothing of another
        for task in runs:
            assert all(
                d.startswith(f"{group}.") or d in ("create_views", "every_account_loaded")
                for d in tasks[task]
            )
        assert any("create_views" in tasks[task] for task in runs)
        assert any("every_account_loaded" in tasks[task] for task in runs)
    assert tasks["create_views"] == [] and tasks["every_account_loaded"] == []


def test_a_dag_run_loads_every_account_into_postgres(
    airflow_env: Dict[str, str], postgres: str, tmp_path: Path
) -> None:
    with Emulator({**SECRETS, ROTATED: "secret-c3"}) as api:
        env = {
            **airflow_env,
            "SOURCES__WECHAT_DATACUBE__BASE_URL": api.base_url,
            "SOURCES__WECHAT_DATACUBE__RESOURCES": '["user_summary", "user_cumulate"]',
            "SOURCES__WECHAT_DATACUBE__MAX_RETRIES": "1",
            "SOURCES__WECHAT_DATACUBE__RETRY_BACKOFF_SECONDS": "0",
            "WECHAT_DATACUBE_DESTINATION": "postgres",
            "DESTINATION__POSTGRES__CREDENTIALS": postgres,
        }
        airflow(env, "-m", "airflow", "db", "migrate")
        dag_file = Path(env["AIRFLOW__CORE__DAGS_FOLDER"]) / DAG_FILE.name
        run = json.loads(airflow(env, "-c", RUN, str(dag_file)))
    # the rotated secret fails its own account's task (sync_log says why); the other
    # accounts load, and the views are made whatever the accounts' outcome; the run itself
    # fails, through its final check
    tasks = run["tasks"]
    assert tasks.pop(f"wechat_datacube_{ROTATED}.load").endswith("failed"), run
    assert tasks.pop("every_account_loaded").endswith("upstream_failed"), run
    assert all(state.endswith("success") for state in tasks.values()), run
    assert sorted(tasks) == sorted(
        [*(f"wechat_datacube_{a}.load" for a in SECRETS), "create_views"]
    )
    assert run["state"].endswith("failed"), run
    reader = make_pipeline(
        tmp_path / "reader", name="wechat_reader", destination=dlt.destinations.postgres(postgres)
    )
    loaded = query(reader, "SELECT app_id, COUNT(*) FROM wechat.user_cumulate GROUP BY app_id")
    assert sorted(loaded) == [(app_id, 30) for app_id in sorted(SECRETS)]
    failed = query(
        reader, "SELECT DISTINCT app_id, errcode FROM wechat.sync_log WHERE status = 'failed'"
    )
    assert failed == [(ROTATED, 40125)]
    views: List[Any] = query(
        reader,
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = 'wechat' AND table_type = 'VIEW' ORDER BY 1",
    )
    assert [name for (name,) in views] == ["v_follower_total", "v_net_followers_by_channel"]
    states = query(reader, "SELECT DISTINCT pipeline_name FROM wechat._dlt_pipeline_state")
    assert sorted(name for (name,) in states) == sorted(f"wechat_datacube_{a}" for a in ACCOUNTS)
