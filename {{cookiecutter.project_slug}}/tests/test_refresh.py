"""Refresh tokens: the HttpOnly cookie, rotation, reuse detection, logout, cross-site refusal."""

import asyncio

import msgspec
import pytest

from {{ cookiecutter.package_name }} import sessions
from {{ cookiecutter.package_name }}.routers import auth
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import async_client_at, bearer, login, make_token


def refresh_cookie_of(response) -> str:
    """The refresh token set by a response, read from its Set-Cookie header."""
    name, _, rest = response.headers["set-cookie"].partition("=")
    assert name == "refresh_token"
    return rest.split(";")[0]


def refresh(client, token: str | None, **headers):
    if token is not None:
        headers["Cookie"] = f"refresh_token={token}"
    return client.post("/auth/refresh", headers=headers)


def test_login_sets_a_strict_httponly_cookie_scoped_to_auth(client):
    cookie = login(client).headers["set-cookie"]
    attributes = [part.strip() for part in cookie.split(";")]
    assert "HttpOnly" in attributes
    assert "SameSite=Strict" in attributes
    assert "Path=/auth" in attributes
    assert f"Max-Age={settings.refresh_token_expire_days * 86400}" in attributes
    assert "Secure" in attributes


def test_cookie_is_not_secure_only_when_settings_say_local_development(client, monkeypatch):
    monkeypatch.setattr(auth, "settings", msgspec.structs.replace(auth.settings, cookie_secure=False))
    attributes = [part.strip() for part in login(client).headers["set-cookie"].split(";")]
    assert "Secure" not in attributes
    assert "HttpOnly" in attributes


def test_refresh_returns_a_working_access_token_and_rotates_the_cookie(client):
    first = refresh_cookie_of(login(client))
    response = refresh(client, first)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.json()["token_type"] == "bearer"
    assert client.get("/users/me", headers=bearer(response.json()["access_token"])).status_code == 200
    second = refresh_cookie_of(response)
    assert second != first
    assert refresh(client, second).status_code == 200


@pytest.fixture
def retry_window(monkeypatch):
    """Returns a function that sets REFRESH_REUSE_GRACE_SECONDS for the test."""
    return lambda seconds: monkeypatch.setattr(
        sessions, "settings", msgspec.structs.replace(sessions.settings, refresh_reuse_grace_seconds=seconds)
    )


def test_reusing_a_spent_token_revokes_the_whole_family(client, retry_window):
    retry_window(0)
    first = refresh_cookie_of(login(client))
    second = refresh_cookie_of(refresh(client, first))
    replay = refresh(client, first)
    assert replay.status_code == 401
    assert "already used" in replay.json()["detail"]
    assert refresh(client, second).status_code == 401  # the thief's or the user's copy: both dead


def test_reuse_in_one_login_leaves_other_logins_alone(client):
    stolen = refresh_cookie_of(login(client))
    other_device = refresh_cookie_of(login(client))
    refresh(client, refresh_cookie_of(refresh(client, stolen)))
    refresh(client, stolen)  # two generations old: reuse
    assert refresh(client, other_device).status_code == 200


# --- The retry window (REFRESH_REUSE_GRACE_SECONDS) -----------------------------------------------


def test_a_retry_within_the_window_gets_the_same_successor(client):
    first = refresh_cookie_of(login(client))
    answered = refresh(client, first)
    retried = refresh(client, first)  # the first answer was lost, or another tab refreshed too
    assert retried.status_code == 200
    assert refresh_cookie_of(retried) == refresh_cookie_of(answered)
    assert client.get("/users/me", headers=bearer(retried.json()["access_token"])).status_code == 200
    assert refresh(client, refresh_cookie_of(retried)).status_code == 200  # the live token, still one


def test_refreshes_at_the_same_moment_get_one_successor(client):
    first = refresh_cookie_of(login(client))

    async def at_once() -> list:
        async with async_client_at(client._transport.client[0]) as tab:
            cookie = {"Cookie": f"refresh_token={first}"}
            return await asyncio.gather(*(tab.post("/auth/refresh", headers=cookie) for _ in range(5)))

    responses = asyncio.run(at_once())
    assert [response.status_code for response in responses] == [200] * 5
    assert len({refresh_cookie_of(response) for response in responses}) == 1


