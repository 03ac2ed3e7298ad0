"""Alembic migrations of the schema in tables.py, applied by the service's `migrate` command."""
