"""Alembic's entry point: runs the migrations through the service's async driver.

The service's `migrate` command passes the checked DATABASE_URL; plain `alembic` commands (run
from the project folder, which has alembic.ini) read it from the settings as the service does.
"""

import asyncio

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from {{ cookiecutter.package_name }}.dialect import BATCH_MIGRATIONS
from {{ cookiecutter.package_name }}.tables import metadata


def database_url():
    url = context.config.attributes.get("database_url")
    if url is None:
        from {{ cookiecutter.package_name }}.database import database_url as url
    return url


def run_migrations(connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=BATCH_MIGRATIONS)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(database_url(), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


asyncio.run(run_online())
