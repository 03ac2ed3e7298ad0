"""POST /auth/token: the OAuth2 password form."""

import pytest

from {{ cookiecutter.package_name }}.settings import settings

from .conftest import login

INVALID_GRANT = {
    "detail": "Incorrect username or password",
    "error": "invalid_grant",
    "error_description": "Incorrect username or password",
}


def test_login_returns_a_bearer_token(client):
    response = login(client)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["access_token"].count(".") == 2
    assert body["expires_in"] == settings.access_token_expire_minutes * 60  # RFC 6749 5.1
    assert body["scope"] == "me items"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(("username", "password"), [("alice", "wrong"), ("nobody", "secret"), ("nobody", "wrong")])
def test_bad_credentials_get_one_answer_whoever_asks(client, username, password):
    response = login(client, username, password)
    assert response.status_code == 401
    assert response.json() == INVALID_GRANT
    assert response.headers["www-authenticate"] == "Bearer"
    assert "set-cookie" not in response.headers


def test_disabled_user_cannot_log_in(client, disable_alice):
    disable_alice()
    response = login(client)
    assert response.status_code == 401
    assert response.json() == INVALID_GRANT


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": "secret"}, "username"),
        ({"username": "alice"}, "password"),
        ({"username": "", "password": "secret"}, "username"),
        ({"username": "alice", "password": ""}, "password"),
        ({"username": "a" * 151, "password": "secret"}, "username"),
        ({"username": "alice", "password": "p" * 4097}, "password"),
    ],
)
def test_missing_empty_or_too_long_fields_get_422_naming_the_field(client, form, field):
    response = client.post("/auth/token", data=form)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert field in problem["msg"]
    assert response.json()["error"] == "invalid_request"  # RFC 6749 5.2
    assert field in response.json()["error_description"]


def test_json_instead_of_a_form_gets_422(client):
    response = client.post("/auth/token", json={"username": "alice", "password": "secret"})
    assert response.status_code == 422


def test_multipart_form_works_too(client):
    response = client.post("/auth/token", files={"username": (None, "alice"), "password": (None, "secret")})
    assert response.status_code == 200
