"""The admin routes (scope `admin`): GET /users, POST /users, PATCH /users/{username}."""

import asyncio
import time

import msgspec
import pytest

from {{ cookiecutter.package_name }} import accounts
from {{ cookiecutter.package_name }}.stores import LastAdmin
from {{ cookiecutter.package_name }}.user_store import user_store

from .conftest import OWN_PASSWORD, ROOT, admin_token, bearer, login, make_token, new_user

pytestmark = pytest.mark.usefixtures("cheap_hashing")

STRONG = "a password nobody has ever used"


def cookie_of(response) -> dict[str, str]:
    return {"Cookie": response.headers["set-cookie"].split(";")[0]}


# --- Who may call them -----------------------------------------------------------------------

ADMIN_CALLS = [
    ("get", "/users", {}),
    ("post", "/users", {"json": {"username": "mallory2", "password": STRONG, "scopes": ["admin"]}}),
    ("patch", "/users/root", {"json": {"disabled": True}}),  # another user's name
    ("patch", "/users/alice", {"json": {"scopes": ["me", "items", "admin"]}}),  # promote herself
]


@pytest.mark.parametrize(("method", "path", "request_kwargs"), ADMIN_CALLS)
def test_a_token_without_admin_gets_403_and_changes_nothing(client, method, path, request_kwargs):
    for token in (make_token(), make_token(scope="me items"), login(client).json()["access_token"]):
        response = getattr(client, method)(path, headers=bearer(token), **request_kwargs)
        assert response.status_code == 403, response.text
        assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="admin"'
    assert asyncio.run(user_store.get("mallory2")) is None
    assert asyncio.run(user_store.get("alice")).scopes == ("me", "items")
    assert not asyncio.run(user_store.get("root")).disabled


@pytest.mark.parametrize(("method", "path", "request_kwargs"), ADMIN_CALLS)
def test_no_token_gets_401(client, method, path, request_kwargs):
    response = getattr(client, method)(path, **request_kwargs)
    assert (response.status_code, response.headers["www-authenticate"]) == (401, "Bearer")


def test_an_admin_whose_admin_scope_was_removed_is_refused_at_once(client):
    name = new_user(scopes=("me", "admin"))
    token = bearer(make_token(sub=name, scope="me admin"))
    assert client.get("/users", headers=token).status_code == 200
    assert client.patch(f"/users/{name}", headers=admin_token(), json={"scopes": ["me"]}).status_code == 200
    # Taking a scope away ends every session: the token that says admin is refused at once,
    # and giving admin back does not revive it.
    assert client.get("/users", headers=token).status_code == 401
    assert client.patch(f"/users/{name}", headers=admin_token(), json={"scopes": ["me", "admin"]}).status_code == 200
    assert client.get("/users", headers=token).status_code == 401
    assert login(client, name, OWN_PASSWORD).json()["scope"] == "me admin"


def test_a_scope_the_user_lost_is_refused_even_on_a_token_that_was_granted_it(client, put_user):
    """Live scopes: whatever the token says, the user's scopes now decide (a change made in the
    database directly, with no session cut-off, is seen too)."""
    name = new_user(scopes=("me", "admin"))
    token = bearer(make_token(sub=name, scope="me admin"))
    user = asyncio.run(user_store.get(name))
    put_user(msgspec.structs.replace(user, scopes=("me",)))
    response = client.get("/users", headers=token)
    assert response.status_code == 403
    assert response.headers["www-authenticate"] == 'Bearer error="insufficient_scope", scope="admin"'
    assert client.get("/users/me", headers=token).status_code == 200


def test_disabling_then_enabling_does_not_revive_earlier_tokens(client):
    name = new_user()
    token = bearer(login(client, name, OWN_PASSWORD).json()["access_token"])
    for disabled in (True, False):
        response = client.patch(f"/users/{name}", headers=admin_token(), json={"disabled": disabled})
        assert response.status_code == 200, response.text
    assert client.get("/users/me", headers=token).status_code == 401
    assert login(client, name, OWN_PASSWORD).status_code == 200


