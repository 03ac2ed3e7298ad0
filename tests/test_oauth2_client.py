"""A real OAuth2 client library (authlib) against a served bake of each database answer: the
password grant with scopes, the token on protected routes, errors raised as the library's own."""

import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from .served import served


@pytest.fixture(scope="module", params=["fake", "sqlite", "postgresql"])
def service(request, default_project, service_python, sql_projects, sql_python, tmp_path_factory):
    projects = {"fake": default_project, **sql_projects}
    pythons = {"fake": service_python, "sqlite": sql_python, "postgresql": sql_python}
    with served(request.param, projects, pythons, tmp_path_factory.mktemp("oauth2")) as running:
        yield running


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
