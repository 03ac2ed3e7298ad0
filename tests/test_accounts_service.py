"""Accounts over HTTP on a served bake of each database answer: sign-up, a password change and
"sign out everywhere". (The admin routes over HTTP: test_sql_service.py, whose CLI makes an admin.)"""

import time

import httpx
import pytest

from .served import served

STRONG = "a password nobody has ever used"
NEWER = "another password nobody used"


@pytest.fixture(scope="module", params=["fake", "sqlite", "postgresql"])
def service(request, default_project, service_python, sql_projects, sql_python, tmp_path_factory):
    projects = {"fake": default_project, **sql_projects}
    pythons = {"fake": service_python, "sqlite": sql_python, "postgresql": sql_python}
    with served(request.param, projects, pythons, tmp_path_factory.mktemp("accounts")) as running:
        yield running


def login(service, username: str, password: str, **form) -> httpx.Response:
    return httpx.post(f"{service.url}/auth/token", data={"username": username, "password": password, **form})


def bearer(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def cookie(response: httpx.Response) -> dict[str, str]:
    return {"Cookie": f"refresh_token={response.cookies['refresh_token']}"}


def unique(prefix: str) -> str:
    return f"{prefix}{time.monotonic_ns()}"


def sign_up(service, password: str = STRONG) -> str:
    name = unique("user")
    response = httpx.post(f"{service.url}/auth/register", json={"username": name, "password": password})
    assert response.status_code == 201, response.text
    return name


def test_sign_up_rules_and_a_taken_name(service):
    weak = httpx.post(f"{service.url}/auth/register", json={"username": unique("weak"), "password": "password1"})
    assert weak.status_code == 422
    assert weak.json()["detail"][0]["type"] == "password_too_common"
    taken = httpx.post(f"{service.url}/auth/register", json={"username": "alice", "password": STRONG})
    assert taken.status_code == 409
    name = sign_up(service)
    assert login(service, name, STRONG).json()["scope"] == "me items"


def test_a_password_change_signs_out_everywhere_and_a_login_right_after_works(service):
    name = sign_up(service)
    phone, laptop = login(service, name, STRONG), login(service, name, STRONG)
    change = {"current_password": STRONG, "new_password": NEWER}
    response = httpx.post(f"{service.url}/users/me/password", headers=bearer(laptop), json=change)
    assert response.status_code == 204
    for old in (phone, laptop):
        me = httpx.get(f"{service.url}/users/me", headers=bearer(old))
        assert (me.status_code, me.headers["www-authenticate"]) == (401, 'Bearer error="invalid_token"')
        assert httpx.post(f"{service.url}/auth/refresh", headers=cookie(old)).status_code == 401
    fresh = login(service, name, NEWER)
    assert httpx.get(f"{service.url}/users/me", headers=bearer(fresh)).status_code == 200
    assert login(service, name, STRONG).json()["error"] == "invalid_grant"


def test_logout_all(service):
    name = sign_up(service)
    phone, laptop = login(service, name, STRONG), login(service, name, STRONG)
    assert httpx.post(f"{service.url}/auth/logout-all", headers=cookie(phone)).status_code == 204
    assert httpx.get(f"{service.url}/items", headers=bearer(laptop)).status_code == 401
    assert httpx.post(f"{service.url}/auth/refresh", headers=cookie(laptop)).status_code == 401
    fresh = login(service, name, STRONG)
    assert httpx.get(f"{service.url}/items", headers=bearer(fresh)).status_code == 200