def test_an_admin_can_end_every_session_of_a_user(client):
    name = new_user()
    session = login(client, name, OWN_PASSWORD)
    token = bearer(session.json()["access_token"])
    assert client.post(f"/users/{name}/logout-all", headers=bearer(make_token())).status_code == 403
    assert client.post(f"/users/{name}/logout-all", headers=admin_token()).status_code == 204
    assert client.get("/users/me", headers=token).status_code == 401
    assert client.post("/auth/refresh", headers=cookie_of(session)).status_code == 401
    assert client.post("/users/nobody-here/logout-all", headers=admin_token()).status_code == 404


@pytest.fixture
def two_admins(put_user) -> tuple[str, str]:
    """Two new admins, the only enabled ones (every other is disabled until the test ends)."""
    first, second = new_user(scopes=("me", "admin")), new_user(scopes=("me", "admin"))
    for user in asyncio.run(user_store.list(limit=10_000)):
        if user.is_enabled_admin and user.username not in (first, second):
            put_user(msgspec.structs.replace(user, disabled=True))
    return first, second


def test_the_last_enabled_admin_cannot_lose_admin(client, two_admins):
    first, second = two_admins
    second_token = admin_token(sub=second)
    response = client.patch(f"/users/{second}", headers=admin_token(sub=first), json={"scopes": ["me"]})
    assert response.status_code == 200, response.text
    assert client.patch(f"/users/{first}", headers=second_token, json={"disabled": True}).status_code == 401
    last = asyncio.run(user_store.get(first))
    for change in ({"disabled": True}, {"scopes": ["me"]}):
        with pytest.raises(LastAdmin):
            asyncio.run(accounts.update_account(last, **change))
    with pytest.raises(LastAdmin):
        asyncio.run(accounts.delete_account(last))
    assert asyncio.run(user_store.get(first)).is_enabled_admin


def test_two_admins_demoting_each_other_at_once_leave_one(two_admins):
    async def both() -> list:
        users = [await user_store.get(name) for name in two_admins]
        changes = [accounts.update_account(user, scopes=["me"]) for user in users]
        return await asyncio.gather(*changes, return_exceptions=True)

    outcomes = asyncio.run(both())
    assert sum(isinstance(outcome, LastAdmin) for outcome in outcomes) == 1, outcomes
    assert sum(asyncio.run(user_store.get(name)).is_enabled_admin for name in two_admins) == 1


# --- GET /users --------------------------------------------------------------------------------


def test_list_pages_through_every_user_in_username_order(client):
    for _ in range(3):
        new_user()
    seen, offset = [], 0
    while offset is not None:
        response = client.get("/users", headers=admin_token(), params={"offset": offset, "limit": 2})
        assert response.status_code == 200
        page = response.json()
        assert len(page["users"]) <= 2
        seen += page["users"]
        offset = page["next_offset"]
    names = [user["username"] for user in seen]
    assert names == sorted(names)
    assert {"alice", "root"} <= set(names)
    alice = next(user for user in seen if user["username"] == "alice")
    expected = {
        "username": "alice",
        "email": "alice@example.com",
        "disabled": False,
        "email_verified": False,
        "scopes": ["me", "items"],
    }
    assert alice == {**alice, **expected}
    assert {"created_at", "password_changed_at"} <= set(alice)
    assert "hashed_password" not in str(seen)


def test_past_the_last_page_is_empty(client):
    response = client.get("/users", headers=admin_token(), params={"offset": 2_000_000_000})
    assert response.json() == {"users": [], "next_offset": None}


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"limit": ""},
        {"offset": "-1"},
        {"offset": "99999999999999999999999"},
        {"offset": "\u0663"},  # an Arabic-Indic three: a digit to str.isdigit, not to the database
    ],
)
def test_bad_paging_is_a_422_naming_the_parameter(client, params):
    response = client.get("/users", headers=admin_token(), params=params)
    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["loc"] == ["query", *params]


