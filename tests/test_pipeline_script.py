"""The pipeline script as users run it: a subprocess, real HTTP, exit codes, the demo."""

import pickle
from datetime import date, timedelta
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import duckdb
import pytest

from tests.helpers import credentials, run_script
from wechat_datacube_source.catalog import DEFAULT_TABLES
from wechat_datacube_source.clock import last_complete_day
from wechat_datacube_source.emulator import DEMO_APP_SECRET, Emulator, FaultRule
from wechat_datacube_source.views import VIEWS


@pytest.fixture
def live_api() -> Iterator[Emulator]:
    """An emulator on the real clock, as the subprocess sees it."""
    with Emulator() as api:
        yield api


def test_a_healthy_run_exits_0_and_prints_the_summary(tmp_path: Path, live_api: Emulator) -> None:
    done = run_script(
        tmp_path, "--resources", "user_summary,user_cumulate", env=credentials(live_api)
    )
    assert done.returncode == 0, done.stderr
    lines = {
        line.split()[0]: line.split()
        for line in done.stdout.splitlines()
        if line.startswith("user_")
    }
    assert lines["user_summary"][-1] == "ok" and lines["user_cumulate"][-1] == "ok"
    assert lines["user_cumulate"][1] == "30"  # 30 days, one row each
    assert DEMO_APP_SECRET not in done.stdout + done.stderr


def test_a_failing_window_exits_1_and_says_where_it_stopped(
    tmp_path: Path, live_api: Emulator
) -> None:
    broken = last_complete_day() - timedelta(days=3)
    live_api.add_fault(
        FaultRule("errcode", errcode=-1, endpoints=("getusercumulate",), dates=(broken,))
    )
    done = run_script(
        tmp_path, "--resources", "user_summary,user_cumulate", env=credentials(live_api)
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "partial" in done.stdout and "stopped at window" in done.stdout


def test_the_tables_are_rebuilt_from_the_kept_bodies_with_no_credentials_and_no_call(
    tmp_path: Path, live_api: Emulator
) -> None:
    tables = "user_summary,user_cumulate"
    loaded = run_script(tmp_path, "--resources", tables, env=credentials(live_api))
    assert loaded.returncode == 0, loaded.stderr
    with duckdb.connect(str(tmp_path / "out.duckdb")) as db:
        live = db.execute("SELECT * EXCLUDE (_dlt_load_id) FROM wechat.user_summary").fetchall()
        db.execute("DELETE FROM wechat.user_summary")
    calls = len(live_api.requests)
    done = run_script(tmp_path, "--rebuild-from-raw", "--resources", tables, env={})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "user_summary: 5 answers" in done.stdout  # 30 days, 7 a call
    assert len(live_api.requests) == calls
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as db:
        rebuilt = db.execute("SELECT * EXCLUDE (_dlt_load_id) FROM wechat.user_summary").fetchall()
    assert sorted(rebuilt) == sorted(live) and live


def test_bad_configuration_exits_2_before_any_call(tmp_path: Path, live_api: Emulator) -> None:
    done = run_script(tmp_path, "--start-date", "2024-13-01", env=credentials(live_api))
    assert done.returncode == 2
    assert "start_date" in done.stderr and "YYYY-MM-DD" in done.stderr
    assert live_api.requests == []


def test_a_value_dlt_cannot_read_exits_2_with_one_line_naming_the_key(
    tmp_path: Path, live_api: Emulator
) -> None:
    for key, value, wanted in (
        ("MAX_RETRIES", "abc", "a whole number"),
        ("INCLUDE_AD_STATS", "maybe", "true or false"),
        ("MAX_CALLS", "lots", "a whole number"),  # Optional[int]
    ):
        done = run_script(
            tmp_path, env={**credentials(live_api), f"SOURCES__WECHAT_DATACUBE__{key}": value}
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.splitlines() == [
            f"configuration error: {key.lower()}: the configured value cannot be read as "
            f"{wanted}. Set `{key.lower()}` to {wanted} in [sources.wechat_datacube]"
        ]
    assert live_api.requests == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["--dataset", "out"],  # the DuckDB file is out.duckdb
            "configuration error: dataset: the DuckDB file out.duckdb is named like the "
            "dataset 'out' or its staging schema 'out_staging'",
        ),
        (
            ["--duckdb-file", "wechat_staging.duckdb"],  # merges stage in wechat_staging
            "configuration error: dataset: the DuckDB file wechat_staging.duckdb is named like",
        ),
        (
            ["--dataset", "system"],
            "configuration error: dataset: 'system' is a schema DuckDB keeps for itself",
        ),
        (
            ["--destination", "postgres"],
            "configuration error: destination.postgres.credentials: database, password, "
            "username, host are not set. Set them in .dlt/secrets.toml under "
            "[destination.postgres.credentials]",
        ),
    ],
    ids=[
        "duckdb file named like the dataset",
        "duckdb file named like the staging schema",
        "a dataset duckdb keeps for itself",
        "postgres without credentials",
    ],
)
def test_a_destination_that_cannot_work_exits_2_before_any_call(
    tmp_path: Path, live_api: Emulator, args: List[str], line: str
) -> None:
    # either used to fail only at the load, after every call, and then jam every later run
    done = run_script(tmp_path, *args, env=credentials(live_api))
    assert done.returncode == 2, done.stdout + done.stderr
    assert len(done.stderr.splitlines()) == 1 and done.stderr.startswith(line), done.stderr
    assert live_api.requests == []


