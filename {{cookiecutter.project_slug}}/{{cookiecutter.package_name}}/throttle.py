"""Login throttling, decided before any password is hashed.

Failed logins are counted per username and client address (client_address.py), and per client
address. Past a limit (LOGIN_FAILURES_PER_USER, LOGIN_FAILURES_PER_ADDRESS) each further failure
makes the next attempt wait, LOGIN_WAIT_SECONDS at first, doubling up to LOGIN_MAX_WAIT_SECONDS:
an attempt that comes sooner gets 429 with Retry-After, and nothing is hashed, even for the right
password. A success clears the count of its username and address. A count starts again
LOGIN_FAILURE_WINDOW_SECONDS after its first attempt, unless a wait is still running. Failures
from one address never hold back the same username at another address, so nobody can lock a
user out from elsewhere.

A password check in flight counts as a failure until it is known not to be one: an attacker who
fires 50 attempts at once gets no more checks than one who sends them one by one. An address may
have at most LOGIN_CHECKS_PER_ADDRESS checks in flight, so it cannot fill the hashing queue the
logins of other addresses wait in.

The counters live in the chosen backend's store (throttle_store.py): memory with the fake DB, the
database with SQL, so every worker and replica counts together. Keys are keyed digests: neither
usernames nor addresses are stored readably, and any username fits.

Other password checks (the current password of a password change) count the same way:

    async with throttle.attempt(username, address) as attempt:  # raises Throttled (429) first
        if not await verify_password_in_thread(password, user.hashed_password):
            attempt.failed()
            raise ...
        attempt.succeeded()

or, after a check made outside `attempt`, `await throttle.failed(username, address)`; the
address is `client_address.of_request(request)`.

New accounts (sign-up, the admin route) are throttled per address the same way, each one
counting as a failure does: ACCOUNTS_PER_ADDRESS within the window, then doubling waits, and one
at a time, so a script cannot fill the hashing queue with sign-ups (`account_creation`).
"""

import hashlib
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal, NamedTuple

import msgspec

from .backend import throttle_store
from .settings import Settings, settings
from .stores import ThrottleCounter, ThrottleStore

EMPTY = ThrottleCounter()
FORGET_INTERVAL_SECONDS = 60  # how often each process deletes counters that count nothing any more
MAX_KNOWN_BLOCKS = 10_000


class Throttled(Exception):
    """The attempt is refused before any password check: 429 with Retry-After."""

    def __init__(self, retry_after: float, description: str) -> None:
        super().__init__(description)
        self.retry_after = max(1, math.ceil(retry_after))
        self.description = description


class Rule(NamedTuple):
    failures: int  # failures before each further one makes the next attempt wait
    in_flight: int | None  # checks in flight at once; None: only the failure count limits them


class Attempt:
    """What the caller found: set `failed()` or `succeeded()` before leaving `attempt()`;
    neither (an error, or no check made) counts nothing."""

    outcome: Literal["failed", "succeeded"] | None = None

    def failed(self) -> None:
        self.outcome = "failed"

    def succeeded(self) -> None:
        self.outcome = "succeeded"


