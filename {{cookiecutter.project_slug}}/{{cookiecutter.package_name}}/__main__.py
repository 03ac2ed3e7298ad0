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

HEAD_MARGIN_BYTES = 8 * 1024  # the request line, and a colon and line end per header


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
        ("enable", "allow the user to log in again"),
    ]:
        users.add_parser(action, help=text).add_argument("username")
    users.add_parser("list", help="list every user")
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if args.command in (None, "serve"):
        # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (client_address.py).
        # The app refuses oversized headers (request_limits.py); uvicorn's h11 parser, when it is
        # the one used, also stops buffering a head past that plus room for the request line.
        uvicorn.run(
            f"{__package__}.main:app",
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            h11_max_incomplete_event_size=settings.max_header_bytes + HEAD_MARGIN_BYTES,
        )
    else:
        sys.exit(cli.run(args))


if __name__ == "__main__":
    main()
