"""The `wechat-datacube` command as a new user runs it: `demo`, then `sql` and `status`; live
progress on a terminal (a pseudo-terminal here), `--quiet`, and one line per problem."""

import io
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from datetime import timedelta
from fcntl import ioctl
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import duckdb
import psycopg2
import pytest

from tests.helpers import COMMAND, credentials, ip_not_whitelisted, run_command, script_environment
from wechat_datacube_source.catalog import BY_TABLE, DEFAULT_TABLES
from wechat_datacube_source.clock import last_complete_day
from wechat_datacube_source.console import Console, problem_lines
from wechat_datacube_source.emulator import DEMO_APP_ID, Emulator, FaultRule
from wechat_datacube_source.progress import track
from wechat_datacube_source.progress_display import ProgressDisplay

BACKFILL = "user_read_hour,user_share_hour,upstream_msg_hour,interface_summary_hour"
"""Four endpoints with one call per day: three years of them are ~4,400 calls, some seconds."""


@pytest.fixture
def live_api() -> Iterator[Emulator]:
    """An emulator on the real clock, as the subprocess sees it."""
    with Emulator() as api:
        yield api


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder where `wechat-datacube demo` ran, as the README's quick start has it."""
    folder = tmp_path_factory.mktemp("demo")
    done = run_command(folder, "demo", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


def test_demo_loads_and_says_where_the_data_went(demo_folder: Path) -> None:
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb"), read_only=True) as db:
        (tables,) = db.execute(
            "SELECT count(DISTINCT endpoint) FROM wechat.sync_log WHERE status = 'ok'"
        ).fetchone()
    assert tables == len(DEFAULT_TABLES)


def test_sql_reads_a_table_and_a_view_through_dlt(demo_folder: Path) -> None:
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb"), read_only=True) as db:
        (count,) = db.execute("SELECT count(*) FROM wechat.user_summary").fetchone()
        (newest,) = db.execute("SELECT max(ref_date) FROM wechat.v_follower_total").fetchone()
    done = run_command(demo_folder, "sql", "SELECT count(*) AS n FROM user_summary", env={})
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout) == [["n"], [str(count)]]
    # the README's own query: a column left unnamed is named by its expression (dlt: _col_0)
    readme = run_command(demo_folder, "sql", "SELECT count(*) FROM user_summary", env={})
    assert _cells(readme.stdout) == [["COUNT(*)"], [str(count)]], readme.stdout
    # a view is no table of dlt's schema: `*` over it still works
    view = run_command(
        demo_folder, "sql", "SELECT * FROM v_follower_total ORDER BY ref_date DESC LIMIT 1", env={}
    )
    assert view.returncode == 0, view.stderr
    header, row = _cells(view.stdout)
    assert header == ["app_id", "ref_date", "followers", "change_from_previous_day"]
    assert row[:2] == [DEMO_APP_ID, newest.isoformat()]


def test_sql_prints_values_as_they_are(demo_folder: Path) -> None:
    """rich read `user:x:1` as the emoji `:x:` and `[b]` as markup."""
    done = run_command(
        demo_folder, "sql", "SELECT 'user:x:1' AS a, ':thumbs_up:' AS b, '[b]x[/b]' AS c", env={}
    )
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout) == [["a", "b", "c"], ["user:x:1", ":thumbs_up:", "[b]x[/b]"]]


def test_sql_runs_what_dlt_cannot_qualify_as_it_is(demo_folder: Path) -> None:
    """`SELECT * FROM a_view ORDER BY 1` failed in sqlglot inside dlt with an AssertionError."""
    done = run_command(
        demo_folder, "sql", "SELECT * FROM v_message_volume ORDER BY 1 DESC LIMIT 1", env={}
    )
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout)[0][:2] == ["app_id", "ref_date"]


