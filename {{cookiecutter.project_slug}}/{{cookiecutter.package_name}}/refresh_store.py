"""Where refresh tokens live between uses: issued, spent (rotated) or revoked, by login family.

The in-memory store holds for one process only. With several workers or replicas, each would
see a different store, so put a shared one (Redis is the usual choice) behind the same interface
and assign it to `refresh_store` at the bottom of this file. `spend` must then be atomic
(GETSET, or a short Lua script), so two requests can never both spend one token.
"""

import time
from typing import Literal, Protocol

import msgspec

State = Literal["active", "spent", "revoked"]


class RefreshRecord(msgspec.Struct):
    jti: str
    family: str  # every token issued from one login shares it
    username: str
    expires_at: int
    state: State = "active"


class RefreshStore(Protocol):
    async def add(self, record: RefreshRecord) -> None: ...

    async def spend(self, jti: str) -> RefreshRecord | None:
        """Mark the token spent; return its record as it was before (None if unknown)."""
        ...

    async def revoke_family(self, family: str) -> None: ...


class InMemoryRefreshStore:
    def __init__(self) -> None:
        self._records: dict[str, RefreshRecord] = {}

    async def add(self, record: RefreshRecord) -> None:
        self._forget_expired()
        self._records[record.jti] = record

    async def spend(self, jti: str) -> RefreshRecord | None:
        record = self._records.get(jti)
        if record is not None and record.state == "active":
            self._records[jti] = msgspec.structs.replace(record, state="spent")
        return record

    async def revoke_family(self, family: str) -> None:
        for jti, record in self._records.items():
            if record.family == family:
                self._records[jti] = msgspec.structs.replace(record, state="revoked")

    def _forget_expired(self) -> None:
        # An expired token is refused by its signature check already: its record can go.
        now = time.time()
        for jti in [jti for jti, record in self._records.items() if record.expires_at < now]:
            del self._records[jti]


refresh_store: RefreshStore = InMemoryRefreshStore()
