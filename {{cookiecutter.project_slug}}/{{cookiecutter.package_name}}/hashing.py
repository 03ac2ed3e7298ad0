"""Password hashing (passlib + bcrypt) on threads of its own, behind a bounded queue.

Every hash and check goes through `password_checks`: logins, sign-ups, admin creates, password
changes. A bcrypt run costs ~0.2 s of CPU; on the event loop it would stall every other request,
and without a bound a flood of them would make every login wait seconds.
"""

import asyncio
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from passlib.context import CryptContext

from . import metrics
from .settings import settings

# bcrypt_sha256 runs HMAC-SHA256 before bcrypt, so passwords past bcrypt's 72-byte limit are
# neither truncated nor refused. Plain bcrypt hashes (imported from elsewhere) still verify.
password_context = CryptContext(schemes=["bcrypt_sha256", "bcrypt"], deprecated="auto")


def hash_password(password: str) -> str:
    return password_context.hash(password)


def verify_password(password: str, hashed_password: str | None) -> bool:
    """Check a password. With no hash (unknown user) it costs the same time and says False."""
    if hashed_password is None:
        password_context.dummy_verify()
        return False
    try:
        return password_context.verify(password, hashed_password)
    except ValueError:  # longer than passlib accepts, or a damaged stored hash
        return False


# One thread per CPU this process may run on: logins queue instead of starving the rest.
_cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
# Niceness of the hashing threads (0-19). While the CPU is saturated, other requests get ~90% of
# it at 10 (~50% at 0); logins wait longer instead. Idle CPU goes to hashing either way.
HASHING_NICENESS = 10


def _lower_thread_priority() -> None:
    if sys.platform == "linux":  # only Linux gives each thread its own nice value
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)


_hashing_threads = ThreadPoolExecutor(
    max_workers=_cpus or 1, thread_name_prefix="password-hashing", initializer=_lower_thread_priority
)


class Overloaded(Exception):
    """Every hashing thread is busy and the queue of checks waiting for one is full: 503."""


class CheckQueue:
    """Bounds the hashes and checks running or waiting. One that would wait behind more than
    PASSWORD_CHECKS_WAITING_PER_CPU per thread is refused at once (503 with Retry-After) instead
    of waiting seconds; nothing else waits for these threads, so no other route slows."""

    def __init__(self, threads: int, waiting_per_thread: int) -> None:
        self.limit = threads * (1 + waiting_per_thread)
        self.pending = 0  # changed only on the event loop: no lock needed

    async def run(self, work, *args):
        if self.pending >= self.limit:
            raise Overloaded
        self.pending += 1
        metrics.password_checks_pending.inc()
        try:
            return await asyncio.get_running_loop().run_in_executor(_hashing_threads, work, *args)
        finally:
            self.pending -= 1
            metrics.password_checks_pending.dec()


password_checks = CheckQueue(_cpus or 1, settings.password_checks_waiting_per_cpu)
metrics.password_checks_limit.set(password_checks.limit)


async def verify_password_in_thread(password: str, hashed_password: str | None) -> bool:
    """verify_password on a hashing thread; Overloaded when too many wait already."""
    return await password_checks.run(verify_password, password, hashed_password)


async def hash_password_in_thread(password: str) -> str:
    """hash_password on a hashing thread; Overloaded when too many wait already."""
    return await password_checks.run(hash_password, password)
