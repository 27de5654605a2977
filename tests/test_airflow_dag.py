"""The Airflow DAG example imports under Airflow's own DAG loader (the `airflow` extra).

Skipped when Airflow is not installed; `.ci/run` installs the extra and sets
WECHAT_TESTS_REQUIRE_AIRFLOW so that there it must run.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

DAG_FILE = ROOT / "pipelines" / "wechat_datacube_dag.py"
ACCOUNTS = ["wx00000000000000a1", "wx00000000000000b2", "wx00000000000000c3"]

# runs in a subprocess: Airflow configures logging and its settings on import, which must not
# leak into the other tests of the worker
PROBE = """
import json, sys
from airflow.models.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
dag = bag.dags.get("wechat_datacube")
print(json.dumps({
    "errors": {path: str(error) for path, error in bag.import_errors.items()},
    # Airflow 3's timetable names them without the underscore of Airflow 2's
    "schedule": dag and str(getattr(dag.timetable, "expression", None)
                            or getattr(dag.timetable, "_expression", None)),
    "timezone": dag and str(getattr(dag.timetable, "timezone", None)
                            or getattr(dag.timetable, "_timezone", None)),
    "catchup": dag and dag.catchup,
    "tasks": dag and {
        task.task_id: sorted(task.downstream_task_ids) for task in dag.tasks
    },
}))
"""


def test_the_dag_has_a_task_group_per_account_and_runs_after_8_beijing(tmp_path: Path) -> None:
    if os.environ.get("WECHAT_TESTS_REQUIRE_AIRFLOW") is None:
        pytest.importorskip("airflow", reason="the `airflow` extra is not installed")
    accounts = [{"app_id": app_id, "app_secret": f"secret-{app_id}"} for app_id in ACCOUNTS]
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
        "PYTHONPATH": str(ROOT),
        "SOURCES__WECHAT_DATACUBE__ACCOUNTS": json.dumps(accounts),
    }
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(DAG_FILE)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["errors"] == {}
    assert found["schedule"] == "30 8 * * *"
    assert "Asia/Shanghai" in found["timezone"]
    assert found["catchup"] is False
    tasks = found["tasks"]
    for app_id in ACCOUNTS:
        group = f"wechat_datacube_{app_id}"
        runs = [task for task in tasks if task.startswith(f"{group}.")]
        assert runs, f"no task group for {app_id}: {sorted(tasks)}"
        # each account's load leads to the views, and to nothing of another account
        for task in runs:
            assert all(d.startswith(f"{group}.") or d == "create_views" for d in tasks[task])
        assert any("create_views" in tasks[task] for task in runs)
    assert tasks["create_views"] == []
    # no secret reaches what Airflow shows of the DAG
    assert "secret-" not in done.stdout
