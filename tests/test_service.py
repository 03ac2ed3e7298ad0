"""The default project installed in its own virtual environment, served by uvicorn, driven over HTTP."""

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from .conftest import documentation, free_port, run_project_tests, serve, uvicorn_command

CREDENTIALS_ERROR = {"detail": "Could not validate credentials"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}


@pytest.fixture(scope="module")
def base_url(service_python, default_project):
    port = free_port()
    with serve(uvicorn_command(service_python, "my_service", port), default_project, port) as url:
        yield url


def login(base_url: str, username: str = "alice", password: str = "secret") -> httpx.Response:
    return httpx.post(f"{base_url}/auth/token", data={"username": username, "password": password})


def test_the_seed_session(base_url):
    check_seed_session(base_url)


def check_seed_session(base_url: str, password: str = "secret") -> None:
    """The guide's session: alice logs in and reads her account and items."""
    response = login(base_url, password=password)
    assert response.status_code == 200
    assert response.json()["token_type"] == "bearer"
    assert response.json()["scope"] == "me items"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    me = httpx.get(f"{base_url}/users/me", headers=headers)
    assert (me.status_code, me.json()) == (
        200,
        {"username": "alice", "email": "alice@example.com", "disabled": False, "email_verified": False},
    )
    items = httpx.get(f"{base_url}/items", headers=headers)
    assert (items.status_code, items.json()) == (200, [{"name": "Widget", "owner": "alice"}])
    assert httpx.get(f"{base_url}/health").json() == {"status": "ok"}


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("mallory", "secret")])
def test_bad_login(base_url, username, password):
    response = login(base_url, username, password)
    assert response.status_code == 401
    detail = "Incorrect username or password"
    assert response.json() == {"detail": detail, "error": "invalid_grant", "error_description": detail}
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(
    ("authorization", "body", "challenge"),
    [
        (None, NOT_AUTHENTICATED, "Bearer"),  # RFC 6750 3.1: no token, no error code
        ("Basic YWxpY2U6c2VjcmV0", NOT_AUTHENTICATED, "Bearer"),
        ("Bearer", CREDENTIALS_ERROR, 'Bearer error="invalid_token"'),
        ("Bearer abc.def.ghi", CREDENTIALS_ERROR, 'Bearer error="invalid_token"'),
    ],
)
def test_protected_routes_refuse_bad_tokens(base_url, authorization, body, challenge):
    headers = {"Authorization": authorization} if authorization else {}
    for path in ("/users/me", "/items"):
        response = httpx.get(f"{base_url}{path}", headers=headers)
        assert (response.status_code, response.json()) == (401, body)
        assert response.headers["www-authenticate"] == challenge


def test_missing_form_field_is_a_422_not_a_500(base_url):
    response = httpx.post(f"{base_url}/auth/token", data={"username": "alice"})
    assert response.status_code == 422
    assert "password" in response.text


def refresh(base_url: str, token: str) -> httpx.Response:
    return httpx.post(f"{base_url}/auth/refresh", headers={"Cookie": f"refresh_token={token}"})


def test_the_refresh_cycle(base_url):
    check_refresh_cycle(base_url)


def check_refresh_cycle(base_url: str, password: str = "secret") -> None:
    """Refresh rotates the cookie; a retry within the window gets the same successor; an older
    token replayed revokes its family; logout ends a login."""
    first = login(base_url, password=password).cookies["refresh_token"]

    refreshed = refresh(base_url, first)
    assert refreshed.status_code == 200
    assert refreshed.headers["cache-control"] == "no-store"
    new_access = refreshed.json()["access_token"]
    assert httpx.get(f"{base_url}/users/me", headers={"Authorization": f"Bearer {new_access}"}).status_code == 200
    rotated = refreshed.cookies["refresh_token"]
    assert rotated != first

    retried = refresh(base_url, first)  # within REFRESH_REUSE_GRACE_SECONDS: the same successor
    assert (retried.status_code, retried.cookies["refresh_token"]) == (200, rotated)
    third = refresh(base_url, rotated).cookies["refresh_token"]

    assert refresh(base_url, first).status_code == 401  # replay of a token two generations old...
    assert refresh(base_url, third).status_code == 401  # ...revoked the whole family

    second_login = login(base_url, password=password).cookies["refresh_token"]
    logout = httpx.post(f"{base_url}/auth/logout", headers={"Cookie": f"refresh_token={second_login}"})
    assert logout.status_code == 204
    assert refresh(base_url, second_login).status_code == 401


def test_cross_site_refresh_is_refused(base_url):
    token = login(base_url).cookies["refresh_token"]
    response = httpx.post(
        f"{base_url}/auth/refresh", headers={"Cookie": f"refresh_token={token}", "Origin": "https://evil.example"}
    )
    assert response.status_code == 403


def readme_shell_blocks(readme: str) -> list[str]:
    return re.findall(r"```bash\n(.*?)```", readme, flags=re.DOTALL)


def test_the_readme_curl_sessions_work_verbatim(base_url, default_project):
    check_readme_curl_sessions(base_url, default_project)


def check_readme_curl_sessions(
    base_url: str, project: Path, python: Path | None = None, stdin: str = "", env: dict[str, str] | None = None
) -> None:
    """Every curl block of the README and its docs/ pages, run as written but for the port (and the venv's python
    when given), one script after the other, prints what it says. stdin answers the prompts;
    env holds what an earlier block asked the reader to keep in the shell."""
    port = base_url.rsplit(":", 1)[1]
    blocks = [block for block in readme_shell_blocks(documentation(project)) if "curl" in block]
    assert len(blocks) >= 2
    for block in blocks:
        script = block.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
        if python is not None:
            script = script.replace(".venv/bin/python", str(python))
        output = subprocess.run(
            ["bash", "-e", "-c", script],
            cwd=project,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        ).stdout
        expected = [line.removeprefix("# ") for line in block.splitlines() if line.startswith(("# {", "# ["))]
        for line in expected:
            if "..." in line:
                line = line.split("...")[0]
            assert line in output, f"{line!r} not printed by:\n{block}\n---\n{output}"


def test_python_m_package_serves(service_python, default_project):
    port = free_port()
    with serve([service_python, "-m", "my_service"], default_project, port, env={"PORT": str(port)}) as url:
        assert httpx.get(f"{url}/health").status_code == 200


def test_the_generated_test_suite_passes(service_python, default_project):
    run_project_tests(service_python, default_project)
