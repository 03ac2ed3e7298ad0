"""POST /auth/token as OAuth2 clients use it (RFC 6749 4.3 and 5): what they add to the form is
accepted or ignored, and every error carries `error` and `error_description` beside `detail`."""

import re

import pytest

ALICE = {"username": "alice", "password": "secret"}
# RFC 6749 5.2: error_description is printable ASCII without `"` and `\`.
DESCRIPTION = re.compile(r"[\x20-\x21\x23-\x5b\x5d-\x7e]+")


def token(client, form: dict | None = None, **request_kwargs):
    return client.post("/auth/token", data=ALICE if form is None else form, **request_kwargs)


def assert_oauth2_error(response, status: int, error: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert DESCRIPTION.fullmatch(body["error_description"])
    assert "detail" in body
    assert "set-cookie" not in response.headers
    return body


@pytest.mark.parametrize(
    "extra",
    [
        {"grant_type": "password"},  # what every OAuth2 client sends
        {"grant_type": ""},
        {"client_id": "my-app"},  # clients add these on their own; there are no registered clients
        {"client_id": "my-app", "client_secret": "anything"},
        {"grant_type": "password", "scope": "me items", "client_id": ""},
    ],
)
def test_what_oauth2_clients_add_to_the_form_is_accepted(client, extra):
    assert token(client, {**ALICE, **extra}).status_code == 200


@pytest.mark.parametrize("authorization", ["Basic Og==", "Basic ", "Basic bXktYXBwOg==", "Basic bXktYXBwOnNlY3JldA=="])
def test_client_credentials_in_a_basic_header_are_ignored(client, authorization):
    """Swagger UI's Authorize dialog sends `Basic Og==` (an empty client id and secret)."""
    assert token(client, headers={"Authorization": authorization}).status_code == 200


@pytest.mark.parametrize("grant_type", ["client_credentials", "refresh_token", "authorization_code", "PASSWORD"])
def test_another_grant_type_is_unsupported_grant_type(client, grant_type):
    body = assert_oauth2_error(token(client, {**ALICE, "grant_type": grant_type}), 400, "unsupported_grant_type")
    assert body["detail"] == body["error_description"]


def test_another_grant_type_is_refused_before_the_form_is_judged(client):
    assert_oauth2_error(token(client, {"grant_type": "client_credentials"}), 400, "unsupported_grant_type")


def test_wrong_credentials_are_invalid_grant_with_401(client):
    body = assert_oauth2_error(token(client, {**ALICE, "password": "wrong"}), 401, "invalid_grant")
    assert body["detail"] == "Incorrect username or password"


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"password": "secret"}, "username"),
        ({"username": "alice"}, "password"),
        ({**ALICE, "scope": "s" * 1001}, "scope"),
    ],
)
def test_a_missing_or_bad_field_is_invalid_request_naming_it(client, form, field):
    body = assert_oauth2_error(token(client, form), 422, "invalid_request")
    assert field in body["error_description"]
    [problem] = body["detail"]  # the list every 422 of the service has
    assert field in problem["msg"]


def test_a_body_that_is_not_a_form_is_invalid_request(client):
    assert_oauth2_error(client.post("/auth/token", json=ALICE), 422, "invalid_request")


def test_an_unknown_scope_is_invalid_scope_with_a_clean_description(client):
    body = assert_oauth2_error(token(client, {**ALICE, "scope": 'me "quoted\\scope" \u00e9'}), 400, "invalid_scope")
    assert "unknown scope" in body["error_description"]
