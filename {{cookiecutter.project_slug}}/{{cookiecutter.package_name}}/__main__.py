"""The command line:

    python -m {{ cookiecutter.package_name }} [COMMAND]

serves the app on HOST:PORT (127.0.0.1:8000 unless set), or runs one of the commands below
(`--help` lists them). The arguments are defined here, the work is in cli.py. Passwords are read
from the terminal, or from standard input in scripts, never from arguments."""

import argparse
import sys

import uvicorn

from . import cli
from .settings import settings


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}", description="Serve the app (no command), or manage its database and users."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve the app (what no command does too)")
    commands.add_parser("migrate", help="bring the database schema up to date")

    users = commands.add_parser("users", help="manage users").add_subparsers(dest="action", metavar="ACTION")
    users.required = True
    create = users.add_parser("create", help="add a user; the password is prompted for or read from stdin")
    create.add_argument("username")
    create.add_argument("--email")
    create.add_argument("--scopes", default="me items", help='space separated (default: "me items")')
    create.add_argument("--admin", action="store_true", help="also grant the admin scope")
    for action, text in [
        ("set-password", "set a new password, prompted for or read from stdin"),
        ("disable", "refuse the user's logins and revoke their refresh tokens"),
        ("enable", "allow the user to log in again (their earlier tokens stay refused)"),
        ("delete", "remove the user and end their sessions (the name may be taken again, never their id)"),
    ]:
        users.add_parser(action, help=text).add_argument("username")
    users.add_parser("list", help="list every user")

    audit = commands.add_parser("audit", help="read the audit trail").add_subparsers(dest="action", metavar="ACTION")
    audit.required = True
    tail = audit.add_parser("tail", help="the newest audit events, oldest first, one JSON object a line")
    tail.add_argument("-n", "--lines", type=int, default=20, help="how many (default 20)")
    tail.add_argument("--user", help="only events of this user, as actor or subject")
    tail.add_argument("--event", help="only this event")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command in (None, "serve"):
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (client_address.py).
        uvicorn.run(f"{__package__}.main:app", host=settings.host, port=settings.port, proxy_headers=False)
    else:
        sys.exit(cli.run(args))


if __name__ == "__main__":
    main()