class LoginThrottle:
    def __init__(self, store: ThrottleStore, settings: Settings) -> None:
        self.store = store
        self.window = settings.login_failure_window_seconds
        self.first_wait = settings.login_wait_seconds
        self.max_wait = settings.login_max_wait_seconds
        self.user_rule = Rule(settings.login_failures_per_user, None)
        self.address_rule = Rule(settings.login_failures_per_address, settings.login_checks_per_address)
        self.creation_rule = Rule(settings.accounts_per_address, 1)
        self._key = settings.secret_key.encode()[:64]  # blake2b takes at most 64 bytes of key
        # Waits this process has seen, so a flood of refused attempts costs no store round trip.
        self.known_blocks: dict[str, float] = {}
        self.next_forget = 0.0
        self.clock = time.time  # tests replace it

    def rules(self, username: str, address: str) -> dict[str, Rule]:
        """The keys an attempt counts under, with their limits: the user at that address, the address."""
        return {
            self.digest("user", username, address): self.user_rule,
            self.digest("address", address): self.address_rule,
        }

    def digest(self, *parts: str) -> str:
        data = "\0".join(parts).encode("utf-8", "surrogatepass")
        return hashlib.blake2b(data, key=self._key, digest_size=16).hexdigest()

    @asynccontextmanager
    async def attempt(self, username: str, address: str) -> AsyncIterator[Attempt]:
        rules = self.rules(username, address)
        await self.admit(rules)
        attempt = Attempt()
        try:
            yield attempt
        finally:
            await self.settle(rules, attempt.outcome, admitted=True)

    @asynccontextmanager
    async def account_creation(self, address: str) -> AsyncIterator[None]:
        """One new account from `address`: Throttled first if it made too many already."""
        rules = {self.digest("accounts", address): self.creation_rule}
        await self.admit(rules)
        try:
            yield
        finally:  # made, refused or failed: every attempt counts
            await self.settle(rules, "failed", admitted=True)

    async def failed(self, username: str, address: str) -> None:
        """Count one failed password check made without `attempt()`."""
        await self.settle(self.rules(username, address), "failed", admitted=False)

    async def admit(self, rules: dict[str, Rule]) -> None:
        now = self.clock()
        await self.forget_old(now)
        for key in rules:
            if self.known_blocks.get(key, 0.0) > now:
                raise self.blocked(self.known_blocks[key] - now)
        refusal: Throttled | None = None

        def change(found: dict[str, ThrottleCounter]) -> dict[str, ThrottleCounter | None]:
            nonlocal refusal
            counters = {key: self.current(found.get(key, EMPTY), now) for key in rules}
            for key, counter in counters.items():
                refusal = refusal or self.refusal(key, counter, rules[key], now)
            if refusal:
                return {}
            return {key: msgspec.structs.replace(c, in_flight=c.in_flight + 1) for key, c in counters.items()}

        await self.store.update(rules, change)
        if refusal:
            raise refusal

    async def settle(self, rules: dict[str, Rule], outcome: str | None, admitted: bool) -> None:
        now = self.clock()

        def change(found: dict[str, ThrottleCounter]) -> dict[str, ThrottleCounter | None]:
            settled = {}
            for key, rule in rules.items():
                counter = found.get(key, EMPTY)
                if admitted:
                    counter = msgspec.structs.replace(counter, in_flight=max(0, counter.in_flight - 1))
                if outcome == "failed":
                    settled[key] = self.count_failure(key, counter, rule, now)
                elif outcome == "succeeded" and rule is self.user_rule:
                    # The user's count at this address starts again (other checks may still be in flight).
                    self.known_blocks.pop(key, None)
                    settled[key] = ThrottleCounter(in_flight=counter.in_flight, window_start=now)
                else:
                    settled[key] = counter
            return settled

        await self.store.update(rules, change)

    def current(self, counter: ThrottleCounter, now: float) -> ThrottleCounter:
        """The counter, started again if its window is over and it holds no wait."""
        if now >= counter.window_start + self.window and now >= counter.blocked_until:
            return ThrottleCounter(in_flight=counter.in_flight, window_start=now)
        return counter

    def refusal(self, key: str, counter: ThrottleCounter, rule: Rule, now: float) -> Throttled | None:
        if counter.blocked_until > now:
            self.remember_block(key, counter.blocked_until)
            return self.blocked(counter.blocked_until - now)
        # Checks in flight count as failures: one more would pass the limit, or the address has
        # as many checks running as it may. Their outcome decides; ask again shortly.
        at_limit = counter.in_flight and counter.failures + counter.in_flight >= rule.failures
        if at_limit or (rule.in_flight is not None and counter.in_flight >= rule.in_flight):
            return Throttled(self.first_wait, "Too many attempts at once: try again shortly")
        return None

    def count_failure(self, key: str, counter: ThrottleCounter, rule: Rule, now: float) -> ThrottleCounter:
        failures = counter.failures + 1
        blocked_until = counter.blocked_until
        if failures >= rule.failures:
            past_limit = min(failures - rule.failures, 64)  # 2**64 seconds is past any cap already
            blocked_until = max(blocked_until, now + min(self.first_wait * 2**past_limit, self.max_wait))
            self.remember_block(key, blocked_until)
        return msgspec.structs.replace(counter, failures=failures, blocked_until=blocked_until)

    def blocked(self, seconds: float) -> Throttled:
        return Throttled(seconds, f"Too many attempts: try again in {max(1, math.ceil(seconds))} seconds")

    def remember_block(self, key: str, until: float) -> None:
        if len(self.known_blocks) >= MAX_KNOWN_BLOCKS:
            self.known_blocks.pop(next(iter(self.known_blocks)))  # the oldest entry
        self.known_blocks[key] = until

    async def forget_old(self, now: float) -> None:
        if now < self.next_forget:
            return
        self.next_forget = now + FORGET_INTERVAL_SECONDS
        self.known_blocks = {key: until for key, until in self.known_blocks.items() if until > now}
        await self.store.forget(started_before=now - self.window, now=now)


login_throttle = LoginThrottle(throttle_store, settings)
attempt = login_throttle.attempt
account_creation = login_throttle.account_creation
failed = login_throttle.failed
