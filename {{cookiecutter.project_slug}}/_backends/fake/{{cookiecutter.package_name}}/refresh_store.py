"""Where refresh tokens live between uses: issued, spent (rotated) or revoked, by login family.

This in-memory store holds for one process only: with several workers or replicas each would
see a different store. Generate the project with `database=sqlite` (one machine, several
workers) or `database=postgresql` (several machines) for a store they share.
"""

import time

import msgspec

from .stores import RefreshRecord, RefreshStore


class InMemoryRefreshStore:
    def __init__(self) -> None:
        self._records: dict[str, RefreshRecord] = {}

    async def add(self, record: RefreshRecord) -> None:
        self._forget_expired()
        self._records[record.jti] = record

    async def rotate(self, jti: str, successor: RefreshRecord) -> bool:
        # No await between the check and the change: no other request can run in between.
        record = self._records.get(jti)
        if record is None or record.state != "active":
            return False
        spent = msgspec.structs.replace(record, state="spent", spent_at=time.time(), replaced_by=successor.jti)
        self._records[jti] = spent
        self._records[successor.jti] = successor
        return True

    async def successor_spent_since(self, jti: str, since: float) -> RefreshRecord | None:
        record = self._records.get(jti)
        if record is None or record.state != "spent" or record.spent_at < since:
            return None
        successor = self._records.get(record.replaced_by)
        return successor if successor is not None and successor.state == "active" else None

    async def revoke_family(self, family: str) -> None:
        self._revoke_where(lambda record: record.family == family)

    async def revoke_user(self, user_id: str) -> None:
        self._revoke_where(lambda record: record.user_id == user_id)

    def _revoke_where(self, matches) -> None:
        for jti, record in self._records.items():
            if matches(record):
                self._records[jti] = msgspec.structs.replace(record, state="revoked")

    def _forget_expired(self) -> None:
        # An expired token is refused by its signature check already: its record can go.
        now = time.time()
        for jti in [jti for jti, record in self._records.items() if record.expires_at < now]:
            del self._records[jti]


refresh_store: RefreshStore = InMemoryRefreshStore()
