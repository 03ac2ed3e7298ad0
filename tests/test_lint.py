"""The template's own Python (hooks, scripts, tests, benchmarks) passes ruff, as the generated code does."""

import sys

import pytest

from .conftest import TEMPLATE_DIR, run

OWN_CODE = ["hooks", "scripts", "tests", "benchmarks"]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]])
def test_ruff(command):
    run([sys.executable, "-m", "ruff", *command, *OWN_CODE], cwd=TEMPLATE_DIR)
