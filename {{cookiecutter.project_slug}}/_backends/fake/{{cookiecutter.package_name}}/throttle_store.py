"""Login-throttling counters (throttle.py) in memory.

Like the fake DB's refresh tokens, they hold for one process only: with several workers each
counts on its own, and an attacker gets each worker's limits. Generate the project with
`database=sqlite` or `database=postgresql` to count in the database every process shares.
"""

from collections.abc import Collection

from .stores import CounterChange, ThrottleCounter, ThrottleStore


class InMemoryThrottleStore:
    def __init__(self) -> None:
        self._counters: dict[str, ThrottleCounter] = {}

    async def update(self, keys: Collection[str], change: CounterChange) -> None:
        # No await between the read and the write: no other request can run in between.
        found = {key: self._counters[key] for key in keys if key in self._counters}
        for key, counter in change(found).items():
            if counter is None:
                self._counters.pop(key, None)
            else:
                self._counters[key] = counter

    async def forget(self, started_before: float, now: float) -> None:
        for key, counter in list(self._counters.items()):
            if counter.window_start < started_before and counter.blocked_until <= now:
                del self._counters[key]


throttle_store: ThrottleStore = InMemoryThrottleStore()
