"""The SQL database named by DATABASE_URL (SQLite or PostgreSQL): its engine, its failures turned
into 503 answers, the schema check at start, migrations and the readiness probe."""

import contextlib
import importlib.util
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from . import audit, metrics
from .settings import SettingsError, settings
from .stores import StoreUnavailable

logger = logging.getLogger(__name__)

CAN_BE_UNAVAILABLE = True
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The async driver of each database; plain postgres:// or sqlite:// URLs get it added.
DRIVERS = {"postgresql": "asyncpg", "postgres": "asyncpg", "sqlite": "aiosqlite"}
EXAMPLES = "postgresql+asyncpg://user:password@host:5432/name or sqlite+aiosqlite:///data/app.db"
# What a database that is down, unreachable, too slow or failing raises. A unique-key clash
# (IntegrityError) is an answer, not a failure: the stores turn it into UserExists.
FAILURES = (DBAPIError, PoolTimeout, OSError, TimeoutError)


class StartupError(Exception):
    """The service must not start: uvicorn prints this one line and exits."""


def parse_database_url(value: str) -> URL:
    """DATABASE_URL, checked, with its async driver. Errors never repeat the URL: it may hold a password."""
    try:
        url = make_url(value)
    except ArgumentError:
        raise SettingsError(f"Invalid setting DATABASE_URL: not a database URL; use e.g. {EXAMPLES}") from None
    backend, _, driver = url.drivername.partition("+")
    if backend not in DRIVERS or driver not in ("", DRIVERS[backend]):
        raise SettingsError(f"Invalid setting DATABASE_URL: {url.drivername!r} is not supported; use e.g. {EXAMPLES}")
    driver = DRIVERS[backend]
    if importlib.util.find_spec(driver) is None:
        raise SettingsError(
            f"Invalid setting DATABASE_URL: {backend} needs the {driver} driver, which this project does not install"
        )
    if backend == "sqlite" and url.database in (None, "", ":memory:"):
        raise SettingsError("Invalid setting DATABASE_URL: SQLite needs a file, e.g. sqlite+aiosqlite:///data/app.db")
    return url.set(drivername=f"{'postgresql' if backend == 'postgres' else backend}+{driver}")


def create_engine(url: URL) -> AsyncEngine:
    timeout = settings.database_timeout_seconds
    if url.get_backend_name() == "sqlite":
        create_owner_only(Path(url.database))
        connect_args = {"timeout": timeout}  # how long a writer waits for another one
    else:
        connect_args = {"timeout": timeout, "command_timeout": timeout}
    # pre_ping replaces connections that died with a restarted database, so the service
    # recovers on its own once the database is back.
    options = {"pool_pre_ping": True, "connect_args": connect_args}
    if settings.database_pool_size == 0:
        options["poolclass"] = NullPool
    else:
        size = settings.database_pool_size
        options.update(pool_size=size, max_overflow=size, pool_timeout=timeout)
    engine = create_async_engine(url, **options)
    if url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def create_owner_only(path: Path) -> None:
    """The SQLite file holds password hashes and sessions: SQLite would create it readable by
    everyone (0644). Make it, and its folder if missing, for the service's user only; SQLite gives
    the -wal and -shm files the mode of the database file."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Already there (its mode is left alone), or not allowed here: SQLite then says so in one line.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # empty: an empty database


def _sqlite_pragmas(connection, _record) -> None:
    # WAL lets readers and one writer work at once (several workers share the file);
    # SQLite leaves foreign keys (and so ON DELETE CASCADE) off unless asked.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


database_url = parse_database_url(settings.database_url)
# Logs and messages show the URL without its password.
shown_url = database_url.render_as_string(hide_password=True)
engine = create_engine(database_url)


@asynccontextmanager
async def transaction() -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction, committed at the end. A failing database raises StoreUnavailable."""
    try:
        async with engine.begin() as connection:
            yield connection
    except IntegrityError:
        raise
    except FAILURES as exc:
        logger.warning("Database %s unavailable: %s", shown_url, reason(exc))
        metrics.database_errors.inc()
        audit.record_in_log("database.unavailable", detail=reason(exc))
        raise StoreUnavailable from exc


def reason(exc: BaseException) -> str:
    cause = getattr(exc, "orig", None) or exc
    return f"{type(cause).__name__}: {str(cause).strip().splitlines()[0] if str(cause).strip() else 'no details'}"


async def ping() -> None:
    """For /health/ready: raises StoreUnavailable unless the database answers a query that reads
    it (SQLite answers `SELECT 1` without opening the file)."""
    async with transaction() as connection:
        await connection.execute(text("SELECT version_num FROM alembic_version"))


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url  # not through the ini: no %-interpolation
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def current_revision() -> str | None:
    async with transaction() as connection:
        return await connection.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


async def check_schema() -> None:
    """Run at start: refuse to serve on a database that is unreachable or whose schema is not this code's."""
    try:
        current = await current_revision()
    except StoreUnavailable as exc:
        raise StartupError(f"Cannot reach the database at {shown_url}: {reason(exc.__cause__)}") from None
    head = head_revision()
    if current != head:
        raise StartupError(
            f"The database at {shown_url} is at schema revision {current or 'none (empty)'}, this code needs "
            f"{head}: run `python -m {__package__} migrate` first"
        )


def upgrade() -> None:
    """Bring the schema to the newest revision: `alembic upgrade head`."""
    command.upgrade(alembic_config(), "head")
