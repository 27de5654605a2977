"""`wechat-datacube report` as a new user runs it after the demo: one self-contained HTML file
with every section, and clear errors for wrong inputs."""

from html.parser import HTMLParser
from pathlib import Path
from typing import List

import pytest

from tests.helpers import run_command
from wechat_datacube_source.emulator import DEMO_APP_ID


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("report")
    done = run_command(folder, "demo", "--quiet", env={})
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
    # every chart of the demo's data is drawn (the ad tables are not loaded by the demo)
    charts = {"total", "new_lost", "top", "sources", "shares", "volume", "hours", "interface"}
    for chart in charts | {"calendar"}:
        assert f"data-chart='{chart}'" in page, chart
    assert "data-chart='ad_income'" not in page
    words = {"en": ("Data health", "No ad statistics"), "zh": ("数据健康", "未加载广告数据")}
    for word in words[language]:
        assert word in page


def test_wrong_inputs_name_what_to_fix(demo_folder: Path, tmp_path: Path) -> None:
    unknown = run_command(demo_folder, "report", "--accounts", "wx-nobody", env={})
    assert unknown.returncode == 2
    assert "wx-nobody" in unknown.stderr and DEMO_APP_ID in unknown.stderr
    bad_day = run_command(demo_folder, "report", "--until", "2026-13-01", env={})
    assert bad_day.returncode == 2 and "--until" in bad_day.stderr
    nothing = run_command(tmp_path, "report", env={})
    assert nothing.returncode == 2 and "demo" in nothing.stderr
