"""Baking the template: answers, rejections, leftovers and the secret key."""

import re
from pathlib import Path

import pytest
import yaml

from .conftest import rendered

JINJA_LEFTOVER = re.compile(r"\{\{|\{%|\{#")


def text_files(project: Path):
    """The files the template rendered, with their text."""
    for path in project.rglob("*"):
        if path.is_file() and rendered(path):
            try:
                yield path, path.read_text()
            except UnicodeDecodeError:
                continue


def secret_key_of(project: Path) -> str:
    [line] = [line for line in (project / ".env").read_text().splitlines() if line.startswith("SECRET_KEY=")]
    return line.removeprefix("SECRET_KEY=")


def test_defaults_give_my_service(default_project):
    assert default_project.name == "my-service"
    assert (default_project / "my_service" / "main.py").is_file()
    assert (default_project / "my_service" / "__init__.py").is_file()
    assert 'name = "my-service"' in (default_project / "pyproject.toml").read_text()


def test_a_custom_name_sets_slug_and_package(cookies):
    result = cookies.bake(extra_context={"project_name": "Billing Gateway"})
    assert result.exit_code == 0, result.exception
    assert result.project_path.name == "billing-gateway"
    assert (result.project_path / "billing_gateway" / "main.py").is_file()
    assert "# Billing Gateway" in (result.project_path / "README.md").read_text()


def test_answers_reach_the_settings(cookies):
    result = cookies.bake(extra_context={"access_token_expire_minutes": "15", "refresh_token_expire_days": "2"})
    settings = (result.project_path / "my_service" / "settings.py").read_text()
    assert "access_token_expire_minutes: int = 15\n" in settings
    assert "refresh_token_expire_days: int = 2\n" in settings


def test_quotes_in_free_text_answers_stay_valid_python(cookies):
    result = cookies.bake(extra_context={"description": "Says \"hi\" \\ and 'bye'", "author_name": 'O"Brien'})
    assert result.exit_code == 0, result.exception
    main = (result.project_path / "my_service" / "main.py").read_text()
    compile(main, "main.py", "exec")
    assert 'Says \\"hi\\"' in main


@pytest.mark.parametrize(
    ("answers", "named"),
    [
        ({"package_name": "my-service"}, "'my-service'"),
        ({"package_name": "class"}, "'class'"),
        ({"project_name": "123 Go", "package_name": "123_go"}, "'123_go'"),
        ({"project_slug": "../escape"}, "'../escape'"),
        ({"access_token_expire_minutes": "soon"}, "'soon'"),
    ],
)
def test_bad_answers_are_rejected_naming_the_value_and_leave_nothing(cookies, capfd, answers, named):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    assert named in capfd.readouterr().err
    output_dirs = list(Path(cookies._output_factory.__self__).iterdir())
    assert all(not any(bake_dir.iterdir()) for bake_dir in output_dirs), "a half-made project was left behind"


def test_an_unknown_choice_is_rejected(cookies):
    result = cookies.bake(extra_context={"python_version": "2.7"})
    assert result.exit_code != 0


def test_no_jinja_is_left_in_any_file(default_project):
    leftovers = [str(path) for path, text in text_files(default_project) if JINJA_LEFTOVER.search(text)]
    assert leftovers == []


def test_env_has_a_strong_key_in_a_private_file(default_project):
    env_file = default_project / ".env"
    assert env_file.stat().st_mode & 0o077 == 0
    assert len(secret_key_of(default_project)) >= 43


def test_env_is_ignored_and_only_an_example_is_committed(default_project):
    assert ".env" in (default_project / ".gitignore").read_text().splitlines()
    assert "SECRET_KEY=\n" in (default_project / ".env.example").read_text()


def test_the_key_is_fresh_per_bake_and_appears_nowhere_else(cookies, _cookiecutter_config_file, default_project):
    other = cookies.bake().project_path
    keys = [secret_key_of(default_project), secret_key_of(other)]
    assert keys[0] != keys[1]
    for project, key in zip((default_project, other), keys, strict=True):
        holders = [path.name for path, text in text_files(project) if key in text]
        assert holders == [".env"]
    replay_dir = Path(yaml.safe_load(Path(_cookiecutter_config_file).read_text())["replay_dir"])
    replays = list(replay_dir.rglob("*"))
    assert replays, "cookiecutter wrote no replay file to check"
    for replay in replays:
        if replay.is_file():
            assert not any(key in replay.read_text() for key in keys)
