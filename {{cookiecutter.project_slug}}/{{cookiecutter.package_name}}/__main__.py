"""The command line:

    python -m {{ cookiecutter.package_name }} [COMMAND]

serves the app on HOST:PORT (127.0.0.1:8000 unless set), or runs one of the commands of the
database backend (`--help` lists them): cli.py defines them and does their work."""

import argparse
import sys

import uvicorn

from . import cli
from .settings import settings


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m {__package__}", description="Serve the app (no command).")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="serve the app (what no command does too)")
    cli.add_commands(commands)  # each sets `run`, the function that does it
    return parser


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    if "run" in args:
        sys.exit(args.run(args))
    # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (client_address.py).
    uvicorn.run(f"{__package__}.main:app", host=settings.host, port=settings.port, proxy_headers=False)


if __name__ == "__main__":
    main()
