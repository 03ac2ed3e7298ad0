"""The verified-token cache: a hit still checks expiry, kind and the user; it cannot be poisoned."""

import time

import msgspec
import pytest

from {{ cookiecutter.package_name }}.sessions import access_tokens
from {{ cookiecutter.package_name }}.token_cache import VerifiedTokenCache
from {{ cookiecutter.package_name }}.tokens import InvalidToken, decode_access_token

from .conftest import bearer, make_token, uid_of


def test_a_used_token_is_cached_and_served_from_the_cache(client, token):
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    assert token in access_tokens._claims


def test_a_forged_copy_of_a_cached_token_is_still_refused(client, token):
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    header, payload, signature = token.split(".")
    forged_payload = make_token(sub="mallory").split(".")[1]
    for forged in (f"{header}.{forged_payload}.{signature}", f"{header}.{payload}.{signature[:-2]}AA", token + " "):
        assert client.get("/users/me", headers=bearer(forged)).status_code == 401
        assert forged not in access_tokens._claims


def test_failed_tokens_are_never_cached():
    cache = VerifiedTokenCache(decode_access_token)
    for bad in ("garbage", make_token(key="wrong-key-" + "x" * 40), make_token(exp=1)):
        with pytest.raises(InvalidToken):
            cache.verify(bad)
    assert len(cache) == 0


def test_a_cached_token_still_expires():
    token = make_token(exp=int(time.time()) + 2)
    cache = VerifiedTokenCache(decode_access_token)
    assert cache.verify(token).sub == uid_of("alice")
    claims = cache._claims[token]
    cache._claims[token] = msgspec.structs.replace(claims, exp=int(time.time()) - 1)  # time passes
    with pytest.raises(InvalidToken):
        cache.verify(token)
    assert token not in cache._claims


def test_a_cached_token_of_a_user_disabled_since_is_refused(client, token, disable_alice):
    assert client.get("/users/me", headers=bearer(token)).status_code == 200
    disable_alice()
    assert client.get("/users/me", headers=bearer(token)).status_code == 401


def test_a_cached_entry_of_another_kind_is_refused():
    token = make_token()
    cache = VerifiedTokenCache(decode_access_token)
    cache.verify(token)
    cache._claims[token] = msgspec.structs.replace(cache._claims[token], type="refresh")
    with pytest.raises(InvalidToken):
        cache.verify(token)


def test_the_cache_is_bounded():
    cache = VerifiedTokenCache(decode_access_token, max_entries=3)
    tokens = [make_token() for _ in range(5)]
    for token in tokens:
        cache.verify(token)
    assert len(cache) == 3
    assert list(cache._claims) == tokens[2:]  # the oldest went first
