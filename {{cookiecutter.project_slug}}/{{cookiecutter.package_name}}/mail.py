"""Mail: requests put mails in the outbox (outbox_store.py: memory with the fake DB, a table with
SQL) and answer at once; a sender task in each process delivers them over SMTP with aiosmtplib,
retrying with growing waits while the server is down. A mail whose link has expired is dropped
unsent. Log lines name a mail's recipient and subject, never its body (the body holds a token).

With SMTP_HOST empty (development) the sender writes each mail to the log instead, link included:
never leave it empty where real users get mail.

Bodies come from mail_templates/<name>.txt and <name>.html, filled in with str.format (values
going into the HTML are escaped).
"""

import asyncio
import contextlib
import html
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from email.message import EmailMessage
from importlib.resources import files

import aiosmtplib

from .backend import outbox
from .settings import settings
from .stores import OutgoingMail, StoreUnavailable

logger = logging.getLogger(__name__)

TEMPLATES = files(__package__) / "mail_templates"
LEASE_SECONDS = 60  # a claimed mail is retried after this if its sender died while sending
FIRST_RETRY_SECONDS = 2.0
MAX_RETRY_SECONDS = 60.0
POLL_SECONDS = 1.0  # how soon a mail put in the outbox by another process is seen
BATCH = 20

_wake = asyncio.Event()
# What each SMTP delivery runs inside: nothing, or a span once tracing.py calls trace_deliveries
# (this module does not import OpenTelemetry, an optional dependency).
_delivery_context: Callable[[], AbstractContextManager] = contextlib.nullcontext


def trace_deliveries(span: Callable[[], AbstractContextManager]) -> None:
    global _delivery_context
    _delivery_context = span


def render(name: str, **values: str) -> tuple[str, str]:
    """The plain-text and HTML bodies of mail template `name`."""
    text = (TEMPLATES / f"{name}.txt").read_text(encoding="utf-8").format(**values)
    escaped = {key: html.escape(value) for key, value in values.items()}
    return text, (TEMPLATES / f"{name}.html").read_text(encoding="utf-8").format(**escaped)


async def queue(to: str, subject: str, template: str, expires_at: float, **values: str) -> None:
    """Put a mail in the outbox; the sender task delivers it soon after."""
    text, html_body = render(template, **values)
    mail = OutgoingMail(secrets.token_hex(16), to, subject, text, html_body, expires_at, 0, time.time())
    await outbox.add(mail)
    _wake.set()


def message_of(mail: OutgoingMail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


async def deliver(mail: OutgoingMail) -> None:
    if not settings.smtp_host:
        logger.warning("Mail to %s (SMTP_HOST is empty, so it is logged, not sent):\n%s", mail.to, mail.text)
        return
    with _delivery_context():
        await aiosmtplib.send(
            message_of(mail),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            use_tls=settings.smtp_tls == "tls",
            start_tls=settings.smtp_tls == "starttls",
            timeout=10,
        )


async def send_due(now: float) -> None:
    """Deliver the mails that are due; those that fail wait longer each time."""
    for mail in await outbox.claim(now, LEASE_SECONDS, BATCH):
        if mail.expires_at <= now:
            logger.warning("Dropped a mail to %s (%s): its link expired before it could be sent", mail.to, mail.subject)
            await outbox.remove(mail.id)
            continue
        try:
            await deliver(mail)
        except (aiosmtplib.SMTPException, OSError) as exc:
            wait = min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**mail.attempts)
            # The exception's class and message only: never the mail's body.
            logger.warning(
                "Could not send a mail to %s (%s): %s: %s; trying again in %.0f s",
                mail.to,
                mail.subject,
                type(exc).__name__,
                exc,
                wait,
            )
            await outbox.retry_at(mail.id, mail.attempts + 1, time.time() + wait)
        else:
            logger.info("Sent a mail to %s (%s)", mail.to, mail.subject)
            await outbox.remove(mail.id)


async def run_sender() -> None:
    while True:
        try:
            await send_due(time.time())
        except StoreUnavailable:
            pass  # logged by the store; the mails wait in the outbox
        except Exception:
            logger.exception("The mail sender failed; it goes on")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(_wake.wait(), POLL_SECONDS)
        _wake.clear()


_sender: asyncio.Task | None = None


async def start_sender() -> None:
    global _sender
    if not settings.smtp_host:
        logger.warning("SMTP_HOST is empty: mails are written to this log instead of being sent (development mode)")
    _sender = asyncio.get_running_loop().create_task(run_sender())


async def stop_sender() -> None:
    if _sender is not None:
        _sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await _sender
