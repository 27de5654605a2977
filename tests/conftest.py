"""Shared fixtures: a live emulator on loopback, an isolated DuckDB pipeline, a frozen clock."""

import os
import tempfile

# tests never read the developer's .dlt/ (real credentials) nor write to ~/.dlt
os.environ["DLT_PROJECT_DIR"] = tempfile.mkdtemp(prefix="wechat-tests-project-")
os.environ["DLT_DATA_DIR"] = tempfile.mkdtemp(prefix="wechat-tests-data-")
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

from pathlib import Path  # noqa: E402
from typing import Iterator  # noqa: E402

import dlt  # noqa: E402
import pytest  # noqa: E402
import time_machine  # noqa: E402

from tests.helpers import NOW, make_pipeline  # noqa: E402
from wechat_datacube_source.emulator import Emulator  # noqa: E402


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def api(clock: time_machine.Traveller) -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def pipeline(tmp_path: Path) -> dlt.Pipeline:
    return make_pipeline(tmp_path)
