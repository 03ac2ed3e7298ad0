"""The fake DB has no database behind it: users live in user_store.py and refresh tokens in
memory, so there is nothing to connect to, check at start or migrate. (The SQL backends keep
their engine, schema check and migrations in this module.)"""

# No answer of this service can be "the database is down" (503).
CAN_BE_UNAVAILABLE = False


async def check_schema() -> None:
    """Run at start: memory has no schema to fall behind."""


async def ping() -> None:
    """For /health/ready: memory always answers."""


def trace_statements() -> None:
    """Traces (tracing.py): memory runs no statements to trace."""
