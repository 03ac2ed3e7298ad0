"""Reset and verification tokens (recovery.py) in memory: only their SHA-256, as in SQL. Lost on
restart, like the fake DB's sessions: a link mailed before a restart no longer works."""

from .stores import OneTimeTokenRecord, OneTimeTokenStore


class InMemoryOneTimeTokenStore:
    """No method awaits: each runs whole, as a transaction would."""

    def __init__(self) -> None:
        self._tokens: dict[str, OneTimeTokenRecord] = {}

    async def replace(self, record: OneTimeTokenRecord) -> None:
        await self.void(record.user_id, record.purpose)
        self._tokens[record.digest] = record

    async def take(self, digest: str, purpose: str) -> OneTimeTokenRecord | None:
        record = self._tokens.get(digest)
        if record is None or record.purpose != purpose:
            return None
        return self._tokens.pop(digest)

    async def void(self, user_id: str, purpose: str) -> None:
        for digest, record in list(self._tokens.items()):
            if record.user_id == user_id and record.purpose == purpose:
                del self._tokens[digest]

    async def forget(self, now: float) -> None:
        for digest, record in list(self._tokens.items()):
            if record.expires_at <= now:
                del self._tokens[digest]


one_time_token_store: OneTimeTokenStore = InMemoryOneTimeTokenStore()
