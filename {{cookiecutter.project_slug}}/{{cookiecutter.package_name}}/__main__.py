"""The command line:

    python -m {{ cookiecutter.package_name }} [COMMAND]

serves the app on HOST:PORT (127.0.0.1:8000 unless set), or runs one of the commands below
(`--help` lists them). The arguments are defined here, the work is in cli.py (keys.py for `keys`,
the same for every database). Passwords are read
from the terminal, or from standard input in scripts, never from arguments."""

import argparse
import sys

import uvicorn

from . import cli, keys
from .settings import settings

HEAD_MARGIN_BYTES = 8 * 1024  # the request line, and a colon and line end per header


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"python -m {__package__}",
        description="Serve the app (no command), or manage its database, users and signing keys.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve the app (what no command does too)")
    commands.add_parser("migrate", help="bring the database schema up to date")

    users = commands.add_parser("users", help="manage users").add_subparsers(dest="action", metavar="ACTION")
    users.required = True
    create = users.add_parser("create", help="add a user; the password is prompted for or read from stdin")
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
        users.add_parser(action, help=text).add_argument("username")
    users.add_parser("list", help="list every user")

    signing = commands.add_parser("keys", help="manage the keys that sign tokens (files only, no database)")
    signing = signing.add_subparsers(dest="action", metavar="ACTION")
    signing.required = True
    signing.add_parser("new", help="make a key for JWT_ALGORITHM in SIGNING_KEYS_DIR and print its kid")
    signing.add_parser("list", help="list the keys: kid, algorithm, created, which one signs")
    signing.add_parser("retire", help="delete a key that no longer signs; its tokens are refused").add_argument(
        "kid", help='as `keys list` shows it (one made elsewhere that starts with "-": put -- before it)'
    )
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
        # The app refuses oversized headers (request_limits.py); uvicorn's h11 parser, when it is
        # the one used, also stops buffering a head past that plus room for the request line.
        uvicorn.run(
            f"{__package__}.main:app",
            host=settings.host,
            port=settings.port,
            proxy_headers=False,
            h11_max_incomplete_event_size=settings.max_header_bytes + HEAD_MARGIN_BYTES,
        )
    elif args.command == "keys":
        sys.exit(keys.run(args, settings))
    else:
        sys.exit(cli.run(args))


if __name__ == "__main__":
    main()
