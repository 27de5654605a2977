"""Shared fixtures: a live emulator on loopback, an isolated pipeline, a frozen clock.

Tests marked `destinations` get their `pipeline` once on DuckDB and once on a real
PostgreSQL server (tests/postgres.py).
"""

import os
import tempfile

# tests never read the developer's .dlt/ (real credentials) nor write to ~/.dlt
os.environ["DLT_PROJECT_DIR"] = tempfile.mkdtemp(prefix="wechat-tests-project-")
os.environ["DLT_DATA_DIR"] = tempfile.mkdtemp(prefix="wechat-tests-data-")
os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
# as the repository's .dlt/config.toml: rows carry the load that wrote them
os.environ["NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID"] = "true"

from pathlib import Path  # noqa: E402
from typing import Any, Iterator  # noqa: E402

import dlt  # noqa: E402
import pytest  # noqa: E402
import time_machine  # noqa: E402

from tests.helpers import NOW, make_pipeline  # noqa: E402
from tests.postgres import (  # noqa: E402
    DSN_VARIABLE,
    REQUIRED_VARIABLE,
    binaries,
    database,
    throwaway_server,
)
from wechat_datacube_source.emulator import Emulator  # noqa: E402


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture
def api(clock: time_machine.Traveller) -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


DESTINATIONS = ("duckdb", "postgres")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "destination" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "destinations"
    ):
        metafunc.parametrize("destination", DESTINATIONS, indirect=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a PostgreSQL server for this test session."""
    given = os.environ.get(DSN_VARIABLE)
    if given:
        yield given
        return
    bin_dir = binaries()
    if bin_dir is None:
        message = f"PostgreSQL is not installed (apt-get install postgresql) and {DSN_VARIABLE} is not set"
        if os.environ.get(REQUIRED_VARIABLE):
            pytest.fail(message)
        pytest.skip(message)
    with throwaway_server(bin_dir) as dsn:
        yield dsn


@pytest.fixture
def postgres(postgres_server: str) -> Iterator[str]:
    """A DSN of an empty database of its own."""
    with database(postgres_server) as dsn:
        yield dsn


@pytest.fixture
def destination(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    """The test's destination: a DuckDB file in tmp_path, or a PostgreSQL database."""
    if getattr(request, "param", "duckdb") == "postgres":
        return dlt.destinations.postgres(request.getfixturevalue("postgres"))
    return dlt.destinations.duckdb(str(tmp_path / "test.duckdb"))


@pytest.fixture
def pipeline(tmp_path: Path, destination: Any) -> dlt.Pipeline:
    return make_pipeline(tmp_path, destination=destination)
