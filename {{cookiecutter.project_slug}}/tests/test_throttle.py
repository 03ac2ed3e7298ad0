"""Login throttling (throttle.py): decided before any password check, counted per username and
address and per address, in-flight checks included. Password checks are counted through the
code (a spy on hashing.verify_password), never by the clock; waits run on a clock the tests set."""

import asyncio
import threading
import time

import msgspec
import pytest

from {{ cookiecutter.package_name }} import hashing, main, throttle
from {{ cookiecutter.package_name }}.settings import settings

from .conftest import ADDRESSES, async_client_at, client_at, login

PER_USER = settings.login_failures_per_user
PER_ADDRESS = settings.login_failures_per_address


def spy_on_checks(monkeypatch, verify) -> list[str]:
    """Password checks go through `verify`; returns the list of the passwords checked."""
    made = []

    def counted(password, hashed):
        made.append(password)
        return verify(password, hashed)

    monkeypatch.setattr(hashing, "verify_password", counted)
    return made


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """The password of every check made (bcrypt still runs)."""
    return spy_on_checks(monkeypatch, hashing.verify_password)


@pytest.fixture
def fast_checks(monkeypatch) -> list[str]:
    """The password of every check made; "secret" is right for everyone, and nothing is hashed."""
    return spy_on_checks(monkeypatch, lambda password, hashed: password == "secret")


@pytest.fixture
def clock(monkeypatch) -> list[float]:
    """The throttle's time: [now], which a test moves forward."""
    now = [1_000_000_000.0]
    monkeypatch.setattr(throttle.login_throttle, "clock", lambda: now[0])
    return now


def assert_throttled(response) -> int:
    """The answer is 429 with an OAuth2 error body and Retry-After; returns its seconds."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert set(body) == {"error", "error_description", "detail"}
    assert body["error"] == "slow_down"
    assert body["detail"] == body["error_description"]
    return int(response.headers["retry-after"])


def fail(client, times: int, username: str = "alice") -> None:
    for _ in range(times):
        assert login(client, username, "wrong").status_code == 401


def test_a_refusal_is_held_for_the_refusal_delay(client, fast_checks, monkeypatch):
    monkeypatch.setattr(main, "settings", msgspec.structs.replace(settings, login_refusal_delay_seconds=0.3))
    fail(client, PER_USER)
    started = time.monotonic()
    assert_throttled(login(client))
    assert time.monotonic() - started >= 0.3


def test_past_the_limit_429_without_a_password_check(client, checks):
    fail(client, PER_USER)
    assert len(checks) == PER_USER
    assert assert_throttled(login(client, "alice", "wrong")) >= 1
    assert len(checks) == PER_USER


def test_a_throttled_user_is_refused_even_with_the_right_password(client, checks):
    fail(client, PER_USER)
    assert_throttled(login(client))
    assert len(checks) == PER_USER


def test_another_address_is_not_held_back(client):
    fail(client, PER_USER)
    assert_throttled(login(client))
    assert login(client_at(next(ADDRESSES))).status_code == 200


def test_a_success_starts_the_count_again(client):
    fail(client, PER_USER - 1)
    assert login(client).status_code == 200
    fail(client, PER_USER - 1)
    assert login(client).status_code == 200


def test_unknown_usernames_count_too(client, checks):
    fail(client, PER_USER, username="nobody")
    assert_throttled(login(client, "nobody", "wrong"))
    assert len(checks) == PER_USER


def test_the_wait_grows_with_each_failure_up_to_the_cap(client, clock, fast_checks, monkeypatch):
    monkeypatch.setattr(throttle.login_throttle, "max_wait", 5)
    fail(client, PER_USER)
    waits = []
    for _ in range(5):
        wait = assert_throttled(login(client))
        waits.append(wait)
        clock[0] += wait - 0.5
        assert_throttled(login(client))  # not yet
        clock[0] += 0.5
        fail(client, 1)  # one attempt once the wait is over; it fails, and the next wait is longer
    assert waits == [1, 2, 4, 5, 5]
    assert len(fast_checks) == PER_USER + 5


def test_the_count_starts_again_after_the_window(client, clock, fast_checks):
    fail(client, PER_USER - 1)
    clock[0] += settings.login_failure_window_seconds
    fail(client, PER_USER - 1)
    assert login(client).status_code == 200


def test_an_address_is_throttled_over_every_username(client, fast_checks):
    for number in range(PER_ADDRESS):
        assert login(client, f"user{number}", "wrong").status_code == 401
    assert_throttled(login(client, "someone-else", "wrong"))
    assert_throttled(login(client))  # alice too, from this address
    assert len(fast_checks) == PER_ADDRESS
    assert login(client_at(next(ADDRESSES))).status_code == 200


def test_checks_in_flight_count(monkeypatch):
    """50 attempts at once from one address: no more checks than the limit, never more at once
    than the address may have in flight, the rest refused at once."""
    address = next(ADDRESSES)
    checks, running, most = [], [0], [0]
    lock = threading.Lock()
    real_verify = hashing.verify_password

    def counted(password, hashed):
        with lock:
            checks.append(password)
            running[0] += 1
            most[0] = max(most[0], running[0])
        try:
            return real_verify(password, hashed)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(hashing, "verify_password", counted)

    async def attack() -> list[int]:
        async with async_client_at(address) as client:
            form = {"username": "alice", "password": "wrong"}
            responses = await asyncio.gather(*(client.post("/auth/token", data=form) for _ in range(50)))
        return [response.status_code for response in responses]

    statuses = asyncio.run(attack())
    assert set(statuses) <= {401, 429}
    assert statuses.count(401) == len(checks)
    assert 1 <= len(checks) <= PER_USER
    assert most[0] <= settings.login_checks_per_address


def test_failed_counts_a_check_made_elsewhere(client, checks):
    """What a password change calls when the current password is wrong."""
    address = client._transport.client[0]
    for _ in range(PER_USER):
        asyncio.run(throttle.failed("alice", address))
    assert_throttled(login(client))
    assert checks == []
    assert login(client_at(next(ADDRESSES))).status_code == 200


def test_an_attempt_that_ends_in_an_error_counts_nothing(client, fast_checks, monkeypatch):
    monkeypatch.setattr(hashing.password_checks, "limit", 0)
    for _ in range(PER_USER + 1):
        assert login(client, "alice", "wrong").status_code == 503
    monkeypatch.undo()
    assert login(client).status_code == 200