def test_a_destination_whose_driver_is_missing_exits_2_before_any_call(
    tmp_path: Path, live_api: Emulator
) -> None:
    env = {**credentials(live_api), "DESTINATION__POSTGRES__CREDENTIALS": "postgresql://u:p@h/d"}
    runner = Path(__file__).parent / "no_psycopg2_runner.py"
    done = run_script(tmp_path, "--destination", "postgres", env=env, runner=runner)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.splitlines() == [
        "configuration error: destination: postgres needs packages that are not installed. "
        'Install them: pip install "dlt[postgres]"'
    ]
    assert live_api.requests == []


def test_the_demo_takes_a_start_date(tmp_path: Path) -> None:
    start = last_complete_day() - timedelta(days=2)
    done = run_script(
        tmp_path,
        "--demo",
        "--start-date",
        start.isoformat(),
        "--resources",
        "user_cumulate",
        "--no-views",
        env={},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as db:
        [(first,)] = db.execute("SELECT MIN(ref_date) FROM wechat.user_cumulate").fetchall()
    assert first == start


def test_the_demo_loads_every_default_table(tmp_path: Path) -> None:
    before = last_complete_day()
    done = run_script(tmp_path, "--demo", "--quiet", env={})
    after = last_complete_day()  # the run may straddle 08:00 Beijing time
    assert done.returncode == 0, done.stdout + done.stderr
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as db:
        for table in (*DEFAULT_TABLES, "code_labels", "sync_log"):
            [(count,)] = db.execute(f"SELECT COUNT(*) FROM wechat.{table}").fetchall()
            assert count > 0, table
        statuses = db.execute("SELECT DISTINCT status FROM wechat.sync_log").fetchall()
        views = db.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'wechat' AND table_type = 'VIEW' ORDER BY 1"
        ).fetchall()
        [(first,)] = db.execute("SELECT MIN(ref_date) FROM wechat.user_summary").fetchall()
    assert statuses == [("ok",)]
    # the ad view needs --ads
    assert [name for (name,) in views] == sorted(
        view.name for view in VIEWS if view.name != "v_ad_revenue_by_slot"
    )
    assert isinstance(first, date)
    assert first in (before - timedelta(days=89), after - timedelta(days=89))


def list_accounts(project: Path, secrets: Dict[str, Optional[str]]) -> None:
    """Writes the accounts list to the project's .dlt/secrets.toml (None: no secret)."""
    (project / ".dlt").mkdir()
    (project / ".dlt" / "secrets.toml").write_text(
        "".join(
            f'[[sources.wechat_datacube.accounts]]\napp_id = "{app_id}"\n'
            + (f'app_secret = "{secret}"\n' if secret is not None else "")
            for app_id, secret in secrets.items()
        )
    )


