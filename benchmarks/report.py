"""Report benchmark: `wechat-datacube report` on 3 accounts x 2 years, and what a browser makes of it.

    pip install ".[test]"                  # playwright, for the browser part
    python benchmarks/report.py            # 3 accounts, 730 days, with the ad tables
    python benchmarks/report.py --accounts 1 --days 90

Loads the accounts from the emulator (in this process, zero latency; each account in its own
pipeline into one DuckDB file, as `wechat-datacube run` does), then builds the report as the
command does: reads it through dlt's dataset API (`read_report`) and renders it (`render`),
timing each, for one account and for all of them. Then, where Chromium and Playwright are
installed, opens the file headless and times it until every chart has drawn.

Prints a table and writes benchmarks/report_results.json. It measures, it does not assert:
the README reports whatever it printed.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")

import dlt  # noqa: E402

from wechat_datacube_source import account_sources, scope_day_merges  # noqa: E402
from wechat_datacube_source.clock import last_complete_day  # noqa: E402
from wechat_datacube_source.emulator import Emulator  # noqa: E402
from wechat_datacube_source.memory_defaults import use_memory_defaults  # noqa: E402
from wechat_datacube_source.report_data import read_report  # noqa: E402
from wechat_datacube_source.report_page import render  # noqa: E402
from wechat_datacube_source.views import create_views  # noqa: E402

HERE = Path(__file__).resolve().parent
use_memory_defaults()


def load(accounts: Dict[str, str], days: int, folder: Path) -> Any:
    """Every account's `days` days up to the last complete day, ad tables included; the
    dataset the report reads."""
    database = str(folder / "report.duckdb")
    with Emulator(accounts) as api:
        for account in account_sources(
            [{"app_id": app_id, "app_secret": secret} for app_id, secret in accounts.items()],
            base_url=api.base_url,
            start_date=(last_complete_day() - timedelta(days=days - 1)).isoformat(),
            include_ad_stats=True,
        ):
            pipeline = dlt.pipeline(
                pipeline_name=account.pipeline_name,
                pipelines_dir=str(folder / "pipelines"),
                destination=dlt.destinations.duckdb(database),
                dataset_name="wechat",
            )
            scope_day_merges(account.source, "duckdb")
            pipeline.run(account.source).raise_on_failed_jobs()
    create_views(pipeline)
    return pipeline.dataset()


def build(dataset: Any, accounts: Optional[List[str]], days: int, output: Path) -> Dict[str, Any]:
    """The report of `accounts` (all: None) as the command builds it, timed part by part."""
    began = time.perf_counter()
    reports = read_report(dataset, accounts, days)
    read = time.perf_counter() - began
    page = render(reports)
    rendered = time.perf_counter() - began - read
    output.write_text(page, encoding="utf-8")
    return {
        "accounts": len(reports),
        "read_s": round(read, 2),
        "render_s": round(rendered, 2),
        "total_s": round(read + rendered, 2),
        "file_mb": round(output.stat().st_size / 1e6, 1),
    }


def draw_seconds(page_file: Path) -> Optional[float]:
    """Seconds from opening the file in headless Chromium until every chart has drawn;
    None where no Chromium or Playwright is installed."""
    chromium = os.environ.get("WECHAT_TEST_CHROMIUM") or shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        began = time.perf_counter()
        page.goto(page_file.resolve().as_uri(), wait_until="load")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-chart]')]"
            ".every(c => c.querySelector('.main-svg'))",
            timeout=120_000,
        )
        seconds = time.perf_counter() - began
        browser.close()
    return round(seconds, 2)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--accounts", type=int, default=3, help="accounts to load")
    parser.add_argument("--days", type=int, default=730, help="days of each account")
    options = parser.parse_args(argv)
    accounts = {f"wxbench{n:011d}": f"secret-{n}" for n in range(1, options.accounts + 1)}
    with tempfile.TemporaryDirectory(prefix="wechat-report-bench-") as temporary:
        folder = Path(temporary)
        began = time.perf_counter()
        dataset = load(accounts, options.days, folder)
        print(
            f"loaded {len(accounts)} account(s) x {options.days} days in "
            f"{time.perf_counter() - began:.0f} s",
            file=sys.stderr,
        )
        results = []
        for name, wanted in (("one account", [next(iter(accounts))]), ("every account", None)):
            output = folder / f"{name.replace(' ', '_')}.html"
            result = {
                "report": name,
                "days": options.days,
                **build(dataset, wanted, options.days, output),
            }
            result["browser_draw_s"] = draw_seconds(output)
            results.append(result)
    columns = list(results[0])
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for result in results:
        print("| " + " | ".join("–" if v is None else str(v) for v in result.values()) + " |")
    (HERE / "report_results.json").write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
