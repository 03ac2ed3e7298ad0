"""A password change and "sign out everywhere": every refresh token of the user revoked, every
access token issued until then refused (iat before tokens_valid_from), a login right after works."""

import asyncio
import time

import pytest
from jose import jwt

from {{ cookiecutter.package_name }} import sessions as session_rules
from {{ cookiecutter.package_name }}.models import UserInDB
from {{ cookiecutter.package_name }}.sessions import issued_at_for, revocation_cutoff
from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import OWN_PASSWORD, bearer, login, make_token, new_user

pytestmark = pytest.mark.usefixtures("cheap_hashing")

NEW = "another password nobody used"
INVALID_TOKEN = 'Bearer error="invalid_token"'


def cookie_of(response) -> dict[str, str]:
    return {"Cookie": response.headers["set-cookie"].split(";")[0]}


def change(client, headers: dict, current: str = OWN_PASSWORD, new: str = NEW):
    return client.post("/users/me/password", headers=headers, json={"current_password": current, "new_password": new})


def sessions(client, name: str, password: str = OWN_PASSWORD):
    """Two logins (two devices): their responses."""
    return login(client, name, password), login(client, name, password)


def assert_signed_out(client, old_logins) -> None:
    for old in old_logins:
        me = client.get("/users/me", headers=bearer(old.json()["access_token"]))
        assert (me.status_code, me.headers["www-authenticate"]) == (401, INVALID_TOKEN)
        assert client.post("/auth/refresh", headers=cookie_of(old)).status_code == 401


# --- POST /users/me/password --------------------------------------------------------------------


def test_a_password_change_signs_out_everywhere_and_the_new_password_logs_in_at_once(client):
    name = new_user()
    devices = sessions(client, name)
    response = change(client, bearer(devices[0].json()["access_token"]))
    assert (response.status_code, response.content) == (204, b"")
    assert_signed_out(client, devices)
    assert login(client, name, OWN_PASSWORD).status_code == 401
    fresh = login(client, name, NEW)  # within the same second as the change
    assert fresh.status_code == 200
    assert client.get("/users/me", headers=bearer(fresh.json()["access_token"])).status_code == 200
    assert client.post("/auth/refresh", headers=cookie_of(fresh)).status_code == 200
    user = asyncio.run(user_store.get(name))
    assert user.password_changed_at == pytest.approx(time.time(), abs=5)


def test_a_wrong_current_password_is_401_and_changes_nothing(client):
    name = new_user()
    token = login(client, name, OWN_PASSWORD).json()["access_token"]
    response = change(client, bearer(token), current="not it")
    assert (response.status_code, response.json()) == (401, {"detail": "The current password is wrong"})
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert login(client, name, OWN_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("new", "rule"),
    [("short", "password_too_short"), ("x" * 4097, "password_too_long"), ("password1", "password_too_common")],
)
def test_a_new_password_breaking_a_rule_is_a_422_naming_it(client, new, rule):
    name = new_user()
    token = login(client, name, OWN_PASSWORD).json()["access_token"]
    response = change(client, bearer(token), new=new)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert (problem["loc"], problem["type"]) == (["body", "new_password"], rule)
    assert client.get("/users/me", headers=bearer(token)).status_code == 200  # nothing changed


def test_it_needs_the_me_scope(client):
    name = new_user()
    response = change(client, bearer(make_token(sub=name, scope="items")))
    assert response.status_code == 403
    assert login(client, name, OWN_PASSWORD).status_code == 200


HOSTILE = [
    pytest.param({"json": {"new_password": NEW}}, 422, "current_password", id="no-current"),
    pytest.param({"json": {"current_password": OWN_PASSWORD}}, 422, "new_password", id="no-new"),
    pytest.param({"json": {}}, 422, "", id="empty-object"),
    pytest.param({"json": {"current_password": 1, "new_password": NEW}}, 422, "current_password", id="number"),
    pytest.param({"json": {"current_password": OWN_PASSWORD, "new_password": None}}, 422, "new_password", id="null"),
    pytest.param({"json": {"current_password": "x" * 5000, "new_password": NEW}}, 422, "current_password", id="huge"),
    pytest.param(
        {"json": {"current_password": OWN_PASSWORD, "new_password": NEW, "username": "alice"}},
        422,
        "username",
        id="another-users-name",
    ),
    pytest.param({"json": [OWN_PASSWORD, NEW]}, 422, "", id="array"),
    pytest.param({"content": b"current_password=x&new_password=y"}, 415, "application/json", id="a-form"),
    pytest.param({"json": {"current_password": "p" * 20_000, "new_password": NEW}}, 413, "", id="over-the-body-limit"),
]


