"""A baked service of each database answer, installed, served by uvicorn with sign-up on, with
alice: for tests that drive the service over HTTP with each backend."""

import contextlib
from collections.abc import Iterator
from pathlib import Path

from . import postgres
from .conftest import free_port, serve, uvicorn_command
from .test_sql_service import PASSWORD, Service


class Served:
    def __init__(self, backend: str, url: str, alice_password: str) -> None:
        self.backend = backend
        self.url = url
        self.alice = ("alice", alice_password)


@contextlib.contextmanager
def served(backend: str, projects: dict[str, Path], pythons: dict[str, Path], folder: Path) -> Iterator[Served]:
    env = {"ALLOW_SIGNUP": "true"}
    if backend == "fake":
        port = free_port()
        with serve(uvicorn_command(pythons["fake"], "my_service", port), projects["fake"], port, env) as url:
            yield Served(backend, url, "secret")
        return
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            database_url = f"sqlite+aiosqlite:///{folder / 'accounts.db'}"
        else:
            postgres.require_server()
            database_url = stack.enter_context(postgres.database())
        service = Service(backend, projects[backend], pythons[backend], database_url)
        service.command("migrate")
        service.create_alice()
        service.env.update(env)
        yield Served(backend, stack.enter_context(service.serve()), PASSWORD)