def test_sql_runs_queries_only_and_never_creates_a_file(demo_folder: Path, tmp_path: Path) -> None:
    for statement in (
        "DROP TABLE user_summary",
        "SELECT 1; DELETE FROM user_summary",
        "SELECT * INTO copied FROM user_summary",
    ):
        refused = run_command(demo_folder, "sql", statement, env={})
        assert refused.returncode == 2, statement
        assert "only one query that reads" in refused.stderr, refused.stderr
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb"), read_only=True) as db:
        assert db.execute("SELECT count(*) FROM wechat.user_summary").fetchone() != (0,)
    unknown = run_command(demo_folder, "sql", "SELECT count(*) FROM no_such_table", env={})
    assert unknown.returncode == 2 and "no_such_table" in unknown.stderr
    # a query that writes though it parses as one runs on a read-only connection
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb")) as db:
        db.execute("CREATE SEQUENCE IF NOT EXISTS wechat.counter")
    advanced = run_command(demo_folder, "sql", "SELECT nextval('wechat.counter')", env={})
    assert advanced.returncode == 2 and "read-only" in advanced.stderr, advanced.stderr
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb")) as db:
        assert db.execute("SELECT nextval('wechat.counter')").fetchone() == (1,)  # never moved
    nowhere = run_command(tmp_path, "sql", "SELECT 1", env={})
    assert nowhere.returncode == 2 and "wechat-datacube demo" in nowhere.stderr
    assert list(tmp_path.glob("*.duckdb")) == []


def test_status_shows_each_table_loaded_through_the_last_complete_day(demo_folder: Path) -> None:
    done = run_command(demo_folder, "status", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[1]: line.split()
        for line in done.stdout.splitlines()
        if line.split()[:1] == [DEMO_APP_ID]
    }
    assert set(rows) == set(DEFAULT_TABLES)
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb"), read_only=True) as db:
        counted = dict(db.execute("SELECT endpoint, rows FROM wechat.sync_log").fetchall())
        (newest,) = db.execute("SELECT max(ref_date) FROM wechat.article_total").fetchone()
    assert {table: int(row[2].replace(",", "")) for table, row in rows.items()} == counted
    # every table of days is loaded through the last complete day (those of weeks and months
    # through the last complete period), whatever its newest row: a month's rows are dated
    # on its first day
    # (the day before it where WeChat had nothing for that day yet, as the demo's articles
    # have on days nothing was sent, which sync_log says)
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb"), read_only=True) as db:
        waiting = {
            table
            for (table,) in db.execute(
                "SELECT endpoint FROM wechat.sync_log WHERE message LIKE '%no final data for %'"
            ).fetchall()
        }
    last = last_complete_day()
    daily = {t: row[5] for t, row in rows.items() if BY_TABLE[t].grain in ("day", "hour")}
    assert daily == {
        t: (last - timedelta(days=1) if t in waiting else last).isoformat() for t in daily
    }, daily
    assert waiting <= {"article_total", "article_total_detail", "article_read", "article_share"}
    newest_month, through_month = rows["upstream_msg_month"][3], rows["upstream_msg_month"][5]
    assert newest_month.endswith("-01") and through_month > newest_month
    assert rows["article_total"][3] == newest.isoformat()
    assert {row[-1] for row in rows.values()} == {"ok"}


def test_status_names_what_failed_and_the_fix_once(tmp_path: Path, live_api: Emulator) -> None:
    live_api.add_fault(
        FaultRule("errcode", errcode=45009, errmsg="reach max api daily quota limit", after=3)
    )
    loaded = run_command(
        tmp_path,
        "run",
        "--resources",
        "user_summary,user_cumulate,user_read",
        "--max-concurrent-requests",
        "1",
        env=credentials(live_api),
    )
    assert loaded.returncode == 1, loaded.stdout + loaded.stderr
    done = run_command(tmp_path, "status", env={})
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stdout.count("run again after midnight Beijing time") == 1
    statuses = {
        line.split()[1]: line.split()[-1]
        for line in done.stdout.splitlines()
        if line.split()[:1] == [DEMO_APP_ID]
    }
    assert set(statuses.values()) <= {"partial", "failed"} and len(statuses) == 3


