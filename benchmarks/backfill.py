"""Backfill benchmark: the connector against the emulator, side by side with a wechatpy loop.

    pip install ".[bench]"
    python benchmarks/backfill.py                       # 365 days at 50 ms, then scaling
    python benchmarks/backfill.py --days 90 --years 1   # a quicker run

Prints a table and writes benchmarks/results.json. It measures, it does not assert: the
README reports whatever it printed, targets met or not.

The emulator runs in its own process (`python -m wechat_datacube_source.emulator`), so the
memory measured is the connector's and its CPU is not the connector's GIL's; calls are counted from
the emulator's request log. Peak RSS is this process's high-water mark, reset before each
part (Linux `clear_refs`), so each figure is that part's own.

Parts:
1. a backfill of every default endpoint at the given latency: wall time, calls, rows, peak
   RSS, the lower bound (calls x latency / in-flight limit) and the ratio of calls to the
   theoretical minimum (the windows the spans and floors require, plus one token fetch);
2. the same backfill done as users do today with wechatpy (one call per window in a loop,
   rows inserted into DuckDB) on the 17 endpoints wechatpy wraps, against the connector on
   those same endpoints;
3. a daily incremental run right after the backfill: only the refresh windows;
4. the backfill's calls from a bare HTTP loop (threads as wide as the in-flight limit, no
   processing): the floor this machine allows, with the emulator on the same cores;
5. backfills of a growing number of days at zero latency, each in a child process for its
   own peak RSS, to show whether the cost per day stays flat;
6. the cost of `keep_raw_responses` (every committed body kept, compressed): the largest
   zero-latency backfill with it on and off, its time, the DuckDB file's size and what the
   archive holds (`--raw-archive-only` runs just this part);
7. a daily run on the largest backfill's data, in a process of its own (its own peak RSS);
8. a first run with `max_calls = 1000` and `start_date` ten years back: the days each
   endpoint holds after it (its newest days first, then history).

Every run uses the commands' memory defaults (`memory_defaults.py`), as the pipeline script
does. The wechatpy loop asks the narrowest documented span of each endpoint, as SDK users and
tools do; the connector starts at the widest and learns (`spans.py`).
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402
import duckdb  # noqa: E402
import requests  # noqa: E402

from wechat_datacube_source import scope_day_merges, wechat_datacube  # noqa: E402
from wechat_datacube_source.catalog import BY_TABLE, DEFAULT_TABLES  # noqa: E402
from wechat_datacube_source.clock import last_complete_day  # noqa: E402
from wechat_datacube_source.emulator import DEMO_APP_ID, DEMO_APP_SECRET  # noqa: E402
from wechat_datacube_source.memory_defaults import use_memory_defaults  # noqa: E402
from wechat_datacube_source.raw_archive import raw_body  # noqa: E402
from wechat_datacube_source.settings import DEFAULT_MAX_CONCURRENT_REQUESTS  # noqa: E402
from wechat_datacube_source.windows import plan_windows  # noqa: E402

HERE = Path(__file__).resolve().parent
use_memory_defaults()
# the endpoints wechatpy 1.8 wraps: the 17 "legacy" datacube endpoints, by table
WECHATPY_METHODS = {
    "user_summary": "get_user_summary",
    "user_cumulate": "get_user_cumulate",
    "article_summary": "get_article_summary",
    "article_total": "get_article_total",
    "user_read": "get_user_read",
    "user_read_hour": "get_user_read_hour",
    "user_share": "get_user_share",
    "user_share_hour": "get_user_share_hour",
    "upstream_msg": "get_upstream_msg",
    "upstream_msg_hour": "get_upstream_msg_hour",
    "upstream_msg_week": "get_upstream_msg_week",
    "upstream_msg_month": "get_upstream_msg_month",
    "upstream_msg_dist": "get_upstream_msg_dist",
    "upstream_msg_dist_week": "get_upstream_msg_dist_week",
    "upstream_msg_dist_month": "get_upstream_msg_dist_month",
    "interface_summary": "get_interface_summary",
    "interface_summary_hour": "get_interface_summary_hour",
}


@dataclass
class Result:
    name: str
    days: int
    latency: float
    wall_s: float
    calls: int
    rows: int
    peak_rss_mb: float
    minimum_calls: Optional[int] = None
    lower_bound_s: Optional[float] = None
    extract_rss_mb: Optional[float] = None
    """Peak RSS up to the end of extraction: the connector's own share, before dlt loads."""

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.wall_s if self.wall_s else 0.0


