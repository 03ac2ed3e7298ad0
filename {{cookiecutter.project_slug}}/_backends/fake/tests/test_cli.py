"""The service's commands (`python -m` the package): with the fake DB there is nothing to save,
and they say so."""

import subprocess
import sys

import pytest


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args]
    return subprocess.run(command, input="a password\n", capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(
    "args",
    [["users", "create", "bob"], ["users", "set-password", "alice"], ["users", "disable", "alice"], ["users", "list"]],
)
def test_user_commands_refuse_to_pretend(args):
    result = cli(*args)
    assert result.returncode == 1
    assert "user_store.py" in result.stderr
    assert "database=sqlite" in result.stderr


def test_migrate_has_nothing_to_do():
    result = cli("migrate")
    assert result.returncode == 0
    assert "Nothing to migrate" in result.stdout
