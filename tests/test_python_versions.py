"""A project baked for each newer Python choice, installed and tested on that very Python
(the other template tests run the generated code on the interpreter running them), each with a
SQL backend, so its drivers are installed there too."""

import json
from pathlib import Path

import pytest

from scripts.lock import find_python

from . import postgres
from .conftest import TEMPLATE_DIR, install_project, run, run_project_tests

NEWER_VERSIONS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["python_version"][1:]

# The SQL backends' dependencies (drivers with compiled parts) get installed on the newer Pythons too.
DATABASE_OF_VERSION = {"3.12": "sqlite", "3.13": "postgresql"}


@pytest.mark.parametrize("version", NEWER_VERSIONS)
def test_a_bake_installs_and_passes_its_tests_on_its_python(cookies, tmp_path, version):
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    database = DATABASE_OF_VERSION.get(version, "fake")
    if database == "postgresql":
        postgres.require_server()
    result = cookies.bake(extra_context={"python_version": version, "database": database})
    assert result.exit_code == 0, result.exception
    venv_python = install_project(Path(python), result.project_path, tmp_path / "venv")
    assert run([venv_python, "-c", "import sys; print(sys.version)"], cwd=tmp_path).stdout.startswith(version)
    run_project_tests(
        venv_python, result.project_path, env={"TEST_DATABASE_URL": postgres.async_url(postgres.SERVER_URL)}
    )
