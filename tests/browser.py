"""A real browser for the report's tests: Debian's Chromium, driven headless by Playwright.

The page is opened from its file with the network off: every request that is not the file
itself is refused and recorded, so a page that is not self-contained shows it. Each chart
(`[data-chart]`, one Plotly plot) is then read from the drawn SVG: how many marks (bars,
line paths, pie slices, heatmap images) have a size on screen. A chart whose data never
reached the plot, or whose marks are all empty, has none.

`.ci/run` installs `chromium` (and CJK fonts, for the Chinese report) from Debian's packages
and sets WECHAT_TESTS_REQUIRE_BROWSER, so that there the tests fail instead of skipping.
"""

import contextlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import pytest

EXECUTABLE_VARIABLE = "WECHAT_TEST_CHROMIUM"
"""A Chromium (or Chrome) to use instead of Debian's `chromium` on the PATH."""
REQUIRED_VARIABLE = "WECHAT_TESTS_REQUIRE_BROWSER"
"""Set (CI sets it) to fail instead of skipping the browser tests when no browser can run."""

# each chart's drawn marks: a line counts when it has a length, any other shape when it has
# an area (a bar of no height, or a path of one point, draws nothing anyone can see)
_COUNT_MARKS = """() => Object.fromEntries(
  [...document.querySelectorAll('[data-chart]')].map(chart => {
    const marks = [...chart.querySelectorAll('.trace path, .trace image, .hm image')]
      .filter(mark => {
        const box = mark.getBBox();
        return mark.classList.contains('js-line')
          ? box.width > 0 || box.height > 0
          : box.width > 0 && box.height > 0;
      });
    return [chart.dataset.chart, marks.length];
  }))"""


@dataclass
class RenderedPage:
    """What the browser saw of a page."""

    charts: Dict[str, int]
    """Each chart's name, and the number of marks it drew."""
    errors: List[str] = field(default_factory=list)
    """Console errors and uncaught exceptions."""
    refused: List[str] = field(default_factory=list)
    """Every address the page tried to fetch besides its own file."""
    screenshot: bytes = b""
    """The whole page as PNG."""


def chromium() -> Optional[str]:
    """The browser to drive, if one is installed."""
    return os.environ.get(EXECUTABLE_VARIABLE) or shutil.which("chromium")


def skip_or_fail(reason: str) -> None:
    """Skips the test, unless the browser tests are required here (in CI)."""
    if os.environ.get(REQUIRED_VARIABLE):
        pytest.fail(f"{reason}, and {REQUIRED_VARIABLE} is set")
    pytest.skip(reason)


def render(page_file: Path, width: int = 1280) -> RenderedPage:
    """Opens the page in headless Chromium, offline; what it drew, logged and fetched."""
    executable = chromium()
    if executable is None:
        skip_or_fail(
            f"no chromium on the PATH (apt-get install chromium, or {EXECUTABLE_VARIABLE})"
        )
    try:
        from playwright.sync_api import Route, sync_playwright
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
    except ImportError:
        skip_or_fail("playwright is not installed (the `test` extra installs it)")
    own = page_file.resolve().as_uri()
    errors: List[str] = []
    refused: List[str] = []

    def only_the_file(route: Route) -> None:
        if route.request.url == own:
            route.continue_()
        else:
            refused.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable)
        try:
            context = browser.new_context(offline=True, viewport={"width": width, "height": 900})
            context.route("**/*", only_the_file)
            page = context.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))
            page.goto(own, wait_until="load")
            # Plotly draws each plot as its inline script runs; wait until every one has, or
            # give up and count what is there (a plot that never drew counts no marks)
            with contextlib.suppress(PlaywrightTimeout):
                page.wait_for_function(
                    "() => [...document.querySelectorAll('[data-chart]')]"
                    ".every(c => c.querySelector('.main-svg'))",
                    timeout=20_000,
                )
            charts = page.evaluate(_COUNT_MARKS)
            screenshot = page.screenshot(full_page=True)
        finally:
            browser.close()
    return RenderedPage(charts=charts, errors=errors, refused=refused, screenshot=screenshot)


if __name__ == "__main__":
    # python -m tests.browser PAGE.html SHOT.png: the screenshot the test takes (docs/report.png)
    import sys

    Path(sys.argv[2]).write_bytes(render(Path(sys.argv[1])).screenshot)
