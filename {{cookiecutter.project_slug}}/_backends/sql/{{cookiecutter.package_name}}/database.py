"""The SQL database named by DATABASE_URL: its engine, its failures turned into 503 answers, the
schema check at start, migrations and the readiness probe. What is particular to the database
engine this project was generated for is in dialect.py."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from . import audit, dialect
from .settings import SettingsError, settings
from .stores import StoreUnavailable

logger = logging.getLogger(__name__)
# For GET /metrics (metrics.py serves every metric of the process).
DATABASE_ERRORS = Counter("database_errors_total", "Database operations that failed (503 answered)")

CAN_BE_UNAVAILABLE = True
MIGRATIONS_DIR = Path(__file__).parent / "migrations"
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
        raise SettingsError(f"Invalid setting DATABASE_URL: not a database URL; use e.g. {dialect.EXAMPLE}") from None
    scheme, _, driver = url.drivername.partition("+")
    if scheme not in dialect.SCHEMES or driver not in ("", dialect.DRIVER):
        raise SettingsError(
            f"Invalid setting DATABASE_URL: {url.drivername!r} is not supported; use e.g. {dialect.EXAMPLE}"
        )
    dialect.check(url)
    return url.set(drivername=f"{dialect.SCHEMES[0]}+{dialect.DRIVER}")  # the driver added to a plain URL


def create_engine(url: URL) -> AsyncEngine:
    timeout = settings.database_timeout_seconds
    # pre_ping replaces connections that died with a restarted database, so the service
    # recovers on its own once the database is back.
    options = {"pool_pre_ping": True, "connect_args": dialect.connect_args(timeout)}
    if settings.database_pool_size == 0:
        options["poolclass"] = NullPool
    else:
        size = settings.database_pool_size
        options.update(pool_size=size, max_overflow=size, pool_timeout=timeout)
    engine = create_async_engine(url, **options)
    dialect.prepare(engine, url)
    return engine


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
        DATABASE_ERRORS.inc()
        # To the log only: the audit table lives in the database that just failed.
        audit.log(audit.event_of("database.unavailable", None, None, "failure", None, reason(exc)))
        raise StoreUnavailable from exc


def reason(exc: BaseException) -> str:
    """What went wrong, on one line, and what fixes it."""
    cause = getattr(exc, "orig", None) or exc
    cause = cause.__cause__ or cause  # the driver's own error, rather than SQLAlchemy's wrapper of it
    said = str(cause).strip().splitlines()[0] if str(cause).strip() else "no details"
    return f"{type(cause).__name__}: {said}; {dialect.fix(exc)}"


async def ping() -> None:
    """For /health/ready: raises StoreUnavailable unless the database answers a query that reads
    it (`SELECT 1` may be answered without opening the database)."""
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


def trace_statements() -> None:
    """A span per statement, when traces are on (tracing.py imports the optional `otel` group)."""
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    # Its declared range stops below SQLAlchemy 2.1, whose engine events it uses unchanged.
    SQLAlchemyInstrumentor().instrument(engine=engine.sync_engine, skip_dep_check=True)
