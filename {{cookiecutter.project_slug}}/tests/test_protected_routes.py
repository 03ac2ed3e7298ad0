"""GET /users/me and GET /items, behind get_current_user."""

import asyncio

import msgspec
import pytest
from jose import jwt

from {{ cookiecutter.package_name }} import tokens
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.sessions import access_token_for, access_tokens
from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import bearer, make_token

CREDENTIALS_ERROR = {"detail": "Could not validate credentials"}
NOT_AUTHENTICATED = {"detail": "Not authenticated"}
INVALID_TOKEN = 'Bearer error="invalid_token"'


def test_users_me_returns_the_current_user(client, token):
    response = client.get("/users/me", headers=bearer(token))
    assert response.status_code == 200
    # The public view and nothing more (no hash, no id); a field added to User appears by itself.
    assert response.json() == msgspec.to_builtins(User(username="alice", email="alice@example.com"))


def test_items_belong_to_the_current_user(client, token):
    response = client.get("/items", headers=bearer(token))
    assert response.status_code == 200
    assert response.json() == [{"name": "Widget", "owner": "alice"}]


def test_health_needs_no_token(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def assert_rejected(client, headers, body=CREDENTIALS_ERROR, challenge=INVALID_TOKEN):
    """401 on every protected route; by default as for a bad token (RFC 6750 3.1)."""
    for path in ("/users/me", "/items"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.json() == body
        assert response.headers["www-authenticate"] == challenge


def test_no_token_gets_a_challenge_without_an_error(client):
    assert_rejected(client, {}, NOT_AUTHENTICATED, "Bearer")


@pytest.mark.parametrize("authorization", ["Basic YWxpY2U6c2VjcmV0", "Token abc", ""])
def test_another_scheme_is_no_token(client, authorization):
    assert_rejected(client, {"Authorization": authorization}, NOT_AUTHENTICATED, "Bearer")


@pytest.mark.parametrize("authorization", ["Bearer", "Bearer ", "bearer not-a-jwt", "Bearer a.b.c"])
def test_malformed_bearer_token_is_an_invalid_token(client, authorization):
    assert_rejected(client, {"Authorization": authorization})


def test_scheme_is_case_insensitive(client, token):
    assert client.get("/users/me", headers={"Authorization": f"bearer {token}"}).status_code == 200


def test_bad_signature(client):
    assert_rejected(client, bearer(make_token(key="another-key-" + "x" * 40)))


def test_unknown_user(client):
    assert_rejected(client, bearer(make_token(sub="mallory")))


def test_disabled_user(client, token, disable_alice):
    disable_alice()
    assert_rejected(client, bearer(token))


def test_refresh_token_is_not_an_access_token(client):
    assert_rejected(client, bearer(make_token(type="refresh", fam="family")))


def test_expired_token(client):
    assert_rejected(client, bearer(make_token(exp=1_000_000_000)))


def alice():
    return asyncio.run(user_store.get("alice"))


def test_a_fresh_token_from_the_helper_works(client):
    assert client.get("/users/me", headers=bearer(access_token_for(alice(), ["me"]))).status_code == 200


@pytest.fixture
def audience_and_issuer(monkeypatch):
    strict = msgspec.structs.replace(tokens.settings, token_audience="my-api", token_issuer="my-issuer")
    monkeypatch.setattr(tokens, "settings", strict)
    access_tokens._claims.clear()
    yield
    access_tokens._claims.clear()


def test_audience_and_issuer_are_set_and_checked_when_configured(client, audience_and_issuer):
    token = access_token_for(alice(), ["me"])
    claims = jwt.get_unverified_claims(token)
    assert (claims["aud"], claims["iss"]) == ("my-api", "my-issuer")
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert_rejected(client, bearer(make_token()))  # neither claim
    assert_rejected(client, bearer(make_token(aud="other-api", iss="my-issuer")))
    assert_rejected(client, bearer(make_token(aud="my-api", iss="other-issuer")))
