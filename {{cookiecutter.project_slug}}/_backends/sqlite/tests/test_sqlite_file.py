"""The SQLite file holds password hashes and sessions: it, its folder and its -wal and -shm files
are for the service's user only (dialect.create_owner_only)."""

import asyncio
import stat
from pathlib import Path

from sqlalchemy import text

from {{ cookiecutter.package_name }} import database, dialect


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_file_that_migrate_made_is_for_the_owner_only():
    assert mode(Path(database.database_url.database)) == 0o600


def test_a_new_sqlite_file_its_folder_and_its_wal_files_are_for_the_owner_only(tmp_path):
    """It holds password hashes: nobody else on the machine may read it."""
    path = tmp_path / "data" / "new.db"
    engine = database.create_engine(database.parse_database_url(f"sqlite:///{path}"))
    assert (mode(path.parent), mode(path)) == (0o700, 0o600)  # made before SQLite opens it

    async def write() -> list[int]:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
            await connection.execute(text("INSERT INTO t VALUES (1)"))
        async with engine.connect() as connection:  # open: the -wal and -shm files exist meanwhile
            await connection.execute(text("SELECT x FROM t"))
            return [mode(Path(f"{path}{suffix}")) for suffix in ("", "-wal", "-shm")]

    try:
        assert asyncio.run(write()) == [0o600] * 3
    finally:
        asyncio.run(engine.dispose())


def test_an_existing_folder_and_file_keep_their_modes(tmp_path):
    path = tmp_path / "shared" / "kept.db"
    path.parent.mkdir(mode=0o750)
    path.touch(mode=0o640)
    dialect.create_owner_only(path)
    assert (mode(path.parent), mode(path)) == (0o750, 0o640)
