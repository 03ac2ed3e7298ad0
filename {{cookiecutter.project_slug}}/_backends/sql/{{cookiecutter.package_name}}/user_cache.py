"""A per-process memory of user records, so protected routes skip a database round trip.

A record is used for at most `seconds` after it was read. Changes made by this process replace
its entry at once; changes made elsewhere (another worker, replica or the command line) reach
this process within `seconds`: that is the staleness bound USER_CACHE_SECONDS sets.
Logins, refreshes and password checks read the database, never this.
"""

import time

from .models import UserInDB


class UserCache:
    def __init__(self, seconds: float, max_entries: int = 10_000) -> None:
        self._seconds = seconds
        self._max_entries = max_entries
        self._entries: dict[str, tuple[float, UserInDB]] = {}

    def get(self, uid: str) -> UserInDB | None:
        entry = self._entries.get(uid)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    def put(self, user: UserInDB) -> None:
        if len(self._entries) >= self._max_entries and user.uid not in self._entries:
            self._entries.pop(next(iter(self._entries)))  # the oldest entry
        self._entries[user.uid] = (time.monotonic() + self._seconds, user)

    def forget(self, uid: str) -> None:
        self._entries.pop(uid, None)