# --- POST /users -----------------------------------------------------------------------------


def test_create_with_scopes_then_log_in(client):
    name = f"made{id(client)}"
    body = {"username": name, "password": STRONG, "email": "made@example.com", "scopes": ["items"]}
    response = client.post("/users", headers=admin_token(), json=body)
    assert response.status_code == 201, response.text
    made = response.json()
    assert made == {
        **made,
        "username": name,
        "email": "made@example.com",
        "disabled": False,
        "email_verified": False,
        "scopes": ["items"],
    }
    assert made["created_at"] == made["password_changed_at"] == pytest.approx(time.time(), abs=5)
    assert login(client, name, STRONG).json()["scope"] == "items"


def test_create_gives_me_and_items_unless_told(client):
    name = f"plain{id(client)}"
    response = client.post("/users", headers=admin_token(), json={"username": name, "password": STRONG})
    assert response.json()["scopes"] == ["me", "items"]


def test_create_a_taken_username_is_409(client):
    response = client.post("/users", headers=admin_token(), json={"username": "root", "password": STRONG})
    assert (response.status_code, response.json()) == (409, {"detail": "That username is taken"})


CREATE_BODIES = [
    pytest.param({"password": STRONG}, "username", id="no-username"),
    pytest.param({"username": "zed"}, "password", id="no-password"),
    pytest.param({"username": "zed", "password": "short"}, "password_too_short", id="short-password"),
    pytest.param({"username": "zed", "password": "iloveyou"}, "password_too_common", id="common-password"),
    pytest.param({"username": "zed", "password": "x" * 5000}, "password_too_long", id="5000-character-password"),
    pytest.param({"username": "zed", "password": STRONG, "scopes": ["root"]}, "root", id="unknown-scope"),
    pytest.param({"username": "zed", "password": STRONG, "scopes": "me items"}, "scopes", id="scopes-as-a-string"),
    pytest.param({"username": "zed", "password": STRONG, "scopes": [1]}, "scopes", id="number-scope"),
    pytest.param({"username": "zed", "password": STRONG, "disabled": True}, "disabled", id="unknown-field"),
    pytest.param({"username": ["zed"], "password": STRONG}, "username", id="list-username"),
    pytest.param({"username": "z" * 10_000, "password": STRONG}, "username", id="10KB-username"),
    pytest.param({"username": "zed/../root", "password": STRONG}, "username", id="slashes"),
    pytest.param([], "", id="array"),
    pytest.param("zed", "", id="string"),
]


@pytest.mark.parametrize(("body", "named"), CREATE_BODIES)
def test_create_refuses_hostile_bodies_with_a_422_naming_the_problem(client, body, named):
    response = client.post("/users", headers=admin_token(), json=body)
    assert response.status_code == 422, response.text
    assert named in response.text
    assert asyncio.run(user_store.get("zed")) is None


# --- PATCH /users/{username} -----------------------------------------------------------------


def test_disabling_ends_every_session_and_enabling_lets_the_user_back(client):
    name = new_user()
    first = login(client, name, OWN_PASSWORD)
    access = bearer(first.json()["access_token"])
    response = client.patch(f"/users/{name}", headers=admin_token(), json={"disabled": True})
    assert response.status_code == 200
    assert response.json()["disabled"] is True
    assert client.post("/auth/refresh", headers=cookie_of(first)).status_code == 401  # revoked
    assert client.get("/users/me", headers=access).status_code == 401  # this process: at once
    assert login(client, name, OWN_PASSWORD).status_code == 401

    assert client.patch(f"/users/{name}", headers=admin_token(), json={"disabled": False}).json()["disabled"] is False
    again = login(client, name, OWN_PASSWORD)
    assert again.status_code == 200
    assert client.post("/auth/refresh", headers=cookie_of(first)).status_code == 401  # still revoked


