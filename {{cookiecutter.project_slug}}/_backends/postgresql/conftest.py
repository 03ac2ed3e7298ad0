"""Gives the test run databases of its own, and drops them at the end.

pytest loads this file before tests/conftest.py imports the app, so DATABASE_URL is set first:
a new database on the PostgreSQL server that TEST_DATABASE_URL names (else DATABASE_URL, from
the environment or .env), migrated with `python -m {{ cookiecutter.package_name }} migrate`.
"""

import asyncio
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import pytest
from dotenv import dotenv_values
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

PACKAGE = "{{ cookiecutter.package_name }}"


def server_url() -> URL:
    configured = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    configured = configured or dotenv_values(".env").get("DATABASE_URL")
    return make_url(configured or "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


SERVER_URL = server_url()  # read before DATABASE_URL is pointed at the test database below


async def on_server(statement: str) -> None:
    engine = create_async_engine(SERVER_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(text(statement))
    finally:
        await engine.dispose()


def create_database() -> str:
    """A new, empty database; its URL."""
    name = f"test_{PACKAGE}_{secrets.token_hex(4)}"
    try:
        asyncio.run(on_server(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # any failure to reach the server ends the run with one clear line
        shown = SERVER_URL.render_as_string(hide_password=True)
        pytest.exit(
            f"PostgreSQL at {shown} is needed for these tests and did not answer "
            f"({type(exc).__name__}: {str(exc).splitlines()[0]}). "
            "Start it{% if cookiecutter.use_docker == 'yes' %} (`docker compose up -d db`){% endif %} or set "
            "TEST_DATABASE_URL to a server where you may create databases.",
            returncode=3,
        )
    return SERVER_URL.set(database=name).render_as_string(hide_password=False)


def drop_database(url: str) -> None:
    asyncio.run(on_server(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))


def migrate(url: str) -> subprocess.CompletedProcess:
    """`python -m {{ cookiecutter.package_name }} migrate` on that database, as a user runs it."""
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_urlsafe(64)}
    command = [sys.executable, "-m", PACKAGE, "migrate"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=True, timeout=120)


@pytest.fixture
def unreachable_url() -> str:
    """A database URL that fails as a broken database does: a port where nothing listens (and a
    password, never to be shown)."""
    return "postgresql+asyncpg://user:hunter2@127.0.0.1:1/db"


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A database of its own for one test, with no tables."""
    url = create_database()
    yield url
    drop_database(url)


# The database every test shares. A connection per use (pool size 0): the test client runs each
# request on an event loop of its own, and a pooled connection belongs to the loop that opened it.
TEST_DATABASE_URL = create_database()
migrate(TEST_DATABASE_URL)
os.environ["DATABASE_URL"] = TEST_DATABASE_URL
os.environ["DATABASE_POOL_SIZE"] = "0"


def pytest_unconfigure(config) -> None:
    drop_database(TEST_DATABASE_URL)
