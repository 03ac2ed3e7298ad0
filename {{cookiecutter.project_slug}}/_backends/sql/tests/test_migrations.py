"""The migrations against a real, empty database: up from nothing, down to nothing, up again,
and the schema they make is exactly the one tables.py declares."""

import asyncio

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }} import database
from {{ cookiecutter.package_name }}.tables import metadata


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
