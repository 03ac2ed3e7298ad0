"""PostgreSQL for the template's tests: the machine's server (databases made and dropped per
test), and private instances on their own port and data folder that a test may stop and start.

The server is TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres, trust
authentication). scripts/test.sh starts a local installation that is stopped; when none answers,
the tests that need one are skipped with the reason, or fail under CI=true.
"""

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def psql(statement: str, url: str = SERVER_URL) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["psql", url, "--no-psqlrc", "--quiet", "--tuples-only", "--command", statement],
        capture_output=True,
        text=True,
        timeout=60,
    )


def server_problem() -> str | None:
    """Why the server cannot be used, or None."""
    if shutil.which("psql") is None:
        return "psql (PostgreSQL's client) is not installed"
    result = psql("SELECT 1")
    return None if result.returncode == 0 else f"PostgreSQL at {SERVER_URL} does not answer: {result.stderr.strip()}"


def require_server() -> None:
    problem = server_problem()
    if problem is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{problem} (CI=true: PostgreSQL is required)")
    pytest.skip(f"{problem}; start it (scripts/test.sh starts an installed one) to run this test")


def async_url(url: str) -> str:
    """The same URL with the driver the generated service uses."""
    return url.replace("postgresql://", "postgresql+asyncpg://", 1)


@contextlib.contextmanager
def database(url: str = SERVER_URL) -> Iterator[str]:
    """A new, empty database on the server at url, dropped afterwards; its URL for the service."""
    name = f"template_test_{secrets.token_hex(4)}"
    created = psql(f'CREATE DATABASE "{name}"', url)
    assert created.returncode == 0, created.stderr
    try:
        yield async_url(url.rsplit("/", 1)[0] + "/" + name)
    finally:
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', url)


class PrivateServer:
    """A PostgreSQL instance of this test's own (data folder, port, socket folder), made with the
    installed server's initdb and pg_ctl; as root they run as the postgres user."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.folder = Path(tempfile.mkdtemp(prefix="private-postgres-"))
        self.url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        bindir = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True).stdout.strip()
        self.pg_ctl = [str(Path(bindir) / "pg_ctl"), "-D", str(self.folder / "data")]
        self.initdb = str(Path(bindir) / "initdb")

    def _run(self, *args: str) -> None:
        as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        result = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"{' '.join(args)}: {result.stdout}{result.stderr}"

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres")
        self._run(self.initdb, "-D", str(self.folder / "data"), "-U", "postgres", "--auth=trust", "--no-sync")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(*self.pg_ctl, "-o", options, "-l", str(self.folder / "log"), "-w", "start")

    def stop(self) -> None:
        self._run(*self.pg_ctl, "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        with contextlib.suppress(AssertionError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def private_server_problem() -> str | None:
    if shutil.which("pg_config") is None:
        return "PostgreSQL's server programs are not installed (pg_config not found)"
    bindir = Path(subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip())
    if not (bindir / "initdb").exists():
        return f"initdb is not in {bindir}: install PostgreSQL's server package"
    return None
