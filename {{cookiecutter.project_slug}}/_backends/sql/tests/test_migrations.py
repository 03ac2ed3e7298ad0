"""The migrations against a real, empty database: up from nothing, down to nothing, up again,
and the schema they make is exactly the one tables.py declares."""

import asyncio

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }} import database
from {{ cookiecutter.package_name }}.models import UserInDB
from {{ cookiecutter.package_name }}.tables import metadata, users


def test_every_field_of_a_user_is_a_column_of_users_and_back():
    """user_store.py maps rows by name: a field without a column, or a column without a field
    (besides the join key `id`), is a mistake of one of the two descriptions."""
    assert set(users.c.keys()) - {"id"} == set(UserInDB.__struct_fields__)


def config_for(url: str):
    config = database.alembic_config()
    config.attributes["database_url"] = make_url(url)
    return config


def inspect_database(url: str, look):
    """Run look(sync_connection) on the database at url."""

    async def run():
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(look)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def tables(url: str) -> set[str]:
    return set(inspect_database(url, lambda sync: inspect(sync).get_table_names()))


def test_upgrade_downgrade_upgrade(empty_database):
    config = config_for(empty_database)
    command.upgrade(config, "head")
    assert {"users", "refresh_tokens"} <= tables(empty_database)
    command.downgrade(config, "base")
    assert tables(empty_database) <= {"alembic_version"}
    command.upgrade(config, "head")
    assert {"users", "refresh_tokens"} <= tables(empty_database)


def test_the_migrations_make_the_schema_the_code_declares(empty_database):
    command.upgrade(config_for(empty_database), "head")
    differences = inspect_database(
        empty_database, lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
    )
    assert differences == [], "tables.py and the migrations differ: add a migration (alembic revision --autogenerate)"


def write(url: str, statement: str, **values) -> None:
    async def run():
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.begin() as connection:
                await connection.execute(text(statement), values)
        finally:
            await engine.dispose()

    asyncio.run(run())


def add_users_before_ids(url: str, *names: str) -> None:
    """Users as revision 0003 stored them: no id, names as they were typed."""
    command.upgrade(config_for(url), "0003")
    for name in names:
        write(
            url,
            "INSERT INTO users (username, hashed_password, created_at, password_changed_at) VALUES (:name, 'x', 0, 0)",
            name=name,
        )


def test_existing_users_get_ids_and_canonical_names(empty_database):
    add_users_before_ids(empty_database, "Alice", "BOB")
    command.upgrade(config_for(empty_database), "head")
    rows = inspect_database(empty_database, lambda sync: sync.execute(text("SELECT username, uid FROM users")).all())
    assert sorted(name for name, _ in rows) == ["alice", "bob"]
    assert len({uid for _, uid in rows}) == 2 and all(len(uid) >= 16 for _, uid in rows)


def test_names_that_become_one_stop_the_migration_naming_them(empty_database):
    add_users_before_ids(empty_database, "alice", "ALICE")
    with pytest.raises(SystemExit, match="'alice' and 'ALICE' are now the same name"):
        command.upgrade(config_for(empty_database), "head")
