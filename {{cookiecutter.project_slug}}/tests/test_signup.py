"""POST /auth/register: off unless ALLOW_SIGNUP=true; the password rules; hostile bodies."""

import time

import msgspec
import pytest

from {{ cookiecutter.package_name }}.models import User

from .conftest import login, signup_allowed

pytestmark = pytest.mark.usefixtures("cheap_hashing")

STRONG = "a password nobody has ever used"
NOT_FOUND = {"detail": "Not Found"}


def register(client, body=None, **request_kwargs):
    with signup_allowed():
        return client.post("/auth/register", json=body, **request_kwargs)


def fresh_name() -> str:
    return f"signup{time.monotonic_ns()}"


@pytest.mark.parametrize("body", [{"username": "newcomer", "password": STRONG}, {}, None])
def test_off_by_default_it_answers_as_if_absent(client, body):
    response = client.post("/auth/register", json=body)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert client.post("/no/such/route").json() == NOT_FOUND  # the same answer


def test_sign_up_then_log_in_with_the_default_scopes(client):
    name = fresh_name()
    response = register(client, {"username": name, "password": STRONG, "email": f"{name}@example.com"})
    assert response.status_code == 201, response.text
    assert response.json() == msgspec.to_builtins(User(username=name, email=f"{name}@example.com"))
    logged_in = login(client, name, STRONG)
    assert logged_in.json()["scope"] == "me items"


def test_a_taken_username_is_409(client):
    response = register(client, {"username": "alice", "password": STRONG})
    assert (response.status_code, response.json()) == (409, {"detail": "That username is taken"})
    assert login(client).status_code == 200  # alice is untouched


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("short", "password_too_short"),
        ("p" * 4097, "password_too_long"),
        ("12345678", "password_too_common"),
        ("QWERTYUIOP", "password_too_common"),  # whatever the case
    ],
)
def test_a_password_breaking_a_rule_is_a_422_naming_it(client, password, rule):
    name = fresh_name()
    response = register(client, {"username": name, "password": password})
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["body", "password"]
    assert problem["type"] == rule
    assert rule.removeprefix("password_").replace("_", " ") in problem["msg"]  # "too short", ...
    assert login(client, name, password).status_code != 200  # no account was made


JSON = {"Content-Type": "application/json"}
HOSTILE_BODIES = [
    pytest.param({"json": {"password": STRONG}}, "username", id="no-username"),
    pytest.param({"json": {"username": "eve"}}, "password", id="no-password"),
    pytest.param({"json": {}}, "username", id="empty-object"),
    pytest.param({"json": {"username": 42, "password": STRONG}}, "username", id="number-username"),
    pytest.param({"json": {"username": "eve", "password": None}}, "password", id="null-password"),
    pytest.param({"json": {"username": "eve", "password": STRONG, "email": []}}, "email", id="list-email"),
    pytest.param({"json": {"username": "eve", "password": STRONG, "email": "no-at-sign"}}, "email", id="bad-email"),
    pytest.param({"json": {"username": "e" * 151, "password": STRONG}}, "username", id="151-character-username"),
    pytest.param({"json": {"username": "eve smith", "password": STRONG}}, "username", id="space-in-username"),
    pytest.param({"json": {"username": "eve\x00", "password": STRONG}}, "username", id="nul-in-username"),
    pytest.param({"json": {"username": "eve\n", "password": STRONG}}, "username", id="newline-after-username"),
    pytest.param({"json": {"username": "", "password": STRONG}}, "username", id="empty-username"),
    pytest.param({"json": {"username": "eve", "password": STRONG, "scopes": ["admin"]}}, "scopes", id="asks-for-admin"),
    pytest.param({"json": ["eve", STRONG]}, "", id="array"),
    # labelled JSON, so that they reach the decoder (other types get 415: test_hostile_inputs.py)
    pytest.param({"content": b"username=eve&password=x", "headers": JSON}, "", id="a-form"),
    pytest.param({"content": b"{not json", "headers": JSON}, "", id="broken-json"),
    pytest.param({"content": b"", "headers": JSON}, "", id="empty-body"),
    pytest.param({"content": b"", "headers": {}}, "", id="empty-body-no-type"),
    pytest.param({"content": b"\xff\xfe", "headers": JSON}, "", id="binary"),
]


@pytest.mark.parametrize(("request_kwargs", "field"), HOSTILE_BODIES)
def test_hostile_bodies_get_a_422_naming_the_field(client, request_kwargs, field):
    with signup_allowed():
        response = client.post("/auth/register", **request_kwargs)
    assert response.status_code == 422, response.text
    assert field in response.text
    assert "Traceback" not in response.text


def test_a_body_over_the_limit_is_413(client):
    assert register(client, {"username": "eve", "password": "p" * 20_000}).status_code == 413
