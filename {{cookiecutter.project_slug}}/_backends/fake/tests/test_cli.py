"""The service's commands (`python -m` the package): with the fake DB there is nothing to migrate or
save, so the only command is serving, and `--help` lists no other."""

import subprocess
import sys

import pytest


def cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60)


def test_help_lists_serving_only():
    result = cli("--help")
    assert result.returncode == 0
    assert "serve" in result.stdout
    assert "migrate" not in result.stdout
    assert "users" not in result.stdout


@pytest.mark.parametrize("command", ["migrate", "users"])
def test_commands_of_a_real_database_are_unknown(command):
    result = cli(command)
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
