"""The commands of `python -m {{ cookiecutter.package_name }}` besides serving: `migrate` and `users ...`.

Each prints what it did, or one line starting with "error:" and exits 1. Passwords are read from
the terminal, or from standard input in scripts, never from arguments.
"""

import argparse
import asyncio
import getpass
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable

import msgspec

from . import accounts, database
from .audit_store import audit_store
from .models import UserInDB
from .passwords import WeakPassword
from .scopes import InvalidScope
from .stores import AuditQuery, LastAdmin, StoreUnavailable, UserExists
from .user_store import user_store


class CommandError(Exception):
    """A mistake of the caller: printed as one line."""


# What a change refused for breaking a rule raises: each message says which rule, in a line.
BROKEN_RULES = (accounts.InvalidUsername, WeakPassword, InvalidScope)


def read_line() -> str:
    """One line of standard input, read a byte at a time: what follows is left for the next
    program (a script may pipe more than one line through several commands)."""
    line = bytearray()
    while (byte := os.read(sys.stdin.fileno(), 1)) not in (b"", b"\n"):
        line += byte
    return line.decode()


def read_password() -> str:
    """From the terminal (asked twice), or the first line of standard input in scripts."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password again: "):
            raise CommandError("the passwords do not match")
    else:
        password = read_line()
    if not password:
        raise CommandError("the password is empty")
    return password


async def existing_user(username: str) -> UserInDB:
    user = await accounts.find(username)
    if user is None:
        raise CommandError(f"no user named {username!r}")
    return user


async def create(args: argparse.Namespace) -> str:
    scopes = args.scopes.split() + (["admin"] if args.admin else [])
    accounts.check_username(args.username)  # before asking for a password
    try:
        user = await accounts.create_account(
            args.username, read_password(), args.email, tuple(scopes), email_verified=args.verified
        )
    except UserExists:
        raise CommandError(f"a user named {args.username!r} exists already") from None
    return f"Created user {user.username!r} (id {user.uid}) with scopes {' '.join(user.scopes) or '(none)'}."


async def set_password(args: argparse.Namespace) -> str:
    user = await existing_user(args.username)
    await accounts.change_password(user, read_password())  # whoever knew the old one is signed out
    return f"Set a new password for {user.username!r} and ended their sessions."


async def set_disabled(args: argparse.Namespace, disabled: bool) -> str:
    user = await existing_user(args.username)
    await accounts.update_account(user, disabled=disabled)
    if disabled:
        return f"Disabled {user.username!r} and ended their sessions."
    return f"Enabled {user.username!r}."


async def delete_user(args: argparse.Namespace) -> str:
    user = await existing_user(args.username)
    await accounts.delete_account(user)
    return f"Deleted {user.username!r} and ended their sessions; the name is free, their id is never reused."


async def list_users(_args: argparse.Namespace) -> str:
    lines = [f"{'USERNAME':20} {'EMAIL':30} {'SCOPES':20} {'STATE':8} CREATED"]
    offset = 0
    while page := await user_store.list(offset=offset, limit=500):
        offset += len(page)
        for user in page:
            state = "disabled" if user.disabled else "active"
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(user.created_at))
            lines.append(f"{user.username:20} {user.email or '-':30} {' '.join(user.scopes):20} {state:8} {created}")
    return "\n".join(lines) if offset else "No users yet: add one with `users create NAME`."


async def audit_tail(args: argparse.Namespace) -> str:
    user = accounts.canonical_username(args.user) if args.user else None
    events = await audit_store.find(AuditQuery(user=user, event=args.event), limit=max(1, min(args.lines, 10_000)))
    return "\n".join(msgspec.json.encode(event).decode() for event in reversed(events)) or "No audit events."


USER_ACTIONS: dict[str, Callable[[argparse.Namespace], Awaitable[str]]] = {
    "create": create,
    "set-password": set_password,
    "disable": lambda args: set_disabled(args, disabled=True),
    "enable": lambda args: set_disabled(args, disabled=False),
    "delete": delete_user,
    "list": list_users,
}


async def run_then_close(action: Awaitable[str]) -> str:
    try:
        return await action
    finally:
        await database.engine.dispose()  # close connections on the loop that opened them


def migrate() -> str:
    before = asyncio.run(run_then_close(database.current_revision()))
    database.upgrade()
    after = database.head_revision()
    if before == after:
        return f"The database at {database.shown_url} is up to date (revision {after})."
    return f"Migrated the database at {database.shown_url} from {before or 'empty'} to revision {after}."


def add_commands(commands) -> None:
    """The commands, added to the parser's subcommands (__main__.py)."""
    commands.add_parser("migrate", help="bring the database schema up to date").set_defaults(run=run)
    users = commands.add_parser("users", help="manage users")
    users.set_defaults(run=run)
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="add a user; the password is prompted for or read from stdin")
    create.add_argument("username")
    create.add_argument("--email")
    create.add_argument("--verified", action="store_true", help="mark the e-mail address as verified")
    create.add_argument("--scopes", default="me items", help='space separated (default: "me items")')
    create.add_argument("--admin", action="store_true", help="also grant the admin scope")
    for action, text in [
        ("set-password", "set a new password, prompted for or read from stdin"),
        ("disable", "refuse the user's logins and revoke their refresh tokens"),
        ("enable", "allow the user to log in again (their earlier tokens stay refused)"),
        ("delete", "remove the user and end their sessions (the name may be taken again, never their id)"),
    ]:
        actions.add_parser(action, help=text).add_argument("username")
    actions.add_parser("list", help="list every user")
    audit = commands.add_parser("audit", help="read the audit trail")
    audit.set_defaults(run=run)
    tail = audit.add_subparsers(dest="action", metavar="ACTION", required=True).add_parser(
        "tail", help="the newest audit events, oldest first, one JSON object a line"
    )
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many (default 20)")
    tail.add_argument("--user", help="only events of this user, as actor or subject")
    tail.add_argument("--event", help="only this event")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.ERROR)  # a failure is reported below, once
    try:
        if args.command == "migrate":
            print(migrate())
        else:
            action = audit_tail if args.command == "audit" else USER_ACTIONS[args.action]
            print(asyncio.run(run_then_close(action(args))))
    except (CommandError, LastAdmin, *BROKEN_RULES) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except (StoreUnavailable, *database.FAILURES) as exc:
        cause = exc.__cause__ or exc
        print(f"error: cannot use the database at {database.shown_url}: {database.reason(cause)}", file=sys.stderr)
        return 1
    return 0
