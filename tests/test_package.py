"""The wheel `pip install .` builds: what it ships, what it leaves out, one version."""

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.helpers import ROOT
from wechat_datacube_source import __version__


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    [built] = out.glob("*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_ships_the_source_the_emulator_and_its_type_marker(
    wheel: zipfile.ZipFile,
) -> None:
    shipped = wheel.namelist()
    package = ROOT / "wechat_datacube_source"
    modules = sorted(str(p.relative_to(ROOT)) for p in package.rglob("*.py"))
    assert modules and all(module in shipped for module in modules)
    assert "wechat_datacube_source/emulator/server.py" in shipped
    assert "wechat_datacube_source/py.typed" in shipped


def test_the_wheel_leaves_out_tests_benchmarks_and_local_files(wheel: zipfile.ZipFile) -> None:
    top_level = {name.split("/")[0] for name in wheel.namelist()}
    assert top_level == {
        "wechat_datacube_source",
        f"wechat_datacube_source-{__version__}.dist-info",
    }


def test_the_version_is_written_once(wheel: zipfile.ZipFile) -> None:
    metadata = wheel.read(f"wechat_datacube_source-{__version__}.dist-info/METADATA").decode()
    assert f"Version: {__version__}\n" in metadata
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## {__version__} " in changelog
    # nowhere else: pyproject.toml reads it from version.py
    assert __version__ not in (ROOT / "pyproject.toml").read_text()


def test_the_wheel_installs_the_wechat_datacube_command(wheel: zipfile.ZipFile) -> None:
    entry_points = wheel.read(
        f"wechat_datacube_source-{__version__}.dist-info/entry_points.txt"
    ).decode()
    assert "wechat-datacube = wechat_datacube_source.cli:main" in entry_points.splitlines()


def test_the_installed_command_runs() -> None:
    """The script pip wrote into this environment (the README's `pip install`) starts."""
    command = Path(sys.executable).parent / "wechat-datacube"
    done = subprocess.run(
        [str(command), "--version"], capture_output=True, text=True, timeout=120, check=True
    )
    assert done.stdout.strip() == f"wechat-datacube, version {__version__}"
    listed = subprocess.run(
        [str(command), "--help"], capture_output=True, text=True, timeout=120, check=True
    )
    for subcommand in ("run", "demo", "sql", "status", "emulator"):
        assert re.search(rf"^\s+{subcommand}\s", listed.stdout, re.MULTILINE), listed.stdout