def test_a_token_two_generations_old_is_reuse_even_within_the_window(client):
    first = refresh_cookie_of(login(client))
    second = refresh_cookie_of(refresh(client, first))
    third = refresh_cookie_of(refresh(client, second))
    assert refresh(client, first).status_code == 401
    assert refresh(client, third).status_code == 401  # the family is revoked
    assert refresh(client, second).status_code == 401


@pytest.mark.parametrize("seconds", [0, 1e-6], ids=["window-off", "window-over"])
def test_a_retry_outside_the_window_is_reuse(client, retry_window, seconds):
    retry_window(seconds)
    first = refresh_cookie_of(login(client))
    second = refresh_cookie_of(refresh(client, first))
    assert refresh(client, first).status_code == 401
    assert refresh(client, second).status_code == 401


def test_the_window_never_revives_a_revoked_family(client):
    first = refresh_cookie_of(login(client))
    second = refresh_cookie_of(refresh(client, first))
    assert client.post("/auth/logout", headers={"Cookie": f"refresh_token={second}"}).status_code == 204
    assert refresh(client, first).status_code == 401


def test_logout_revokes_the_family_and_clears_the_cookie(client):
    token = refresh_cookie_of(login(client))
    rotated = refresh_cookie_of(refresh(client, token))
    response = client.post("/auth/logout", headers={"Cookie": f"refresh_token={rotated}"})
    assert response.status_code == 204
    cleared = [part.strip() for part in response.headers["set-cookie"].split(";")]
    assert cleared[0] == "refresh_token="
    assert "Max-Age=0" in cleared
    assert "Path=/auth" in cleared
    assert refresh(client, rotated).status_code == 401


def test_logout_without_a_cookie_still_succeeds(client):
    assert client.post("/auth/logout").status_code == 204


def test_disabled_user_cannot_refresh(client, disable_alice):
    token = refresh_cookie_of(login(client))
    disable_alice()
    assert refresh(client, token).status_code == 401


@pytest.mark.parametrize(
    ("cookie", "detail"),
    [
        (None, "Missing refresh token cookie"),
        ("", "Missing refresh token cookie"),
        ("not-a-jwt", "Invalid or expired refresh token"),
        ("a.b.c", "Invalid or expired refresh token"),
    ],
)
def test_missing_or_malformed_cookie(client, cookie, detail):
    response = refresh(client, cookie)
    assert response.status_code == 401
    assert response.json() == {"detail": detail}


def test_expired_forged_and_access_tokens_are_not_refresh_tokens(client):
    refresh_claims = {"type": "refresh", "fam": "some-family"}
    for token in (
        make_token(**refresh_claims, exp=1_000_000_000),
        make_token(**refresh_claims, key="not-the-service-key-" + "x" * 40),
        make_token(),  # an access token
        login(client).json()["access_token"],
    ):
        response = refresh(client, token)
        assert response.status_code == 401
        assert response.json() == {"detail": "Invalid or expired refresh token"}


def test_a_validly_signed_token_the_store_never_issued_is_refused(client):
    assert refresh(client, make_token(type="refresh", fam="unknown-family")).status_code == 401


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
def test_cross_site_origin_is_refused(client, path):
    token = refresh_cookie_of(login(client))
    for origin in ("https://evil.example", "null", "https://testserver.evil.example"):
        response = client.post(path, headers={"Cookie": f"refresh_token={token}", "Origin": origin})
        assert response.status_code == 403
        assert response.json() == {"detail": "Origin not allowed"}
    assert refresh(client, token).status_code == 200  # the refused calls spent nothing


@pytest.mark.parametrize("origin", ["https://testserver", "https://app.example.com"])
def test_own_and_allowed_origins_are_accepted(client, origin):
    token = refresh_cookie_of(login(client))
    assert refresh(client, token, Origin=origin).status_code == 200
