"""Password hashing: any length and content, off the event loop, same cost for unknown users."""

import asyncio
import os
import threading

import httpx
import pytest

from {{ cookiecutter.package_name }} import hashing, passwords
from {{ cookiecutter.package_name }}.hashing import hash_password, password_context, verify_password
from {{ cookiecutter.package_name }}.main import app

from .conftest import async_client_at, login


@pytest.mark.parametrize("password", ["secret", "p" * 72 + "tail", "x" * 1000, "nul\x00byte", "pässwörd ✓ 密码"])
def test_any_password_round_trips(password):
    hashed = hash_password(password)
    assert verify_password(password, hashed)
    assert not verify_password(password + "!", hashed)


def test_no_truncation_at_bcrypt_72_byte_limit():
    prefix = "a" * 72
    hashed = hash_password(prefix + "one")
    assert not verify_password(prefix + "two", hashed)
    assert not verify_password(prefix, hashed)


def test_plain_bcrypt_hashes_still_verify():
    legacy = password_context.handler("bcrypt").using(rounds=4).hash("secret")
    assert verify_password("secret", legacy)
    assert password_context.needs_update(legacy)  # so it can be re-hashed on next login


def test_beyond_passlib_limit_is_a_wrong_password_not_an_error():
    assert not verify_password("p" * 5000, hash_password("secret"))


def test_unknown_user_costs_a_real_hash_check(client, monkeypatch):
    calls = []
    real_dummy_verify = password_context.dummy_verify
    monkeypatch.setattr(password_context, "dummy_verify", lambda: calls.append(1) or real_dummy_verify())
    assert login(client, "nobody", "secret").status_code == 401
    assert calls == [1]


def test_hashing_runs_in_a_pool_sized_to_this_process_cpus(monkeypatch):
    threads = []
    real_verify = hashing.verify_password

    def spy(*args):
        threads.append(threading.current_thread())
        return real_verify(*args)

    monkeypatch.setattr(hashing, "verify_password", spy)
    assert not asyncio.run(hashing.verify_password_in_thread("x", None))
    assert threads[0].name.startswith("password-hashing")
    # Lower priority than the event loop, so a burst of logins cannot starve other requests.
    assert os.getpriority(os.PRIO_PROCESS, threads[0].native_id) == hashing.HASHING_NICENESS
    assert hashing._hashing_threads._max_workers == len(os.sched_getaffinity(0))


def test_other_requests_are_served_while_a_login_hashes():
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
            slow_login = asyncio.create_task(
                client.post("/auth/token", data={"username": "alice", "password": "secret"})
            )
            await asyncio.sleep(0.02)  # let the login reach its hash check
            assert (await client.get("/health")).status_code == 200
            assert not slow_login.done(), "the health check waited for bcrypt"
            assert (await slow_login).status_code == 200

    asyncio.run(scenario())


def test_a_full_queue_of_password_checks_is_503_at_once_and_protected_routes_carry_on(monkeypatch, token):
    """Two logins hold every place (limit 2 here): a third gets 503 with Retry-After without
    waiting, while /users/me answers as usual."""
    release = threading.Event()
    real_verify = hashing.verify_password
    monkeypatch.setattr(hashing, "verify_password", lambda *args: release.wait(30) and real_verify(*args))
    monkeypatch.setattr(hashing.password_checks, "limit", 2)

    async def scenario() -> None:
        clients = [async_client_at(address) for address in ("10.1.0.1", "10.1.0.2", "10.1.0.3")]
        form = {"username": "alice", "password": "secret"}
        waiting = [asyncio.create_task(client.post("/auth/token", data=form)) for client in clients[:2]]
        while hashing.password_checks.pending < 2:
            await asyncio.sleep(0.01)
        refused = await clients[2].post("/auth/token", data=form)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        me = await clients[2].get("/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        release.set()
        assert [response.status_code for response in await asyncio.gather(*waiting)] == [200, 200]

    asyncio.run(scenario())


# --- The rules for new passwords ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("", "password_too_short"),
        ("seven77", "password_too_short"),
        ("x" * 4097, "password_too_long"),
        ("password", "password_too_common"),
        ("Sunshine1", "password_too_common"),
        ("QWERTYUIOP", "password_too_common"),
    ],
)
def test_a_password_breaking_a_rule_names_it(password, rule):
    with pytest.raises(passwords.WeakPassword) as refused:
        passwords.check_password(password)
    assert refused.value.rule == rule


@pytest.mark.parametrize("password", ["eight888x", "x" * 4096, "correct horse battery staple", "pässwörd ✓ 密码 1"])
def test_a_password_within_the_rules_passes(password):
    passwords.check_password(password)


def test_the_common_passwords_list_is_the_30000_of_its_named_source():
    common = passwords.common_passwords()
    assert len(common) == 30_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= common
    header = passwords.COMMON_PASSWORDS_FILE.read_text().split("\n", 1)[0]
    assert "zxcvbn" in header
    assert "MIT" in passwords.COMMON_PASSWORDS_FILE.read_text()[:2000]
