"""A real PostgreSQL server for the tests: the one in WECHAT_TEST_POSTGRES, or a throwaway one.

The throwaway cluster lives in a temporary folder, listens on 127.0.0.1 only, and is started
with the machine's own PostgreSQL binaries (Debian's `postgresql` package, which `.ci/run`
installs). Each test gets a database of its own, so tests on two workers never meet.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, List, Optional

import psycopg2

DSN_VARIABLE = "WECHAT_TEST_POSTGRES"
"""A server to use instead of a throwaway one: postgresql://user:password@host:port/db."""
REQUIRED_VARIABLE = "WECHAT_TESTS_REQUIRE_POSTGRES"
"""Set (CI sets it) to fail instead of skipping the PostgreSQL tests when no server can run."""
SERVER_USER = "postgres"


def binaries() -> Optional[Path]:
    """The folder of initdb and pg_ctl, if PostgreSQL is installed."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _as_server_user(command: List[str]) -> List[str]:
    # PostgreSQL refuses to run as root; CI runs as root
    if os.geteuid() == 0:
        return ["runuser", "-u", SERVER_USER, "--", *command]
    return command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _start(bin_dir: Path, folder: Path, data: Path, attempts: int = 5) -> int:
    """Starts the cluster on a free loopback port; its port. A port found free may be taken
    by another process before the server binds it (two test sessions at once): then the
    start fails, and another port is tried."""
    for _ in range(attempts):
        port = _free_port()
        options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        command = [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w"]
        started = subprocess.run(
            _as_server_user([*command, "-l", str(folder / "log"), "start"]),
            capture_output=True,
            timeout=120,
        )
        if started.returncode == 0:
            return port
    raise subprocess.CalledProcessError(
        started.returncode, started.args, started.stdout, started.stderr
    )


@contextmanager
def throwaway_server(bin_dir: Path) -> Iterator[str]:
    """A fresh cluster on a free loopback port; yields its DSN and removes it afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="wechat-tests-pg-"))
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, SERVER_USER)
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-N"]
        ),
        **run,
    )
    port = _start(bin_dir, folder, data)
    try:
        # trust authentication on loopback; dlt insists on a password in the DSN all the same
        yield f"postgresql://postgres:unused@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def database(server_dsn: str) -> Iterator[str]:
    """A new empty database on the server; yields its DSN and drops it afterwards."""
    name = f"wechat_{uuid.uuid4().hex[:12]}"
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {name}")
        yield server_dsn.rsplit("/", 1)[0] + f"/{name}"
        with admin.cursor() as cursor:
            cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")
    finally:
        admin.close()
