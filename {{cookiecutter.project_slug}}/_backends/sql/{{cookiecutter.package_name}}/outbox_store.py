"""The mail outbox (mail.py) in the SQL database (tables.outbox): mails survive a restart, and
the senders of all processes share it. Claiming a mail is a conditional UPDATE, so two senders
never both send one (unless one dies mid-send: then the lease runs out and it is sent again)."""

from sqlalchemy import delete, insert, select, update

from .database import transaction
from .stores import Outbox, OutgoingMail
from .tables import outbox as table


class SqlOutbox:
    async def add(self, mail: OutgoingMail) -> None:
        async with transaction() as connection:
            await connection.execute(
                insert(table).values(
                    id=mail.id,
                    recipient=mail.to,
                    subject=mail.subject,
                    text_body=mail.text,
                    html_body=mail.html,
                    expires_at=mail.expires_at,
                    attempts=mail.attempts,
                    next_attempt_at=mail.next_attempt_at,
                )
            )

    async def claim(self, now: float, lease_seconds: float, limit: int) -> list[OutgoingMail]:
        due = select(table).where(table.c.next_attempt_at <= now).order_by(table.c.next_attempt_at).limit(limit)
        claimed = []
        async with transaction() as connection:
            rows = (await connection.execute(due)).all()
        for row in rows:
            take = (
                update(table)
                .where(table.c.id == row.id, table.c.next_attempt_at == row.next_attempt_at)
                .values(next_attempt_at=now + lease_seconds)
            )
            async with transaction() as connection:
                if (await connection.execute(take)).rowcount == 1:
                    claimed.append(
                        OutgoingMail(
                            row.id,
                            row.recipient,
                            row.subject,
                            row.text_body,
                            row.html_body,
                            row.expires_at,
                            row.attempts,
                            now + lease_seconds,
                        )
                    )
        return claimed

    async def retry_at(self, mail_id: str, attempts: int, when: float) -> None:
        async with transaction() as connection:
            await connection.execute(
                update(table).where(table.c.id == mail_id).values(attempts=attempts, next_attempt_at=when)
            )

    async def remove(self, mail_id: str) -> None:
        async with transaction() as connection:
            await connection.execute(delete(table).where(table.c.id == mail_id))


outbox: Outbox = SqlOutbox()
