"""Scopes: what a login asks for, what the token gets, refreshes, and routes that need them."""

import asyncio

import msgspec
import pytest
from FasterAPI import Depends, Faster
from FasterAPI.testclient import TestClient
from jose import jwt

from {{ cookiecutter.package_name }} import scopes
from {{ cookiecutter.package_name }}.dependencies import require_scopes
from {{ cookiecutter.package_name }}.models import User
from {{ cookiecutter.package_name }}.sessions import access_token_for
from {{ cookiecutter.package_name }}.tokens import decode_access_token
from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import ALICE, ROOT, bearer, make_token, quick_hash


def token_login(client, *credentials: str, **form):
    """Log in as alice (or as the username and password given) with more form fields."""
    username, password = credentials or ALICE
    return client.post("/auth/token", data={"username": username, "password": password, **form})


def granted(response) -> str:
    """The scope of a token response, after checking the token carries the same."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert jwt.get_unverified_claims(body["access_token"])["scope"] == body["scope"]
    return body["scope"]


@pytest.mark.parametrize(
    ("asked", "gets"),
    [
        (None, "me items"),  # nothing asked: everything alice is allowed
        ("", "me items"),
        ("me", "me"),
        ("items me", "me items"),  # in the order scopes.py lists them
        ("me me", "me"),
        ("me admin", "me"),  # admin is not alice's: the intersection
        ("items  admin", "items"),
    ],
)
def test_a_token_gets_what_was_asked_that_the_user_is_allowed(client, asked, gets):
    form = {} if asked is None else {"scope": asked}
    assert granted(token_login(client, **form)) == gets


def test_an_admin_gets_admin_only_when_asking_for_it_or_for_nothing(client):
    assert granted(token_login(client, *ROOT)) == "me items admin"
    assert granted(token_login(client, *ROOT, scope="items")) == "items"


@pytest.mark.parametrize("asked", ["admin", "root", "me root", "ME", "me,items"])
def test_unknown_or_not_allowed_scopes_are_invalid_scope(client, asked):
    response = token_login(client, scope=asked)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert response.json()["error_description"]
    assert "set-cookie" not in response.headers


def test_an_unknown_scope_is_refused_before_any_password_check(client, monkeypatch):
    from {{ cookiecutter.package_name }} import accounts

    checked = []
    monkeypatch.setattr(accounts, "verify_password_in_thread", lambda *args: checked.append(args))
    assert token_login(client, scope="root").status_code == 400
    assert checked == []


def test_a_token_reaches_only_the_routes_of_its_scopes(client):
    only_items = token_login(client, scope="items").json()["access_token"]
    assert client.get("/items", headers=bearer(only_items)).status_code == 200
    response = client.get("/users/me", headers=bearer(only_items))
    assert response.status_code == 403
    assert response.json() == {"detail": "Not enough permissions"}
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="me"'


def test_a_scope_the_user_lost_leaves_at_the_next_refresh(client, put_user):
    alice = asyncio.run(user_store.get("alice"))
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret")))
    cookie = token_login(client).headers["set-cookie"].split(";")[0]
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret"), scopes=("me",)))
    refreshed = client.post("/auth/refresh", headers={"Cookie": cookie})
    assert granted(refreshed) == "me"
    # Given back, it returns: a refresh grants the login's scopes, less those not allowed now.
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret")))
    cookie = refreshed.headers["set-cookie"].split(";")[0]
    assert granted(client.post("/auth/refresh", headers={"Cookie": cookie})) == "me items"


def test_a_refresh_never_grants_more_than_the_login_asked(client):
    cookie = token_login(client, scope="items").headers["set-cookie"].split(";")[0]
    assert granted(client.post("/auth/refresh", headers={"Cookie": cookie})) == "items"


def test_a_login_whose_scopes_are_all_gone_cannot_refresh(client, put_user):
    alice = asyncio.run(user_store.get("alice"))
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret")))
    cookie = token_login(client, scope="items").headers["set-cookie"].split(";")[0]
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret"), scopes=("me",)))
    response = client.post("/auth/refresh", headers={"Cookie": cookie})
    assert response.status_code == 401
    assert "log in again" in response.json()["detail"]


def test_a_user_allowed_no_scope_cannot_log_in(client, put_user):
    alice = asyncio.run(user_store.get("alice"))
    put_user(msgspec.structs.replace(alice, hashed_password=quick_hash("secret"), scopes=()))
    assert token_login(client).json()["error"] == "invalid_scope"


def test_scopes_the_code_no_longer_knows_are_never_granted():
    assert scopes.grant([], ["me", "retired"]) == ("me",)
    with pytest.raises(scopes.InvalidScope):
        scopes.grant(["retired"], ["retired"])


def test_require_scopes_refuses_a_misspelt_scope_at_once():
    with pytest.raises(scopes.InvalidScope, match="itmes"):
        require_scopes("itmes")


def test_several_scopes_are_all_needed_and_named_in_the_challenge():
    app = Faster()  # an app of its own, so the service's routes and document stay as they are

    @app.get("/both")
    async def needs_both(user: User = Depends(require_scopes("me", "items"))) -> User:
        return user

    client = TestClient(app, base_url="https://testserver")
    assert client.get("/both", headers=bearer(make_token(scope="me items"))).status_code == 200
    response = client.get("/both", headers=bearer(make_token(scope="me")))
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="me items"'


def test_access_token_for_takes_scopes_extra_claims_and_a_lifetime():
    alice = asyncio.run(user_store.get("alice"))
    token = access_token_for(alice, ["items"], lifetime_seconds=60, claims={"tenant": "acme"})
    claims = decode_access_token(token)
    assert (claims.scope, claims.exp - claims.iat) == ("items", 60)
    assert jwt.get_unverified_claims(token)["tenant"] == "acme"
    with pytest.raises(ValueError, match="sub"):
        access_token_for(alice, [], claims={"sub": "root"})


def test_the_login_field_is_named_in_the_docs_as_clients_send_it(spec):
    form = spec["paths"]["/auth/token"]["post"]["requestBody"]["content"]["application/x-www-form-urlencoded"]
    assert "scope" in form["schema"]["properties"]
