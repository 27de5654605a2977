"""`wechat-datacube report` as a new user runs it after the demo: one self-contained HTML file
with every section, which draws every chart in a real browser with the network off, and clear
errors for wrong inputs."""

import json
import re
from datetime import date, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Dict, List, Tuple

import dlt
import plotly.graph_objects as go
import pytest
from plotly.io import to_html
from plotly.offline import get_plotlyjs

from tests import browser
from tests.helpers import LAST_COMPLETE, make_pipeline, query, run, run_command
from wechat_datacube_source.catalog import PUBLISHED_CONTENT_EARLIEST
from wechat_datacube_source.emulator import DEMO_APP_ID, Emulator, FaultRule
from wechat_datacube_source.report_data import (
    FAILED,
    LOADED_DAY,
    NOT_READY,
    SET_ASIDE,
    AccountReport,
    read_report,
)
from wechat_datacube_source.report_page import REPORT_FILE, render
from wechat_datacube_source.views import create_views


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    done = run_command(folder, "demo", "--quiet", "--ads", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    return folder


class _External(HTMLParser):
    """Every script, style sheet, image or frame the page would fetch from elsewhere."""

    def __init__(self) -> None:
        super().__init__()
        self.fetched: List[str] = []

    def handle_starttag(self, tag: str, attrs: List) -> None:  # type: ignore[type-arg]
        for name, value in attrs:
            fetches = tag in ("script", "link", "img", "iframe", "source", "embed")
            if fetches and name in ("src", "href") and value and not value.startswith("#"):
                self.fetched.append(f"{tag} {name}={value}")


DEMO_CHARTS = {
    "total",
    "new_lost",
    "top",
    "legacy",
    "sources",
    "shares",
    "volume",
    "hours",
    "interface",
    "ad_income",
    "calendar",
}
"""Every chart of the report, each of which the demo's data (with --ads) draws."""


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_demo_report_is_one_file_with_every_section(demo_folder: Path, language: str) -> None:
    output = demo_folder / f"report-{language}.html"
    done = run_command(
        demo_folder, "report", "--output", str(output), "--language", language, env={}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    page = output.read_text(encoding="utf-8")
    external = _External()
    external.feed(page)
    assert external.fetched == []
    assert "Plotly.newPlot" in page and DEMO_APP_ID in page
    for chart in DEMO_CHARTS:
        assert f"data-chart='{chart}'" in page, chart
    words = {"en": ("Data health", "Moments", "text"), "zh": ("数据健康", "朋友圈", "文字")}
    for word in words[language]:
        assert word in page
    assert "No data in this range" not in page and "Not in this dataset" not in page


def test_a_partial_load_says_what_it_lacks(tmp_path: Path) -> None:
    """Two tables loaded, no ads: their charts, and in each other chart's place what is not
    in the dataset and how it gets there (the ad chart's own note for the ad tables)."""
    loaded = run_command(
        tmp_path, "demo", "--quiet", "--resources", "user_cumulate,upstream_msg", env={}
    )
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    done = run_command(tmp_path, "report", env={})
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / REPORT_FILE).read_text(encoding="utf-8")
    drawn = set(re.findall(r"data-chart='(\w+)'", page))
    assert drawn == {"total", "volume", "calendar"}
    assert "No ad statistics are loaded" in page
    # each chart whose table or view is not there says which, and how it gets there
    notes = re.findall(r"Not in this dataset: ([^<]*)", page)
    assert len(notes) == 7 and "v_ad_revenue_by_slot" not in page
    assert "v_article_first_days, the view wechat-datacube run creates once " in page
    assert "interface_summary, which wechat-datacube run loads unless --resources" in page


@pytest.mark.parametrize("language", ["en", "zh"])
def test_the_demo_report_draws_every_chart_offline_in_chromium(
    demo_folder: Path, language: str, tmp_path: Path
) -> None:
    output = tmp_path / f"report-{language}.html"
    done = run_command(
        demo_folder, "report", "--output", str(output), "--language", language, env={}
    )
    assert done.returncode == 0, done.stdout + done.stderr
    seen = browser.render(output)
    assert seen.refused == [] and seen.errors == []
    assert set(seen.charts) == DEMO_CHARTS
    assert {name for name, marks in seen.charts.items() if marks == 0} == set(), seen.charts
    # the screenshot is of a drawn page: a blank one of this size compresses to a few kB
    (tmp_path / f"report-{language}.png").write_bytes(seen.screenshot)
    assert seen.screenshot.startswith(b"\x89PNG") and len(seen.screenshot) > 200_000


def test_the_browser_check_sees_an_empty_chart_an_error_and_a_fetch(tmp_path: Path) -> None:
    """The check above can fail: on a page with a chart that drew nothing (no data, or only
    bars of no height), an uncaught error, and an image from elsewhere, it says so."""

    def chart(name: str, figure: go.Figure) -> str:
        div = to_html(figure, full_html=False, include_plotlyjs=False)
        return f"<div data-chart='{name}'>{div}</div>"

    page = tmp_path / "broken.html"
    page.write_text(
        f"<html><head><script>{get_plotlyjs()}</script></head><body>"
        + chart("drawn", go.Figure(go.Bar(x=[1, 2], y=[3, 4])))
        + chart("no_rows", go.Figure(go.Bar(x=[], y=[])))
        + chart("zeros", go.Figure(go.Bar(x=[1, 2], y=[0, 0])))
        + "<img src='http://127.0.0.1:9/logo.png'><script>throw new Error('boom')</script>"
        + "</body></html>",
        encoding="utf-8",
    )
    seen = browser.render(page)
    assert seen.charts == {"drawn": 2, "no_rows": 0, "zeros": 0}
    assert seen.refused == ["http://127.0.0.1:9/logo.png"]
    assert any("boom" in error for error in seen.errors), seen.errors


def test_wrong_inputs_name_what_to_fix(demo_folder: Path, tmp_path: Path) -> None:
    unknown = run_command(demo_folder, "report", "--accounts", "wx-nobody", env={})
    assert unknown.returncode == 2
    assert "wx-nobody" in unknown.stderr and DEMO_APP_ID in unknown.stderr
    # (AppIDs are compared ignoring case, as in the settings)
    shouted = run_command(
        demo_folder, "report", "--accounts", f" {DEMO_APP_ID.upper()}", "--output", "x.html", env={}
    )
    assert shouted.returncode == 0, shouted.stderr
    assert f'<a href="#account-{DEMO_APP_ID}">' in (demo_folder / "x.html").read_text("utf-8")
    bad_day = run_command(demo_folder, "report", "--until", "2026-13-01", env={})
    assert bad_day.returncode == 2 and "--until" in bad_day.stderr
    nothing = run_command(tmp_path, "report", env={})
    assert nothing.returncode == 2 and "demo" in nothing.stderr
    nowhere = tmp_path / "no-such-folder" / "report.html"
    no_folder = run_command(demo_folder, "report", "--output", str(nowhere), env={})
    assert (
        no_folder.returncode == 2 and f"folder {nowhere.parent} does not exist" in no_folder.stderr
    )
    too_early = run_command(demo_folder, "report", "--until", "2001-01-01", env={})
    assert too_early.returncode == 2
    assert (
        "before the first day loaded" in too_early.stderr and "Give a day from" in too_early.stderr
    )


def _shown_days(folder: Path, *options: str) -> Tuple[date, date]:
    """The first and last day of the report `report *options` writes in `folder`."""
    output = folder / "range.html"
    done = run_command(folder, "report", "--output", str(output), *options, env={})
    assert done.returncode == 0, done.stdout + done.stderr
    shown = re.search(r"<p>(\d{4}-\d\d-\d\d) to (\d{4}-\d\d-\d\d)</p>", output.read_text("utf-8"))
    assert shown is not None
    return date.fromisoformat(shown[1]), date.fromisoformat(shown[2])


def test_the_days_shown_stay_within_the_days_loaded(demo_folder: Path) -> None:
    """However many days are asked, and up to whatever day: the demo's 90 days at most."""
    first, last = _shown_days(demo_folder)
    assert (last - first).days == 89
    assert _shown_days(demo_folder, "--days", "100000", "--until", "2999-12-31") == (first, last)
    assert _shown_days(demo_folder, "--days", "7") == (last - timedelta(days=6), last)
    earlier = last - timedelta(days=30)
    assert _shown_days(demo_folder, "--until", earlier.isoformat()) == (first, earlier)


def test_the_calendar_gives_each_day_its_state(tmp_path: Path, api: Emulator) -> None:
    """Over the emulator with faults, into DuckDB: a day that never parses is set aside, a
    window refused is failed, a newest day WeChat has not finished is not ready, and a table
    whose runs `sync_log` no longer holds still shows the days its rows cover."""
    first = LAST_COMPLETE - timedelta(days=29)
    poison, refused = LAST_COMPLETE - timedelta(days=20), LAST_COMPLETE - timedelta(days=3)
    api.add_fault(FaultRule("malformed", endpoints=("user_summary",), dates=(poison,)))
    api.add_fault(FaultRule("errcode", endpoints=("user_cumulate",), dates=(refused,)))
    api.add_fault(FaultRule("empty", endpoints=("interface_summary",), dates=(LAST_COMPLETE,)))
    pipeline = make_pipeline(tmp_path)
    tables = ["user_summary", "user_cumulate", "interface_summary", "upstream_msg"]
    run(
        pipeline,
        api,
        resources=tables,
        start_date=first.isoformat(),
        max_retries=0,
        set_aside_after_failures=1,
    )
    shown = {row[0] for row in query(pipeline, "SELECT DISTINCT ref_date FROM upstream_msg")}
    query(pipeline, "DELETE FROM sync_log WHERE endpoint = 'upstream_msg'")

    (report,) = read_report(pipeline.dataset(), days=30, last_day=LAST_COMPLETE)
    health = report.health
    assert set(health) == set(tables)
    everything = set(report.days)
    assert {day for day, state in health["user_summary"].items() if state != LOADED_DAY} == {poison}
    assert health["user_summary"][poison] == SET_ASIDE
    assert health["user_cumulate"][refused] == FAILED
    assert set(health["user_cumulate"].values()) <= {LOADED_DAY, FAILED}
    assert health["interface_summary"][LAST_COMPLETE] == NOT_READY
    assert {d for d, s in health["interface_summary"].items() if s == LOADED_DAY} == everything - {
        LAST_COMPLETE
    }
    # (no run of it in sync_log: its rows alone say which days are there)
    assert shown and {d for d, s in health["upstream_msg"].items() if s == LOADED_DAY} == shown


def _comparable(report: AccountReport) -> Dict[str, Any]:
    """The report's data with each destination's number types made one (PostgreSQL sums to
    NUMERIC, DuckDB to integers and doubles) and each chart's rows in one order (the two sort
    labels by different collations)."""

    def value(cell: Any) -> Any:
        is_number = isinstance(cell, (int, float, Decimal)) and not isinstance(cell, bool)
        return round(float(cell), 6) if is_number else cell

    found: Dict[str, Any] = {}
    for name, rows in vars(report).items():
        if isinstance(rows, list) and name != "problems":
            found[name] = sorted((tuple(value(c) for c in row) for row in rows), key=repr)
    found["health"] = report.health
    found["problems"] = sorted(status.table for status in report.problems)
    return found


def test_the_report_reads_postgresql_as_it_reads_duckdb(
    tmp_path: Path, api: Emulator, postgres: str
) -> None:
    """The same 30 days of every table, ads included, loaded into DuckDB and into a real
    PostgreSQL server: the report's data read through dlt from each is the same, and the
    command draws every chart from PostgreSQL."""
    first = (LAST_COMPLETE - timedelta(days=29)).isoformat()
    datasets = []
    for destination in (None, dlt.destinations.postgres(postgres)):
        pipeline = make_pipeline(tmp_path, destination=destination)
        run(pipeline, api, start_date=first, include_ad_stats=True)
        create_views(pipeline)
        datasets.append(pipeline.dataset())
    from_duckdb, from_postgres = (read_report(dataset, days=30) for dataset in datasets)
    assert _comparable(from_postgres[0]) == _comparable(from_duckdb[0])
    assert from_duckdb[0].missing == {} and from_duckdb[0].legacy_articles != []

    env = {"DESTINATION__POSTGRES__CREDENTIALS": postgres}
    done = run_command(tmp_path, "report", "--destination", "postgres", "--days", "30", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    page = (tmp_path / REPORT_FILE).read_text(encoding="utf-8")
    assert set(re.findall(r"data-chart='(\w+)'", page)) == DEMO_CHARTS


def test_no_day_before_an_endpoint_existed_counts_as_not_loaded(
    tmp_path: Path, api: Emulator
) -> None:
    """Ten weeks across the day the published-content family began: its calendar row starts
    on that day, the legacy one's covers them all."""
    pipeline = make_pipeline(tmp_path)
    first = PUBLISHED_CONTENT_EARLIEST - timedelta(days=35)
    run(pipeline, api, resources=["article_read", "user_summary"], start_date=first.isoformat())
    (report,) = read_report(pipeline.dataset(), days=70, last_day=first + timedelta(days=69))
    assert min(report.health["article_read"]) == PUBLISHED_CONTENT_EARLIEST
    assert set(report.health["article_read"].values()) == {LOADED_DAY}
    assert min(report.health["user_summary"]) == first


def test_over_120_days_the_bars_add_up_each_week() -> None:
    """What a 2-year report draws: a day's bar would be a hairline, so bars stand on each
    week's Monday and hold its sum; up to 120 days they are days."""
    first = date(2026, 1, 5)  # (a Monday)

    def bars(days: int) -> Dict[Any, Any]:
        report = AccountReport(DEMO_APP_ID, first, first + timedelta(days=days - 1))
        report.messages = [(day, "text", "文字", 1) for day in report.days]
        (figure,) = re.findall(
            r'Plotly\.newPlot\(\s*"[^"]*-volume",\s*(\[.*?\]),\s*\{', render([report])
        )
        (trace,) = json.loads(figure)
        return dict(zip(trace["x"], trace["y"]))

    weekly = bars(140)
    assert len(weekly) == 20 and set(weekly.values()) == {7}
    assert all(date.fromisoformat(day).weekday() == 0 for day in weekly)
    assert set(bars(120).values()) == {1}
