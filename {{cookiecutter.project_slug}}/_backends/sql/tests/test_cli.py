"""`python -m {{ cookiecutter.package_name }}` commands, run as a user runs them, on this run's database."""

import os
import subprocess
import sys
import time

import pytest

from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import bearer, login

PASSWORD = "a long enough password"


def cli(*args: str, password: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "{{ cookiecutter.package_name }}", *args],
        input=None if password is None else password + "\n",
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
    )


def ok(*args: str, password: str | None = None) -> str:
    result = cli(*args, password=password)
    assert result.returncode == 0, result.stderr
    return result.stdout


def refused(*args: str, password: str | None = None, **env: str) -> str:
    result = cli(*args, password=password, **env)
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.strip().splitlines()  # one line, no traceback
    return line


@pytest.fixture
def username() -> str:
    return f"user{time.monotonic_ns()}"


def test_create_then_log_in(client, username):
    created = ok("users", "create", username, "--email", f"{username}@example.com", "--admin", password=PASSWORD)
    assert f"Created user '{username}' (id " in created
    assert "with scopes me items admin." in created
    assert login(client, username, PASSWORD).status_code == 200
    listed = ok("users", "list")
    assert username in listed
    assert f"{username}@example.com" in listed


def test_create_refusals(username):
    ok("users", "create", username, password=PASSWORD)
    assert "exists already" in refused("users", "create", username, password=PASSWORD)
    assert "the password is empty" in refused("users", "create", f"{username}x", password="")


@pytest.mark.parametrize(
    ("args", "password", "says"),
    [
        ((), "short", "error: the password is too short: use at least 8 characters"),
        ((), "iloveyou", "error: the password is too common: it is one of the 30,000 most used passwords"),
        ((), "x" * 4097, "error: the password is too long: use at most 4096 characters"),
        (("--scopes", "me root"), PASSWORD, "error: unknown scope 'root': the scopes are me, items, admin"),
    ],
)
def test_create_applies_the_rules_of_the_api_in_one_line(username, args, password, says):
    assert refused("users", "create", username, *args, password=password) == says
    assert username not in ok("users", "list")


@pytest.mark.parametrize("name", ["two words", "semi;colon", "x" * 151])
def test_create_refuses_a_username_the_api_would(name):
    assert "the username must be" in refused("users", "create", name, password=PASSWORD)


def test_admin_grants_the_admin_scope(client, username):
    ok("users", "create", username, "--scopes", "me", "--admin", password=PASSWORD)
    token = login(client, username, PASSWORD).json()
    assert token["scope"] == "me admin"
    assert client.get("/users", headers=bearer(token["access_token"])).status_code == 200


def test_set_password_replaces_it_and_ends_sessions(client, username):
    ok("users", "create", username, password=PASSWORD)
    before = login(client, username, PASSWORD)
    cookie = before.headers["set-cookie"].split(";")[0]
    assert "Set a new password" in ok("users", "set-password", username, password="another long password")
    assert login(client, username, PASSWORD).status_code == 401
    assert login(client, username, "another long password").status_code == 200
    assert client.post("/auth/refresh", headers={"Cookie": cookie}).status_code == 401
    # The CLI is another process: this one sees the change once its cached entry expires
    # (USER_CACHE_SECONDS), forgotten here rather than waited for.
    user_store._cache.forget(username)
    assert client.get("/users/me", headers=bearer(before.json()["access_token"])).status_code == 401


def test_set_password_applies_the_rules(username):
    ok("users", "create", username, password=PASSWORD)
    assert refused("users", "set-password", username, password="password1").startswith("error: the password is too")


def test_disable_and_enable(client, username):
    ok("users", "create", username, password=PASSWORD)
    cookie = login(client, username, PASSWORD).headers["set-cookie"].split(";")[0]
    assert "Disabled" in ok("users", "disable", username)
    assert login(client, username, PASSWORD).status_code == 401
    assert client.post("/auth/refresh", headers={"Cookie": cookie}).status_code == 401
    assert "Enabled" in ok("users", "enable", username)
    assert login(client, username, PASSWORD).status_code == 200


@pytest.mark.parametrize("action", ["set-password", "disable", "enable"])
def test_no_such_user(action):
    assert refused("users", action, "nobody-at-all", password=PASSWORD) == "error: no user named 'nobody-at-all'"


def test_migrate_says_the_database_is_up_to_date():
    assert "is up to date" in ok("migrate")


def test_a_bad_database_url_is_one_line():
    assert "DATABASE_URL" in refused("users", "list", DATABASE_URL="mysql://somewhere/db")


def test_an_unreachable_database_is_one_line(unreachable_url):
    line = refused("users", "list", DATABASE_URL=unreachable_url)
    assert line.startswith("error: cannot use the database")
    assert "hunter2" not in line  # never the password
