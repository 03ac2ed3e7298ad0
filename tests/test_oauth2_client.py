"""A served bake of each database answer (fake, sqlite, postgresql), driven over HTTP:

- by a real OAuth2 client library (authlib): the password grant with scopes, the token on
  protected routes, a narrower grant refused, errors raised as the library's own;
- through the account routes: sign-up, a password change and "sign out everywhere".

(The admin routes over HTTP: test_sql_service.py, whose CLI makes an admin.)
"""

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from . import postgres
from .conftest import free_port, serve, uvicorn_command
from .test_sql_service import PASSWORD, Service

STRONG = "a password nobody has ever used"
NEWER = "another password nobody used"


class Served:
    def __init__(self, backend: str, url: str, alice_password: str) -> None:
        self.backend = backend
        self.url = url
        self.alice = ("alice", alice_password)


@contextlib.contextmanager
def served(backend: str, projects: dict[str, Path], pythons: dict[str, Path], folder: Path) -> Iterator[Served]:
    env = {"ALLOW_SIGNUP": "true"}
    if backend == "fake":
        port = free_port()
        with serve(uvicorn_command(pythons["fake"], "my_service", port), projects["fake"], port, env) as url:
            yield Served(backend, url, "secret")
        return
    with contextlib.ExitStack() as stack:
        if backend == "sqlite":
            database_url = f"sqlite+aiosqlite:///{folder / 'accounts.db'}"
        else:
            postgres.require_server()
            database_url = stack.enter_context(postgres.database())
        service = Service(backend, projects[backend], pythons[backend], database_url)
        service.command("migrate")
        service.create_alice()
        service.env.update(env)
        yield Served(backend, stack.enter_context(service.serve()), PASSWORD)


@pytest.fixture(scope="module", params=["fake", "sqlite", "postgresql"])
def service(request, default_project, service_python, sql_projects, sql_python, tmp_path_factory):
    projects = {"fake": default_project, **sql_projects}
    pythons = {"fake": service_python, "sqlite": sql_python, "postgresql": sql_python}
    with served(request.param, projects, pythons, tmp_path_factory.mktemp("served")) as running:
        yield running


# --- A real OAuth2 client ---------------------------------------------------------------------


def session(service, scope: str | None = None) -> OAuth2Session:
    # The client id is what any OAuth2 client configuration holds; the service ignores it, and
    # the Basic header authlib builds from it.
    return OAuth2Session(client_id="any-client", scope=scope, token_endpoint=f"{service.url}/auth/token")


def test_the_password_grant_with_scopes_then_a_protected_route(service):
    client = session(service, scope="me items")
    token = client.fetch_token(f"{service.url}/auth/token", username=service.alice[0], password=service.alice[1])
    assert token["token_type"] == "bearer"
    assert token["scope"] == "me items"
    assert token["expires_in"] > 0 and token["expires_at"] > 0  # the library can tell when to refresh
    me = client.get(f"{service.url}/users/me")
    assert (me.status_code, me.json()["username"]) == (200, "alice")
    assert client.get(f"{service.url}/items").status_code == 200


def test_a_narrower_grant_reaches_only_its_routes(service):
    client = session(service, scope="items")
    token = client.fetch_token(f"{service.url}/auth/token", username=service.alice[0], password=service.alice[1])
    assert token["scope"] == "items"
    assert client.get(f"{service.url}/items").status_code == 200
    refused = client.get(f"{service.url}/users/me")
    assert refused.status_code == 403
    assert refused.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="me"'


def test_a_wrong_password_raises_the_librarys_invalid_grant(service):
    with pytest.raises(OAuthError) as raised:
        session(service).fetch_token(f"{service.url}/auth/token", username="alice", password="wrong")
    assert raised.value.error == "invalid_grant"


def test_an_unknown_scope_raises_the_librarys_invalid_scope(service):
    with pytest.raises(OAuthError) as raised:
        session(service, scope="me root").fetch_token(
            f"{service.url}/auth/token", username=service.alice[0], password=service.alice[1]
        )
    assert raised.value.error == "invalid_scope"


def test_a_scope_the_user_is_not_allowed_is_left_out(service):
    client = session(service, scope="me admin")
    token = client.fetch_token(f"{service.url}/auth/token", username=service.alice[0], password=service.alice[1])
    assert token["scope"] == "me"


# --- Accounts -------------------------------------------------------------------------------------


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