@pytest.mark.parametrize(
    ("scenario", "fix"),
    [
        ("wrong-secret", "WeChat rejected the app secret. Check `app_secret` in"),
        ("rejected-token", "`access_token` is invalid or expired"),
        ("quota", "run again after midnight Beijing time"),
        ("ip-not-whitelisted", "is not in the account's IP whitelist"),
    ],
)
def test_an_account_wide_problem_is_printed_once(
    tmp_path: Path, live_api: Emulator, scenario: str, fix: str
) -> None:
    """Before, each was printed about 63 times: a warning, a summary row and a message per
    endpoint. Now the summary's rows say `failed` and the explanation comes once."""
    env = credentials(live_api)
    if scenario == "wrong-secret":
        env = credentials(live_api, app_secret="not-the-secret")
    elif scenario == "rejected-token":
        env = credentials(live_api, app_secret="", access_token="not-a-live-token")
    elif scenario == "quota":
        live_api.add_fault(
            FaultRule("errcode", errcode=45009, errmsg="reach max api daily quota limit", after=5)
        )
    else:
        live_api.add_fault(ip_not_whitelisted())
    done = run_command(tmp_path, "run", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    assert output.count(fix) == 1, output
    # every default endpoint is in the summary, and stopped
    statuses = [
        line.split()[-1]
        for line in done.stdout.splitlines()
        if line.split()[:1] in [[table] for table in DEFAULT_TABLES]
    ]
    assert len(statuses) == len(DEFAULT_TABLES)
    if scenario == "quota":  # (an endpoint whose 30 days take one call may be done before)
        assert {"failed", "partial"} & set(statuses)
    else:
        assert set(statuses) == {"failed"}
        # one call found it out (a token request, or the first data call), and none followed
        assert len(live_api.requests) == 1, [r.endpoint for r in live_api.requests]
        progress = [line for line in done.stderr.splitlines() if "windows" in line][-1]
        calls = 1 if scenario == "rejected-token" else 0  # (a token request is no endpoint's)
        assert f"windows 21/21 (21 failed), calls {calls}, rows 0" in progress, progress
        assert f"0 rows fetched in {calls} calls" in done.stdout


def _on_a_terminal(tmp_path: Path, *args: str) -> Tuple[int, str]:
    """Runs the command with a pseudo-terminal as its stdout and stderr (120 columns), as a
    person at a terminal sees it; its exit code and everything it wrote."""
    controller, terminal = pty.openpty()
    ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = script_environment(tmp_path, {"TERM": "xterm-256color", "COLUMNS": "120"})
    env.pop("NO_COLOR", None)
    process = subprocess.Popen(
        [*COMMAND, *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=terminal,
        stderr=terminal,
    )
    os.close(terminal)
    chunks: List[bytes] = []
    while True:
        ready, _, _ = select.select([controller], [], [], 300)
        assert ready, "the command wrote nothing for 300 s"
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the terminal closed: the command has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(controller)
    return process.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def _backfill_start() -> str:
    return (last_complete_day() - timedelta(days=3 * 365)).isoformat()


def test_a_three_year_backfill_shows_moving_progress_on_a_terminal(tmp_path: Path) -> None:
    code, drawn = _on_a_terminal(
        tmp_path, "demo", "--start-date", _backfill_start(), "--resources", BACKFILL
    )
    assert code == 0, drawn[-3000:]
    output = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)  # the text, without its colours
    done = [
        (int(a.replace(",", "")), int(b.replace(",", "")))
        for a, b in re.findall(r"windows ([\d,]+)/([\d,]+)", output)
    ]
    # the bar was redrawn as the windows came in, and ended with all of them done
    assert len({d for d, _ in done}) >= 3, done
    assert [d for d, _ in done] == sorted(d for d, _ in done)
    assert done[-1][0] == done[-1][1] >= 4 * 3 * 365
    calls = [int(c.replace(",", "")) for c in re.findall(r"calls ([\d,]+)", output)]
    assert calls == sorted(calls) and calls[-1] >= done[-1][1]
    assert DEMO_APP_ID in output
    # time elapsed, then time left, once the rate is known
    assert re.search(r"rows [\d,]+ \d:\d\d:\d\d left \d:\d\d:\d\d", output), output[-2000:]


def test_quiet_prints_nothing_but_the_summary(tmp_path: Path) -> None:
    code, output = _on_a_terminal(
        tmp_path, "demo", "--quiet", "--start-date", _backfill_start(), "--resources", BACKFILL
    )
    assert code == 0, output
    lines = [line for line in output.splitlines() if line.strip()]
    tables = BACKFILL.split(",")
    assert "windows" not in output and "\x1b" not in output  # no progress, no redrawing
    assert len(lines) == 3 + len(tables) + 1, lines  # header, a row per table, the totals
    assert [line.split()[0] for line in lines[3:-1]] == tables
    assert lines[-1].startswith("this run: ") and "Loaded into DuckDB file" in lines[-1]


def test_off_a_terminal_progress_is_plain_lines(tmp_path: Path, live_api: Emulator) -> None:
    done = run_command(tmp_path, "run", "--resources", "user_summary", env=credentials(live_api))
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout + done.stderr
    line = [line for line in done.stderr.splitlines() if "windows" in line][-1]
    found = re.fullmatch(rf"{DEMO_APP_ID}: windows 5/5, calls 5, rows ([\d,]+), .* done", line)
    assert found, line
    # the same calls and rows as the summary counts
    assert f"this run: {found[1]} rows fetched in 5 calls;" in done.stdout


def _cells(table: str) -> List[List[str]]:
    """The words of each line of a printed table, its rules left out."""
    lines = [line.split() for line in table.splitlines()]
    return [words for words in lines if words and not set("".join(words)) <= {"─"}]


POSTGRES = ("--destination", "postgres")


@pytest.fixture
def loaded_into_postgres(tmp_path: Path, live_api: Emulator, postgres: str) -> Dict[str, str]:
    """`run` loaded 30 days of user_cumulate into PostgreSQL; the environment that reaches it."""
    env = {**credentials(live_api), "DESTINATION__POSTGRES__CREDENTIALS": postgres}
    loaded = run_command(tmp_path, "run", *POSTGRES, "--resources", "user_cumulate", env=env)
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    assert "Loaded into destination postgres, dataset wechat" in loaded.stdout
    return env


def test_sql_and_status_read_postgresql_too(
    tmp_path: Path, loaded_into_postgres: Dict[str, str]
) -> None:
    env, at = loaded_into_postgres, POSTGRES
    counted = run_command(tmp_path, "sql", *at, "SELECT count(*) AS n FROM user_cumulate", env=env)
    assert counted.returncode == 0, counted.stderr
    assert _cells(counted.stdout) == [["n"], ["30"]]
    view = run_command(
        tmp_path, "sql", *at, "SELECT * FROM v_follower_total ORDER BY ref_date LIMIT 1", env=env
    )
    assert view.returncode == 0, view.stderr
    assert _cells(view.stdout)[0] == ["app_id", "ref_date", "followers", "change_from_previous_day"]
    done = run_command(tmp_path, "status", *at, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    (row,) = [line.split() for line in done.stdout.splitlines() if DEMO_APP_ID in line]
    day = last_complete_day().isoformat()
    first = (last_complete_day() - timedelta(days=29)).isoformat()
    assert row[:6] == [DEMO_APP_ID, "user_cumulate", "30", day, first, day] and row[-1] == "ok"
    assert list(tmp_path.glob("*.duckdb")) == []


def test_off_a_terminal_a_line_comes_every_interval_with_the_time_left() -> None:
    """The display's clock is driven by hand here: what it writes at each moment."""
    out, err = io.StringIO(), io.StringIO()
    display = ProgressDisplay(Console(out, err), plain_every=10)
    start = time.monotonic()
    run = track("run-under-test", DEMO_APP_ID)
    run.started = start - 120  # two minutes ago
    run.planned(400)
    for _ in range(100):
        run.done(rows=3)
    display.tick(start + 5)
    assert err.getvalue() == ""  # not yet: 10 s between lines
    display.tick(start + 11)
    (line,) = err.getvalue().splitlines()
    assert line.startswith(f"{DEMO_APP_ID}: windows 100/400, calls 0, rows 300, ")
    # a quarter done in two minutes: six minutes left
    assert re.search(r", 0:02:0\d elapsed, about 0:0[56]:\d\d left$", line), line
    display.tick(start + 15)
    assert len(err.getvalue().splitlines()) == 1
    display.tick(start + 21)
    assert len(err.getvalue().splitlines()) == 2
    assert out.getvalue() == ""  # progress never mixes with the results on stdout


def test_a_query_that_writes_despite_looking_like_one_cannot_on_postgresql(
    tmp_path: Path, loaded_into_postgres: Dict[str, str], postgres: str
) -> None:
    """`SELECT nextval(...)` parses as a query; the session it runs in is read-only."""
    env, at = loaded_into_postgres, POSTGRES
    with psycopg2.connect(postgres) as db, db.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE wechat.counter")
    for statement in (
        "SELECT nextval('wechat.counter')",
        "WITH gone AS (DELETE FROM user_cumulate RETURNING *) SELECT count(*) FROM gone",
    ):
        refused = run_command(tmp_path, "sql", *at, statement, env=env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
    with psycopg2.connect(postgres) as db, db.cursor() as cursor:
        cursor.execute("SELECT last_value, is_called FROM wechat.counter")
        assert cursor.fetchone() == (1, False)  # never advanced
        cursor.execute("SELECT count(*) FROM wechat.user_cumulate")
        assert cursor.fetchone() == (30,)


def test_a_problem_of_the_whole_account_is_one_line_beside_an_endpoint_own_notes() -> None:
    stopped = "the account stopped: WeChat error 45009 (quota): run again after midnight"
    lines = problem_lines(
        [
            ("user_summary", stopped),
            ("user_read", f"2 rows dated outside their request were dropped; {stopped}"),
            ("user_share", stopped),
            ("upstream_msg", "stopped at window 2026-01-01: WeChat error -1 (system busy)"),
        ]
    )
    assert lines == [
        f"  user_summary, user_read, user_share: {stopped}",
        "  user_read: 2 rows dated outside their request were dropped",
        "  upstream_msg: stopped at window 2026-01-01: WeChat error -1 (system busy)",
    ]


def test_the_summary_counts_the_account_own_rows_beside_the_demo(tmp_path: Path) -> None:
    """The demo and a real account share the file and the tables; each summary says what the
    tables hold of its own account (before, the single account's summary counted all)."""
    demo = run_command(tmp_path, "demo", "--quiet", "--resources", "user_cumulate", env={})
    assert demo.returncode == 0, demo.stderr
    assert _summary_rows(demo.stdout)["user_cumulate"][1] == "90"
    with Emulator({"wx00000000000000a1": "secret-a1"}) as api:
        env = credentials(api, app_id="wx00000000000000a1", app_secret="secret-a1")
        done = run_command(tmp_path, "run", "--quiet", "--resources", "user_cumulate", env=env)
    assert done.returncode == 0, done.stderr
    assert _summary_rows(done.stdout)["user_cumulate"][1] == "30"


def _summary_rows(summary: str) -> Dict[str, List[str]]:
    return {
        words[0]: words
        for words in map(str.split, summary.splitlines())
        if words[:1] and words[0] in BY_TABLE
    }


@pytest.mark.parametrize("first", ["false", "true"])
def test_rows_carry_their_load_id_whatever_dlt_is_told(tmp_path: Path, first: str) -> None:
    """A run from a folder whose .dlt/config.toml turns dlt's `_dlt_load_id` for arrow rows on,
    and one from a folder where it is off (dlt's default, so any folder without the file),
    load into the same tables: the source stamps the column itself. Before, whichever came
    second failed, and so did every run after it (the Airflow DAG, whose tasks run in fresh
    folders, loaded without it)."""
    settings = tmp_path / ".dlt" / "config.toml"
    settings.parent.mkdir()
    env = script_environment(tmp_path, {})
    del env["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"]  # (the tests' own, conftest.py)
    for stamp in (first, "true" if first == "false" else "false"):
        settings.write_text(f"[normalize.parquet_normalizer]\nadd_dlt_load_id = {stamp}\n")
        done = subprocess.run(
            [*COMMAND, "demo", "--quiet", "--resources", "user_summary"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    with duckdb.connect(str(tmp_path / "wechat_datacube.duckdb"), read_only=True) as db:
        (unstamped,) = db.execute(
            "SELECT count(*) FROM wechat.user_summary WHERE _dlt_load_id IS NULL"
        ).fetchone()
    assert unstamped == 0


def test_a_start_date_a_pipeline_that_loaded_before_ignores_is_said(tmp_path: Path) -> None:
    first = run_command(tmp_path, "demo", "--resources", "user_cumulate", env={})
    assert first.returncode == 0, first.stderr
    assert "--start-date applies" not in first.stderr
    again = run_command(
        tmp_path, "demo", "--resources", "user_cumulate", "--start-date", "2025-01-01", env={}
    )
    assert again.returncode == 0, again.stderr
    assert (
        again.stdout.startswith("demo: emulator on ")
        and "resuming its earlier loads" in (again.stdout.splitlines()[0])
    )
    assert again.stderr.count("--start-date does not apply to user_cumulate: they were") == 1
    # a table the pipeline never loaded takes the start date, and is not named
    more = run_command(
        tmp_path,
        "demo",
        "--resources",
        "user_cumulate,biz_summary",
        "--start-date",
        "2025-12-01",
        env={},
    )
    assert more.returncode == 0, more.stderr
    assert "--start-date does not apply to user_cumulate: they were" in more.stderr
    assert "2025-12-01 onwards" not in more.stdout and "biz_summary" not in more.stderr
    # a new file (a new dataset for the same pipeline) starts where it is told
    fresh = run_command(
        tmp_path,
        "demo",
        "--duckdb-file",
        "other.duckdb",
        "--resources",
        "user_cumulate",
        "--start-date",
        "2026-11-01",
        env={},
    )
    assert fresh.returncode == 0, fresh.stderr
    assert "2026-11-01 onwards" in fresh.stdout and "--start-date" not in fresh.stderr


def test_a_file_a_load_holds_is_said_in_one_line(demo_folder: Path) -> None:
    """A load under way holds the DuckDB file: `status` and `sql` said it in a traceback."""
    with duckdb.connect(str(demo_folder / "wechat_datacube.duckdb")):  # (as a load holds it)
        for command in (["status"], ["sql", "SELECT 1"]):
            done = run_command(demo_folder, *command, env={})
            assert done.returncode == 3, done.stderr
            (line,) = done.stderr.splitlines()
            assert line.startswith("DuckDB file ") and "could not be read: " in line


def test_the_commands_keep_duckdb_small_unless_told_otherwise(demo_folder: Path) -> None:
    # DuckDB's memory limit is what a load's peak memory follows (README, "Memory")
    setting = "SELECT current_setting('memory_limit') AS m, current_setting('threads') AS t"
    done = run_command(demo_folder, "sql", setting, env={})
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout)[1] == ["122.0", "MiB", "1"]  # 128 MB, one thread
    # any setting of the user's wins
    told = {"DESTINATION__DUCKDB__CREDENTIALS__GLOBAL_CONFIG": '{"memory_limit": "1GB"}'}
    done = run_command(demo_folder, "sql", setting, env=told)
    assert done.returncode == 0, done.stderr
    assert _cells(done.stdout)[1][:2] == ["953.6", "MiB"]


@pytest.mark.parametrize(
    "destination, told, workers",
    [("duckdb", {}, "2"), ("postgres", {}, "None"), ("duckdb", {"LOAD__WORKERS": "7"}, "7")],
)
def test_load_jobs_are_few_into_duckdb_only(
    destination: str, told: Dict[str, str], workers: str
) -> None:
    """Two load jobs at a time keep DuckDB's merges inside its memory limit; a remote
    warehouse keeps dlt's default, and the user's setting wins (in a process of its own:
    the defaults are the process's configuration)."""
    code = (
        "import dlt; from wechat_datacube_source.memory_defaults import use_memory_defaults; "
        f"use_memory_defaults({destination!r}); print(dlt.config.get('load.workers'))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, **told},
        check=True,
    )
    assert done.stdout.split() == [workers]
