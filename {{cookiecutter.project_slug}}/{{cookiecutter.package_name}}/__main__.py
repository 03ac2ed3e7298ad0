"""The command line:

    python -m {{ cookiecutter.package_name }} [COMMAND]

serves the app on HOST:PORT (127.0.0.1:8000 unless set), or runs one of the commands of the
database backend (`--help` lists them): the backend's cli.py defines them and does their work;
`keys`, the same for every database, is keys.py's."""

import argparse
import sys

import uvicorn

from . import keys
from .backend import add_commands
from .settings import settings

HEAD_MARGIN_BYTES = 8 * 1024  # the request line, and a colon and line end per header


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description="Serve the app (no command).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve the app (what no command does too)")
    keys.add_commands(commands)
    add_commands(commands)  # each sets `run`, the function that does it
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if "run" in args:
        sys.exit(args.run(args))
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


if __name__ == "__main__":
    main()
