"""Gives the test run a SQLite file of its own, in a temporary folder.

pytest loads this file before tests/conftest.py imports the app, so DATABASE_URL is set first:
a new file, migrated with `python -m {{ cookiecutter.package_name }} migrate`.
"""

import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "{{ cookiecutter.package_name }}"
TEMPORARY = Path(tempfile.mkdtemp(prefix="test-databases-"))


def create_database() -> str:
    """A new, empty database; its URL."""
    return f"sqlite+aiosqlite:///{TEMPORARY / secrets.token_hex(4)}.db"


def migrate(url: str) -> subprocess.CompletedProcess:
    """`python -m {{ cookiecutter.package_name }} migrate` on that database, as a user runs it."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(64)}
    command = [sys.executable, "-m", PACKAGE, "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture
def unreachable_url(tmp_path) -> str:
    """A database URL that fails as a broken database does: a file that is not a database."""
    (tmp_path / "broken.db").write_bytes(b"not a database " * 100)
    return f"sqlite+aiosqlite:///{tmp_path / 'broken.db'}"


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database of its own for one test, with no tables."""
    yield create_database()


# The database every test shares. A connection per use (pool size 0): the test client runs each
# request on an event loop of its own, and a pooled connection belongs to the loop that opened it.
os.environ["DATABASE_URL"] = create_database()
migrate(os.environ["DATABASE_URL"])
os.environ["DATABASE_POOL_SIZE"] = "0"
