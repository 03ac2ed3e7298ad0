"""PostgreSQL, the database this project was generated for: what database.py needs to know of it."""

from sqlalchemy.dialects.postgresql import insert  # noqa: F401 (with on_conflict_do_nothing, for throttle_store.py)
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

SCHEMES = ("postgresql", "postgres")
DRIVER = "asyncpg"
EXAMPLE = "postgresql+asyncpg://user:password@host:5432/name"
BATCH_MIGRATIONS = False  # PostgreSQL alters tables in place
# Locks: a write locks the rows it touches until the commit; SELECT ... FOR UPDATE locks rows read.

# SQLSTATE of a refused connection -> what fixes it. With password authentication PostgreSQL
# answers a missing role as a wrong password, so that advice names both.
CREATE = "create the role and database that .env names with `make db` (see docs/database.md)"
FIXES = {
    "28000": CREATE,  # role does not exist
    "3D000": CREATE,  # database does not exist
    "28P01": f"the password in DATABASE_URL is not the role's, or the role does not exist: {CREATE}, "
    "or correct DATABASE_URL",
}
UNREACHABLE = "start PostgreSQL{% if cookiecutter.use_docker == 'yes' %} (`docker compose up -d db`){% endif %} or point DATABASE_URL at a running one (docs/database.md)"


def check(_url: URL) -> None:
    """Every PostgreSQL URL names a server and database: nothing more to check before connecting."""


def connect_args(timeout: float) -> dict:
    return {"timeout": timeout, "command_timeout": timeout}


def prepare(_engine: AsyncEngine, _url: URL) -> None:
    """Nothing to set up: the server keeps its own settings."""


def fix(error: BaseException) -> str:
    """What to do about a failure to connect, from the SQLSTATE of the error or of its causes."""
    while error is not None:
        if isinstance(error, OSError):
            return UNREACHABLE
        if (fix := FIXES.get(getattr(error, "sqlstate", None) or "")) is not None:
            return fix
        error = getattr(error, "orig", None) or error.__cause__
    return "see docs/database.md"
