"""The one place the shared code takes the database backend from. The generation hook moved in
one backend's modules (_backends/fake, or _backends/sql with its dialect); each backend provides
these, and tests of the template check it. Only __main__.py imports the backend's cli directly
(its commands use the shared code, which imports this module: a cycle if it were here)."""

from . import database
from .audit_store import audit_store
from .one_time_token_store import one_time_token_store
from .outbox_store import outbox
from .refresh_store import refresh_store
from .throttle_store import throttle_store
from .user_store import user_store

__all__ = [
    "audit_store",
    "database",
    "one_time_token_store",
    "outbox",
    "refresh_store",
    "throttle_store",
    "user_store",
]
