"""A project baked for each newer Python choice, installed and tested on that very Python
(the other template tests run the generated code on the interpreter running them)."""

import json
from pathlib import Path

import pytest

from scripts.lock import find_python

from .conftest import TEMPLATE_DIR, install_project, run, run_project_tests

NEWER_VERSIONS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["python_version"][1:]


@pytest.mark.parametrize("version", NEWER_VERSIONS)
def test_a_bake_installs_and_passes_its_tests_on_its_python(cookies, tmp_path, version):
    python = find_python(version)
    if python is None:
        pytest.skip(f"python{version} is not installed here")
    result = cookies.bake(extra_context={"python_version": version})
    assert result.exit_code == 0, result.exception
    venv_python = install_project(Path(python), result.project_path, tmp_path / "venv")
    assert run([venv_python, "-c", "import sys; print(sys.version)"], cwd=tmp_path).stdout.startswith(version)
    run_project_tests(venv_python, result.project_path)