@pytest.mark.parametrize(("request_kwargs", "status", "named"), HOSTILE)
def test_hostile_bodies_are_refused_and_change_nothing(client, request_kwargs, status, named):
    name = new_user()
    token = login(client, name, OWN_PASSWORD).json()["access_token"]
    response = client.post("/users/me/password", headers=bearer(token), **request_kwargs)
    assert response.status_code == status, response.text
    assert named in response.text
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert asyncio.run(user_store.get("alice")).tokens_valid_from == 0


def test_the_body_is_not_read_before_the_token_is_checked(client):
    response = client.post("/users/me/password", content=b"{not json", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")


# --- POST /auth/logout-all ----------------------------------------------------------------------


def test_logout_all_ends_every_login_and_clears_the_cookie(client):
    name = new_user()
    devices = sessions(client, name)
    response = client.post("/auth/logout-all", headers=cookie_of(devices[1]))
    assert response.status_code == 204
    cleared = [part.strip() for part in response.headers["set-cookie"].split(";")]
    assert (cleared[0], "Max-Age=0" in cleared) == ("refresh_token=", True)
    assert_signed_out(client, devices)
    fresh = login(client, name, OWN_PASSWORD)  # a login right after works
    assert client.get("/users/me", headers=bearer(fresh.json()["access_token"])).status_code == 200
    # A cookie from before cannot sign the new login out again.
    assert client.post("/auth/logout-all", headers=cookie_of(devices[0])).status_code == 401
    assert client.post("/auth/refresh", headers=cookie_of(fresh)).status_code == 200


@pytest.mark.parametrize(
    "cookie",
    [None, "refresh_token=", "refresh_token=garbage", f"refresh_token={make_token()}", "refresh_token=" + "a" * 10_000],
)
def test_logout_all_without_a_valid_refresh_cookie_is_401(client, cookie):
    response = client.post("/auth/logout-all", headers={"Cookie": cookie} if cookie else {})
    assert response.status_code == 401
    assert asyncio.run(user_store.get("alice")).tokens_valid_from == 0


def test_logout_all_from_another_site_is_403(client):
    name = new_user()
    first = login(client, name, OWN_PASSWORD)
    response = client.post("/auth/logout-all", headers={**cookie_of(first), "Origin": "https://evil.example"})
    assert response.status_code == 403
    assert client.post("/auth/refresh", headers=cookie_of(first)).status_code == 200  # nothing ended


# --- The whole-second rule ----------------------------------------------------------------------


class Clock:
    """time.time() as the sessions module sees it, set by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now


def test_tokens_of_the_second_of_a_change_before_it_are_refused_and_after_it_accepted(monkeypatch):
    clock = Clock(1_800_000_000.2)
    monkeypatch.setattr(session_rules, "time", clock)
    user = UserInDB(username="someone", hashed_password="-")
    before = issued_at_for(user)  # a token issued at .2
    clock.now = 1_800_000_000.5
    user.tokens_valid_from = revocation_cutoff()  # the change, at .5
    clock.now = 1_800_000_000.9
    after = issued_at_for(user)  # a login at .9, the same second
    assert before < user.tokens_valid_from <= after
    assert after - clock.now <= 1  # at most a second ahead
    clock.now = 1_800_000_003.0
    assert issued_at_for(user) == 1_800_000_003  # later tokens carry their real time


def test_a_token_issued_in_the_second_of_the_change_but_before_it_is_refused(client):
    name = new_user()
    just_before = bearer(make_token(sub=name, iat=int(time.time())))
    fresh = login(client, name, OWN_PASSWORD)
    assert client.post("/auth/logout-all", headers=cookie_of(fresh)).status_code == 204
    assert client.get("/users/me", headers=just_before).status_code == 401
    right_after = login(client, name, OWN_PASSWORD).json()["access_token"]
    assert jwt.get_unverified_claims(right_after)["iat"] >= asyncio.run(user_store.get(name)).tokens_valid_from
    assert client.get("/users/me", headers=bearer(right_after)).status_code == 200
