"""The mail outbox (mail.py) in memory: a mail not sent when the process stops is lost (its link
can be asked for again). The SQL backends keep the outbox in the database."""

import msgspec

from .stores import Outbox, OutgoingMail


class InMemoryOutbox:
    def __init__(self) -> None:
        self._mails: dict[str, OutgoingMail] = {}

    async def add(self, mail: OutgoingMail) -> None:
        self._mails[mail.id] = mail

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[OutgoingMail]:
        due = [mail for mail in self._mails.values() if mail.next_attempt_at <= now][:limit]
        for mail in due:
            self._mails[mail.id] = msgspec.structs.replace(mail, next_attempt_at=now + lease_seconds)
        return due

    async def retry_at(self, mail_id: str, attempts: int, when: float) -> None:
        if mail_id in self._mails:
            mail = self._mails[mail_id]
            self._mails[mail_id] = msgspec.structs.replace(mail, attempts=attempts, next_attempt_at=when)

    async def remove(self, mail_id: str) -> None:
        self._mails.pop(mail_id, None)


outbox: Outbox = InMemoryOutbox()