def test_changing_scopes_changes_what_the_next_login_gets(client):
    name = new_user()
    response = client.patch(f"/users/{name}", headers=admin_token(), json={"scopes": ["items", "me", "items"]})
    assert response.json()["scopes"] == ["me", "items"]
    response = client.patch(f"/users/{name}", headers=admin_token(), json={"scopes": ["admin"]})
    assert login(client, name, OWN_PASSWORD).json()["scope"] == "admin"


def test_an_admin_cannot_lock_themselves_out(client):
    for changes in ({"disabled": True}, {"scopes": ["me"]}, {"scopes": []}):
        response = client.patch(f"/users/{ROOT[0]}", headers=admin_token(), json=changes)
        assert response.status_code == 409, changes
    assert client.patch(f"/users/{ROOT[0]}", headers=admin_token(), json={"disabled": False}).status_code == 200
    root = asyncio.run(user_store.get(ROOT[0]))
    assert not root.disabled
    assert "admin" in root.scopes


def test_an_empty_patch_changes_nothing(client):
    """The fields given are changed: none given, none changed (unknown fields are refused)."""
    response = client.patch("/users/alice", headers=admin_token(), json={})
    assert response.status_code == 200
    assert (response.json()["disabled"], response.json()["scopes"]) == (False, ["me", "items"])


@pytest.mark.parametrize("username", ["nobody-at-all", "a" * 5000, "alice%00", "%00", " alice"])
def test_patching_no_such_user_is_404(client, username):
    response = client.patch(f"/users/{username}", headers=admin_token(), json={"disabled": True})
    assert (response.status_code, response.json()) == (404, {"detail": "No such user"})


def test_a_username_in_another_case_names_the_same_user(client):
    name = new_user()
    response = client.patch(f"/users/{name.upper()}", headers=admin_token(), json={"scopes": ["me"]})
    assert (response.status_code, response.json()["username"]) == (200, name)


PATCH_BODIES = [
    pytest.param({"disabled": None, "scopes": None}, "disabled", id="all-null"),
    pytest.param({"disabled": "yes"}, "disabled", id="string-for-a-boolean"),
    pytest.param({"disabled": 1}, "disabled", id="number-for-a-boolean"),
    pytest.param({"scopes": ["root"]}, "root", id="unknown-scope"),
    pytest.param({"scopes": "admin"}, "scopes", id="scopes-as-a-string"),
    pytest.param({"scopes": ["me"] * 10_000}, "", id="huge-list"),
    pytest.param({"username": "bob"}, "username", id="rename"),
    pytest.param({"hashed_password": "x"}, "hashed_password", id="hash"),
    pytest.param([True], "", id="array"),
]


@pytest.mark.parametrize(("body", "named"), PATCH_BODIES)
def test_patch_refuses_hostile_bodies(client, body, named):
    response = client.patch("/users/alice", headers=admin_token(), json=body)
    assert 400 <= response.status_code < 500, response.text
    assert named in response.text
    alice = asyncio.run(user_store.get("alice"))
    assert (alice.disabled, alice.scopes) == (False, ("me", "items"))


def test_an_admin_sees_when_a_password_last_changed(client):
    name = new_user()
    token = login(client, name, OWN_PASSWORD).json()["access_token"]
    change = {"current_password": OWN_PASSWORD, "new_password": STRONG}
    assert client.post("/users/me/password", headers=bearer(token), json=change).status_code == 204
    listed, offset = [], 0
    while offset is not None:
        page = client.get("/users", headers=admin_token(), params={"offset": offset, "limit": 100}).json()
        listed, offset = listed + page["users"], page["next_offset"]
    [shown] = [user for user in listed if user["username"] == name]
    assert shown["password_changed_at"] == pytest.approx(time.time(), abs=5)
    assert shown["created_at"] <= shown["password_changed_at"]
