"""The one place the shared code takes the database backend from. The generation hook moved in
one backend's modules (_backends/fake, or _backends/sql with its dialect); each backend provides
these, and tests of the template check it."""

from . import database
from .audit_store import audit_store
from .one_time_token_store import one_time_token_store
from .outbox_store import outbox
from .refresh_store import refresh_store
from .throttle_store import throttle_store
from .user_store import user_store


def add_commands(commands) -> None:
    """The backend's own commands (cli.py) on the command line's parser (__main__.py). Imported
    when called, not above: the commands use the shared code, which imports this module."""
    from . import cli

    cli.add_commands(commands)


__all__ = [
    "add_commands",
    "audit_store",
    "database",
    "one_time_token_store",
    "outbox",
    "refresh_store",
    "throttle_store",
    "user_store",
]
