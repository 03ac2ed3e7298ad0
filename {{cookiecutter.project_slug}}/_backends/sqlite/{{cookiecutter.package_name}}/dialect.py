"""SQLite, the database this project was generated for: what database.py needs to know of it."""

import contextlib
import os
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.dialects.sqlite import insert  # noqa: F401 (with on_conflict_do_nothing, for throttle_store.py)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from .settings import SettingsError

SCHEMES = ("sqlite",)
DRIVER = "aiosqlite"
EXAMPLE = "sqlite+aiosqlite:///data/app.db"
# SQLite cannot alter most of a table in place: migrations copy the table instead.
BATCH_MIGRATIONS = True
# Locks: a transaction's first write takes the database's one write lock, so a transaction that
# must read what it then changes writes first (a read first could not upgrade to a write once
# another process wrote).


def check(url: URL) -> None:
    if url.database in (None, "", ":memory:"):
        raise SettingsError(f"Invalid setting DATABASE_URL: SQLite needs a file, e.g. {EXAMPLE}")


def connect_args(timeout: float) -> dict:
    return {"timeout": timeout}  # how long a writer waits for another one


def prepare(engine: AsyncEngine, url: URL) -> None:
    create_owner_only(Path(url.database))
    event.listen(engine.sync_engine, "connect", _pragmas)


def create_owner_only(path: Path) -> None:
    """The file holds password hashes and sessions: SQLite would create it readable by everyone
    (0644). Make it, and its folder if missing, for the service's user only; SQLite gives the
    -wal and -shm files the mode of the database file."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Already there (its mode is left alone), or not allowed here: SQLite then says so in one line.
    with contextlib.suppress(OSError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))  # empty: an empty database


def _pragmas(connection, _record) -> None:
    # WAL lets readers and one writer work at once (several workers share the file);
    # SQLite leaves foreign keys (and so ON DELETE CASCADE) off unless asked.
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def fix(_error: BaseException) -> str:
    """What to do about a failure to use the file (its message says what went wrong)."""
    return "check that DATABASE_URL names a SQLite file this user may write (see docs/database.md)"