class EmulatorProcess:
    """The emulator in a child process, on a free loopback port."""

    def __init__(self, latency: float) -> None:
        self.latency_seconds = latency
        command = [sys.executable, "-m", "wechat_datacube_source.emulator", "--port", "0"]
        self.process = subprocess.Popen(
            [*command, "--latency", str(latency)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        # its first line: "WeChat API emulator on http://127.0.0.1:PORT"
        self.base_url = self.process.stdout.readline().split()[-1]
        self.session = requests.Session()
        # the emulator computes the follower history on first use: not part of any run
        day = str(last_complete_day())
        self.session.post(
            f"{self.base_url}/datacube/getusercumulate",
            params={"access_token": self.token()},
            json={"begin_date": day, "end_date": day},
        ).raise_for_status()

    def token(self) -> str:
        reply = self.session.post(
            f"{self.base_url}/cgi-bin/stable_token",
            json={
                "grant_type": "client_credential",
                "appid": DEMO_APP_ID,
                "secret": DEMO_APP_SECRET,
            },
        ).json()
        return str(reply["access_token"])

    def calls(self) -> int:
        """Requests served so far, token fetches included."""
        return len(self.session.get(f"{self.base_url}/__emulator__/requests").json())

    def close(self) -> None:
        self.process.terminate()
        self.process.wait()


@contextmanager
def emulator(latency: float) -> Iterator[EmulatorProcess]:
    api = EmulatorProcess(latency)
    try:
        yield api
    finally:
        api.close()


def reset_peak_rss() -> None:
    """Start a new high-water mark (Linux: writing 5 to clear_refs resets VmHWM)."""
    # not Linux, or not allowed: the peak is then the process's so far
    with suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def peak_rss_mb() -> float:
    """This process's peak RSS since the last reset. VmHWM, not ru_maxrss: Linux carries
    ru_maxrss over fork and exec, and cannot reset it."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def minimum_calls(tables: Sequence[str], start: date, end: date) -> int:
    """The windows the spans and floors require, plus one token fetch."""
    return 1 + sum(len(plan_windows(BY_TABLE[t], start, end)) for t in tables)


def connector(
    api: EmulatorProcess,
    tables: Sequence[str],
    start: date,
    folder: Path,
    name: str,
    runs: int = 1,
    keep_raw_responses: bool = True,
    max_calls: Optional[int] = None,
    loaded: bool = False,
) -> List[Result]:
    """A first run from `start` (the backfill), then `runs - 1` daily runs; every run a daily
    run when the pipeline in `folder` has `loaded` its data already."""
    pipeline = dlt.pipeline(
        pipeline_name=name,
        pipelines_dir=str(folder / "pipelines"),
        destination=dlt.destinations.duckdb(str(folder / f"{name}.duckdb")),
        dataset_name="wechat",
    )
    results = []
    for run in range(runs):
        backfill = run == 0 and not loaded
        reset_peak_rss()
        before = api.calls()
        source = wechat_datacube(
            app_id=DEMO_APP_ID,
            app_secret=DEMO_APP_SECRET,
            base_url=api.base_url,
            start_date=start,
            resources=list(tables),
            keep_raw_responses=keep_raw_responses,
            max_calls=max_calls,
        )
        scope_day_merges(source, "duckdb")
        began = time.perf_counter()
        pipeline.extract(source)
        extract_rss = peak_rss_mb()
        pipeline.normalize()
        info = pipeline.load()
        wall = time.perf_counter() - began
        calls = api.calls() - before
        with pipeline.sql_client() as client:
            ids = ", ".join(f"'{i}'" for i in info.loads_ids)
            rows = client.execute_sql(
                f"SELECT COALESCE(SUM(rows), 0) FROM sync_log WHERE _dlt_load_id IN ({ids})"
            )[0][0]  # noqa: S608
        days = (last_complete_day() - start).days + 1
        results.append(
            Result(
                f"{name} ({'backfill' if backfill else 'daily run'})",
                days,
                api.latency_seconds,
                wall,
                calls,
                int(rows),
                peak_rss_mb(),
                minimum_calls(tables, start, last_complete_day()) if backfill else None,
                calls * api.latency_seconds / DEFAULT_MAX_CONCURRENT_REQUESTS,
                extract_rss,
            )
        )
    return results


def bare_http_loop(api: EmulatorProcess, tables: Sequence[str], start: date) -> Result:
    """The floor of this setup: the backfill's calls from as many threads as the in-flight
    limit, only sent and parsed (no rows, no dlt). The emulator and the client share the
    machine's cores, so this, not calls x latency / limit, is the best a Python client can
    reach here."""
    reset_peak_rss()
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=64))
    token = api.token()
    end = last_complete_day()
    work = [
        (BY_TABLE[table].path, window)
        for table in tables
        for window in plan_windows(BY_TABLE[table], start, end)
    ]

    def call(item: Any) -> None:
        path, window = item
        session.post(
            api.base_url + path,
            params={"access_token": token},
            json={"begin_date": str(window.begin), "end_date": str(window.end)},
        ).json()

    before = api.calls()
    began = time.perf_counter()
    with ThreadPoolExecutor(DEFAULT_MAX_CONCURRENT_REQUESTS) as pool:
        list(pool.map(call, work))
    wall = time.perf_counter() - began
    calls = api.calls() - before
    return Result(
        "bare HTTP loop (floor of this machine)",
        (end - start).days + 1,
        api.latency_seconds,
        wall,
        calls,
        0,
        peak_rss_mb(),
        None,
        calls * api.latency_seconds / DEFAULT_MAX_CONCURRENT_REQUESTS,
    )


def wechatpy_loop(api: EmulatorProcess, tables: Sequence[str], start: date, folder: Path) -> Result:
    """What users do today: one wechatpy call per window, rows inserted into DuckDB."""
    from wechatpy import WeChatClient

    reset_peak_rss()
    client = WeChatClient(DEMO_APP_ID, DEMO_APP_SECRET, access_token=api.token())
    client.datacube.API_BASE_URL = f"{api.base_url}/datacube/"
    db = duckdb.connect(str(folder / "wechatpy.duckdb"))
    before, rows = api.calls(), 0
    began = time.perf_counter()
    for table in tables:
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} (app_id VARCHAR, row JSON)")
        fetch = getattr(client.datacube, WECHATPY_METHODS[table])
        endpoint = BY_TABLE[table]
        narrowest = endpoint.spans[-1].days
        for window in plan_windows(endpoint, start, last_complete_day(), narrowest):
            items = fetch(window.begin, window.end)
            if items:
                db.executemany(
                    f"INSERT INTO {table} VALUES (?, ?)",
                    [(DEMO_APP_ID, json.dumps(i)) for i in items],
                )  # noqa: S608
                rows += len(items)
    wall = time.perf_counter() - began
    db.close()
    days = (last_complete_day() - start).days + 1
    return Result(
        "wechatpy loop (17 endpoints)",
        days,
        api.latency_seconds,
        wall,
        api.calls() - before,
        rows,
        peak_rss_mb(),
    )


def scaling_child(days: int, folder: str) -> Dict[str, Any]:
    """One zero-latency backfill of `days` days of every default endpoint (a child process)."""
    with emulator(0.0) as api:
        start = last_complete_day() - timedelta(days=days - 1)
        [result] = connector(api, DEFAULT_TABLES, start, Path(folder), f"scale{days}")
    return asdict(result)


def backfill_then_daily_child(days: int, folder: str) -> Dict[str, Any]:
    """A zero-latency backfill of `days` days, then a daily run on its data in a process of
    its own, as a scheduler runs it (the backfill's heap would count in the same process)."""
    backfill = scaling_child(days, folder)
    return {"backfill": backfill, "daily": child("daily_child", days, folder)}


def daily_child(days: int, folder: str) -> Dict[str, Any]:
    """A daily run on the data `scaling_child(days, folder)` loaded."""
    with emulator(0.0) as api:
        start = last_complete_day() - timedelta(days=days - 1)
        [daily] = connector(api, DEFAULT_TABLES, start, Path(folder), f"scale{days}", loaded=True)
    return asdict(daily)


def first_budget_child(calls: int, folder: str) -> Dict[str, Any]:
    """A first run ten years back under a budget of `calls` (at 50 ms, a child process): the
    days each endpoint holds after it, and how many of them are its newest 30."""
    with emulator(0.05) as api:
        start = last_complete_day() - timedelta(days=3652 - 1)
        [result] = connector(api, DEFAULT_TABLES, start, Path(folder), "budget", max_calls=calls)
        pipeline = dlt.pipeline(
            pipeline_name="budget", pipelines_dir=str(Path(folder) / "pipelines")
        )
        resources = pipeline.state["sources"]["wechat_datacube"]["resources"]
        held = {}
        for table in DEFAULT_TABLES:
            state = resources.get(table, {})
            first, last = state.get("history_from"), state.get("fetched_through")
            if first and last:
                held[table] = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1
            else:
                held[table] = 0
    return {"result": asdict(result), "days_held": held}


def in_child(call: str, *arguments: Any) -> Any:
    """`backfill.<call>(*arguments, folder)` in a child process of its own (its own peak RSS),
    with a temporary folder; what it returned, through JSON."""
    with tempfile.TemporaryDirectory() as folder:
        return child(call, *arguments, folder)


def child(call: str, *arguments: Any) -> Any:
    """`backfill.<call>(*arguments)` in a child process; what it returned, through JSON."""
    listed = ", ".join(map(repr, arguments))
    code = f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import backfill; print(json.dumps(backfill.{call}({listed})))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if out.returncode:
        sys.stderr.write(out.stderr)  # the child's traceback, or nothing if it was killed
        raise RuntimeError(f"{call}{arguments} exited with {out.returncode}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def scaling(sizes: Sequence[int]) -> List[Result]:
    results = []
    for days in sizes:
        data = in_child("scaling_child", days)
        data["name"] = f"zero latency, {days} days"
        results.append(Result(**data))
    return results


def raw_archive_child(days: int, keep: bool, folder: str) -> Dict[str, Any]:
    """A zero-latency backfill with `keep_raw_responses` on or off (a child process): its
    result, the DuckDB file's size, and the archive's bodies, compressed and as sent."""
    name = "raw_on" if keep else "raw_off"
    with emulator(0.0) as api:
        start = last_complete_day() - timedelta(days=days - 1)
        [result] = connector(
            api, DEFAULT_TABLES, start, Path(folder), name, keep_raw_responses=keep
        )
    with duckdb.connect(str(Path(folder) / f"{name}.duckdb"), read_only=True) as db:
        try:
            bodies = db.execute("SELECT body FROM wechat.raw_responses").fetchall()
        except duckdb.CatalogException:
            bodies = []  # off, and every body parsed: nothing to keep
    return {
        "result": asdict(result),
        "file_mb": (Path(folder) / f"{name}.duckdb").stat().st_size / 2**20,
        "bodies": len(bodies),
        "stored_mb": sum(len(body) for (body,) in bodies) / 2**20,
        "sent_mb": sum(len(raw_body(body)) for (body,) in bodies) / 2**20,
    }


def raw_archive_cost(days: int) -> Dict[str, Dict[str, Any]]:
    """Part 6, each setting in a child process of its own (its own peak RSS)."""
    return {
        "on" if keep else "off": in_child("raw_archive_child", days, keep) for keep in (False, True)
    }


def raw_archive_table(costs: Dict[str, Dict[str, Any]]) -> str:
    lines = [
        f"{'keep_raw_responses':<20} {'wall s':>8} {'RSS MB':>7} {'file MB':>8} {'bodies':>7} {'kept MB':>8} {'sent MB':>8}"
    ]
    for setting, cost in costs.items():
        r = cost["result"]
        lines.append(
            f"{setting:<20} {r['wall_s']:8.1f} {r['peak_rss_mb']:7.0f} {cost['file_mb']:8.1f} {cost['bodies']:>7} {cost['stored_mb']:8.1f} {cost['sent_mb']:8.1f}"
        )
    return "\n".join(lines)


def table(results: Sequence[Result]) -> str:
    lines = [
        f"{'run':<42} {'days':>5} {'wall s':>8} {'calls':>6} {'min':>6} {'rows':>9} {'rows/s':>8} {'bound s':>8} {'/bound':>6} {'RSS MB':>7} {'extract':>7}",
    ]
    for r in results:
        bound = f"{r.lower_bound_s:8.1f}" if r.lower_bound_s else f"{'-':>8}"
        ratio = f"{r.wall_s / r.lower_bound_s:6.2f}" if r.lower_bound_s else f"{'-':>6}"
        minimum = f"{r.minimum_calls:>6}" if r.minimum_calls else f"{'-':>6}"
        extract = f"{r.extract_rss_mb:7.0f}" if r.extract_rss_mb else f"{'-':>7}"
        lines.append(
            f"{r.name:<42} {r.days:>5} {r.wall_s:8.1f} {r.calls:>6} {minimum} {r.rows:>9} {r.rows_per_s:8.0f} {bound} {ratio} {r.peak_rss_mb:7.0f} {extract}"
        )
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--days", type=int, default=365, help="days of the backfill at latency")
    parser.add_argument("--latency", type=float, default=0.05, help="emulator latency in seconds")
    parser.add_argument(
        "--years", type=float, default=10, help="largest zero-latency backfill, in years"
    )
    parser.add_argument(
        "--skip-wechatpy", action="store_true", help="leave the wechatpy comparison out"
    )
    parser.add_argument(
        "--raw-archive-only", action="store_true", help="run only part 6 (keep_raw_responses)"
    )
    args = parser.parse_args(argv)
    full = int(args.years * 365)
    if args.raw_archive_only:
        print(raw_archive_table(raw_archive_cost(full)))
        return 0

    results: List[Result] = []
    comparison: Dict[str, float] = {}
    start = last_complete_day() - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory() as folder, emulator(args.latency) as api:
        backfill, daily = connector(api, DEFAULT_TABLES, start, Path(folder), "connector", runs=2)
        floor = bare_http_loop(api, DEFAULT_TABLES, start)
        results += [backfill, daily, floor]
        comparison["connector_wall_over_floor_wall"] = backfill.wall_s / floor.wall_s
        if not args.skip_wechatpy:
            legacy = list(WECHATPY_METHODS)
            [mine] = connector(api, legacy, start, Path(folder), "connector_17")
            theirs = wechatpy_loop(api, legacy, start, Path(folder))
            results += [mine, theirs]
            comparison["wechatpy_wall_over_connector_wall"] = theirs.wall_s / mine.wall_s
    scale = scaling([full // 4, full // 2])
    largest = in_child("backfill_then_daily_child", full)
    largest["backfill"]["name"] = f"zero latency, {full} days"
    largest["daily"]["name"] = f"daily run on {full} days (own process)"
    scale.append(Result(**largest["backfill"]))
    results += [*scale, Result(**largest["daily"])]
    archive = raw_archive_cost(full)
    budget = in_child("first_budget_child", 1000)

    print(table(results))
    print(
        f"\nconnector / bare HTTP loop, same calls: {comparison['connector_wall_over_floor_wall']:.2f}x the time"
    )
    if "wechatpy_wall_over_connector_wall" in comparison:
        print(
            "wechatpy loop / connector on the same 17 endpoints: "
            f"{comparison['wechatpy_wall_over_connector_wall']:.1f}x the time"
        )
    per_day = [r.wall_s / r.days for r in scale]
    print(
        "zero-latency cost per day (s): "
        + ", ".join(f"{d} days: {c:.4f}" for d, c in zip((r.days for r in scale), per_day))
    )
    print(f"spread of the cost per day: {max(per_day) / min(per_day) - 1:.0%}")
    per_call = [r.wall_s / r.calls * 1000 for r in scale]
    print(
        "zero-latency cost per call (ms): "
        + ", ".join(f"{d} days: {c:.2f}" for d, c in zip((r.days for r in scale), per_call))
    )
    print(f"\nkeep_raw_responses on a {full}-day backfill:\n{raw_archive_table(archive)}")
    held = budget["days_held"]
    print(
        "\nfirst run ten years back with max_calls = 1000: days held per endpoint "
        f"(min {min(held.values())}, median {sorted(held.values())[len(held) // 2]}): "
        + ", ".join(f"{table} {days}" for table, days in held.items())
    )
    (HERE / "results.json").write_text(
        json.dumps(
            {
                "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
                "results": [{**asdict(r), "rows_per_s": r.rows_per_s} for r in results],
                **comparison,
                "cost_per_day_s": per_day,
                "cost_per_call_ms": per_call,
                "raw_archive": archive,
                "first_1000_calls_days_held": held,
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
