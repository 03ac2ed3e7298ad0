"""Start-up settings: no SECRET_KEY, no service; bad values get one readable line."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def start(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """Import the app the way uvicorn would, from an empty folder (so no .env), with `env`."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "PORT", "COOKIE_SECURE"}}
    return subprocess.run(
        [sys.executable, "-c", "import {{ cookiecutter.package_name }}.main"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(PROJECT_ROOT), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_secret_key_the_service_refuses_to_start_with_one_clear_line(tmp_path):
    result = start(tmp_path)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1
    assert "SECRET_KEY" in result.stderr
    assert ".env" in result.stderr
    assert "Traceback" not in result.stderr


def test_short_secret_key_is_refused(tmp_path):
    result = start(tmp_path, SECRET_KEY="too-short")
    assert result.returncode != 0
    assert "SECRET_KEY is too short" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_key_is_read_from_dotenv_in_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text("SECRET_KEY=" + "k" * 64 + "\n")
    assert start(tmp_path).returncode == 0


@pytest.mark.parametrize(("name", "value"), [("PORT", "eighty"), ("COOKIE_SECURE", "maybe")])
def test_a_malformed_setting_is_named(tmp_path, name, value):
    result = start(tmp_path, SECRET_KEY="k" * 64, **{name: value})
    assert result.returncode != 0
    assert f"Invalid setting {name}" in result.stderr
    assert "Traceback" not in result.stderr