def beside_a_list(env: Dict[str, str]) -> Dict[str, str]:
    """Settings for every listed account, with a single account's secret left in: it must
    never be sent on behalf of a listed account."""
    return {key: value for key, value in env.items() if not key.endswith("__APP_ID")}


def test_accounts_listed_in_secrets_toml_load_one_after_another(tmp_path: Path) -> None:
    accounts = {"wx00000000000000a1": "secret-a1", "wx00000000000000b2": "secret-b2"}
    list_accounts(tmp_path, {**accounts, "wx00000000000000c3": "not-its-secret"})
    with Emulator({**accounts, "wx00000000000000c3": "secret-c3"}) as api:
        env = beside_a_list(credentials(api, app_secret="secret-a1"))
        done = run_script(tmp_path, "--resources", "user_cumulate", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert [line for line in done.stdout.splitlines() if line.startswith("account ")] == [
        "account wx00000000000000a1",
        "account wx00000000000000b2",
        "account wx00000000000000c3",
    ]
    assert "40125" in done.stdout and "not-its-secret" not in done.stdout + done.stderr
    # the views are made once, after the last account
    assert [line for line in done.stdout.splitlines() if line.startswith("views: ")] == [
        "views: v_follower_total"
    ]
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as db:
        loaded = db.execute(
            "SELECT app_id, COUNT(*) FROM wechat.user_cumulate GROUP BY app_id ORDER BY 1"
        ).fetchall()
    assert loaded == [("wx00000000000000a1", 30), ("wx00000000000000b2", 30)]
    # each account has its own pipeline, hence its own state
    pipelines = sorted(path.name for path in (tmp_path / "dlt" / "pipelines").iterdir())
    assert pipelines == [
        f"wechat_datacube_{app_id}" for app_id in (*accounts, "wx00000000000000c3")
    ]
    # dlt traces the configuration it resolved: the accounts list must be traced as a secret
    traces = [
        pickle.loads((tmp_path / "dlt" / "pipelines" / name / "trace.pickle").read_bytes())  # noqa: S301 (our own file)
        for name in pipelines
    ]
    traced = [
        value
        for trace in traces
        for value in trace.resolved_config_values
        if value.key == "accounts"
    ]
    assert traced and all(value.is_secret_hint and value.value is None for value in traced)
    assert not [
        trace for trace in map(repr, traces) if "secret-a1" in trace or "secret-b2" in trace
    ]

    # rebuilt from the kept bodies account by account, each through its own pipeline
    with duckdb.connect(str(tmp_path / "out.duckdb")) as db:
        db.execute("DELETE FROM wechat.user_cumulate")
    rebuilt = run_script(tmp_path, "--rebuild-from-raw", env={})
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert rebuilt.stdout.count("user_cumulate: 5 answers, 30 rows rebuilt") == 2
    with duckdb.connect(str(tmp_path / "out.duckdb"), read_only=True) as db:
        again = db.execute(
            "SELECT app_id, COUNT(*) FROM wechat.user_cumulate GROUP BY app_id ORDER BY 1"
        ).fetchall()
    assert again == loaded


def test_a_bad_account_entry_exits_2_before_any_call(tmp_path: Path, live_api: Emulator) -> None:
    list_accounts(tmp_path, {"wx00000000000000a1": "s", "wx00000000000000b2": None})
    done = run_script(tmp_path, env=beside_a_list(credentials(live_api)))
    assert done.returncode == 2
    assert "accounts[1].app_secret: is not set" in done.stderr
    assert live_api.requests == []


def test_a_single_account_left_out_of_the_list_exits_2(tmp_path: Path, live_api: Emulator) -> None:
    list_accounts(tmp_path, {"wx00000000000000a1": "s"})
    done = run_script(tmp_path, env=credentials(live_api))  # app_id of the demo account
    assert done.returncode == 2
    assert "app_id: wxd3m0000000000001 is set in [sources.wechat_datacube] beside" in done.stderr
    assert live_api.requests == []
