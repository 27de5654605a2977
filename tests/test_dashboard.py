"""dlt's pipeline dashboard (`dlt pipeline <name> show`) on a loaded pipeline, with the
`dashboard` extra: it starts on 127.0.0.1 and answers HTTP 200.

Skipped unless the extra is installed; `.ci/run` installs it in a virtualenv of its own and
sets WECHAT_TESTS_REQUIRE_DASHBOARD so that there it must run. Plain dlt only prints a warning
and exits 0, which is why the README names the extra.
"""

import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import pytest
import requests

from tests.helpers import run_command, script_environment
from wechat_datacube_source.targets import DEMO_PIPELINE_NAME


@pytest.fixture
def dashboard_ready() -> None:
    if os.environ.get("WECHAT_TESTS_REQUIRE_DASHBOARD") is None:
        pytest.importorskip("marimo", reason="the `dashboard` extra is not installed")
        pytest.importorskip("dlthub", reason="the `dashboard` extra is not installed")


ATTACHED = """
import dlt
pipeline = dlt.attach("wechat_datacube_demo")
print(dict(pipeline.dataset().row_counts().fetchall())["user_summary"])
"""


def _demo(tmp_path: Path) -> Dict[str, str]:
    """A demo load in `tmp_path`; the environment the README gives dlt's commands for it."""
    loaded = run_command(tmp_path, "demo", "--resources", "user_summary,user_cumulate", env={})
    assert loaded.returncode == 0, loaded.stdout + loaded.stderr
    file = tmp_path / "wechat_datacube.duckdb"
    return script_environment(tmp_path, {"DESTINATION__DUCKDB__CREDENTIALS": str(file)})


def test_dlt_finds_the_demo_data_where_the_readme_says(tmp_path: Path) -> None:
    """dlt remembers a pipeline's destination, not its DuckDB file: `dlt.attach`, which the
    dashboard and `dlt pipeline` use, reads `<pipeline name>.duckdb` (made empty) unless told
    the file, as the README tells it."""
    env = _demo(tmp_path)
    attached = subprocess.run(
        [sys.executable, "-c", ATTACHED], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert attached.returncode == 0, attached.stderr
    assert int(attached.stdout) > 0
    assert [path.name for path in tmp_path.glob("*.duckdb")] == ["wechat_datacube.duckdb"]


def test_the_dashboard_serves_a_loaded_pipeline_on_loopback(
    tmp_path: Path, dashboard_ready: None
) -> None:
    env = _demo(tmp_path)
    # dlt starts `marimo` from the PATH, as in an activated virtualenv; no browser to open here
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["BROWSER"] = "true"
    process = subprocess.Popen(
        [sys.executable, "-m", "dlt", "pipeline", DEMO_PIPELINE_NAME, "show"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a process group of its own: dlt's process and marimo's
    )
    try:
        url = _url_of(process)
        host, port = re.fullmatch(r"http://([\w.\-]+):(\d+)", url).groups()  # type: ignore[union-attr]
        assert host in ("localhost", "127.0.0.1"), url
        answer = _when_up(f"http://127.0.0.1:{port}/")
        assert answer.status_code == 200
        assert "marimo" in answer.text
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # stopped by its PID, with what it started
        process.wait(timeout=30)
    assert _when_down(f"http://127.0.0.1:{port}/"), "the dashboard outlived its process group"


def _when_up(url: str) -> requests.Response:
    """The first answer of a server that names its URL a moment before it listens."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return requests.get(url, timeout=30)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _when_down(url: str) -> bool:
    """Whether a server stops answering within 30 s (it shuts down on its own pace)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=5)
        except requests.ConnectionError:
            return True
        time.sleep(0.5)
    return False


def _url_of(process: "subprocess.Popen[bytes]") -> str:
    """The address the dashboard says it serves on (within two minutes)."""
    assert process.stdout is not None
    seen = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if not ready:
            continue
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        seen += chunk
        found = re.search(rb"http://[\w.\-]+:\d+", seen)
        if found:
            return found.group(0).decode()
    raise AssertionError("the dashboard named no URL:\n" + seen.decode(errors="replace"))
