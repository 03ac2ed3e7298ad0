"""Shared fixtures: bake the template, install a baked service, serve it with uvicorn."""

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from scripts.lock import find_python, uv_environment

from . import postgres

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
# What a bake holds as published (cookiecutter.json `_copy_without_render`): Swagger UI's files
# and the list of common passwords (which holds words like "docker"). Checks of what the template
# renders skip them.
PUBLISHED_AS_IS = {"swagger_ui", "common_passwords.txt"}


def documentation(project: Path) -> str:
    """A bake's README and then every page under its docs/, as one text."""
    pages = [project / "README.md", *sorted((project / "docs").glob("*.md"))]
    return "\n".join(page.read_text() for page in pages)


def rendered(path: Path) -> bool:
    """Whether cookiecutter rendered this file of a bake (rather than copying it as published)."""
    return not PUBLISHED_AS_IS & set(path.parts)


@pytest.fixture(scope="session")
def default_project(cookies_session) -> Path:
    """The template baked with every default answer."""
    result = cookies_session.bake()
    assert result.exit_code == 0, result.exception
    return Path(result.project_path)


@pytest.fixture(scope="session")
def service_python(default_project: Path, tmp_path_factory) -> Path:
    """A fresh virtual environment with the default project installed as its README says."""
    return install_project(Path(sys.executable), default_project, tmp_path_factory.mktemp("service-venv"))


# The SQL backends' bakes: package names lite_service and pg_service.
SQL_BAKES = {"sqlite": "Lite Service", "postgresql": "Pg Service"}


@pytest.fixture(scope="session")
def sql_projects(cookies_session) -> dict[str, Path]:
    """The template baked with each SQL answer of `database` (the other answers their defaults)."""
    projects = {}
    for database, name in SQL_BAKES.items():
        result = cookies_session.bake(extra_context={"database": database, "project_name": name})
        assert result.exit_code == 0, result.exception
        projects[database] = Path(result.project_path)
    return projects


@pytest.fixture(scope="session")
def sql_python(sql_projects: dict[str, Path], tmp_path_factory) -> Path:
    """One virtual environment with both SQL bakes installed as their READMEs say."""
    env_dir = tmp_path_factory.mktemp("sql-venv")
    for project in sql_projects.values():
        python = install_project(Path(sys.executable), project, env_dir)
    return python


@pytest.fixture(params=list(SQL_BAKES))
def backend(request) -> str:
    """Each SQL answer of `database` in turn (PostgreSQL only where a server answers)."""
    if request.param == "postgresql":
        postgres.require_server()
    return request.param


@pytest.fixture
def database_url(backend, tmp_path):
    """A new, empty database of the backend's kind for one test."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'service.db'}"
    else:
        with postgres.database() as url:
            yield url


def install_project(base_python: Path, project_dir: Path, env_dir: Path) -> Path:
    """Make a venv at env_dir with base_python (unless there is one), `pip install -e ".[dev]"`
    the project into it; return the venv's python."""
    python = env_dir / "bin" / "python"
    if not python.exists():
        run([base_python, "-m", "venv", env_dir], cwd=project_dir)
    run([python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]"], cwd=project_dir)
    return python


def run_project_tests(python: Path, project_dir: Path, env: dict[str, str] | None = None) -> None:
    """Run a baked project's own test suite with python; fail unless it passes."""
    result = run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=project_dir, env=env)
    assert re.search(r"\d+ passed", result.stdout)
    assert "failed" not in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def uvicorn_command(python: Path, package: str, port: int) -> list:
    return [python, "-m", "uvicorn", f"{package}.main:app", "--host", "127.0.0.1", "--port", str(port)]


@contextlib.contextmanager
def serve(command: list, project_dir: Path, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run the service from the project folder (where .env is) until /health answers."""
    log_path = project_dir / f"server-{port}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(arg) for arg in command],
            cwd=project_dir,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base_url, process, log_path)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def wait_until_healthy(base_url: str, process: subprocess.Popen, log_path: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"the service exited with {process.returncode}:\n{log_path.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"the service did not answer /health within {timeout}s:\n{log_path.read_text()}")


def run(
    args: list,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    stdin: str = "",
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run a command, failing the test with its output if it fails (unless check is false)."""
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(f"{' '.join(map(str, args))} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result


def check_lock(project_dir: Path, python_version: str) -> None:
    """`uv lock --check` on a bake, offline: it passes only if uv.lock is what uv would lock for
    the bake's pyproject.toml (it needs no download for that). uv wants an interpreter that
    satisfies requires-python even to check, and a pyenv shim on PATH breaks its search: name one."""
    python = find_python(python_version)
    if python is None:
        pytest.skip(f"python{python_version} is not installed here: uv cannot check a lock for it")
    result = subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--check", "--offline", "--python", python],
        cwd=project_dir,
        capture_output=True,
        text=True,
        env={**uv_environment(), "UV_PYTHON_DOWNLOADS": "never"},
    )
    if result.returncode != 0:
        pytest.fail(
            f"{project_dir.name}: uv.lock does not match its pyproject.toml. Whoever changes the generated "
            f"dependencies re-runs `python scripts/lock.py` (docs/locks.md).\n{result.stderr}"
        )
