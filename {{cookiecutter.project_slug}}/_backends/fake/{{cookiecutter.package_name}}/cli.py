"""The commands of `python -m {{ cookiecutter.package_name }}` besides serving (see __main__.py).

The fake DB lives in code, so no command can save to it: they say so instead of pretending.
"""

import argparse
import sys

IN_CODE = (
    "This project was generated with database=fake: its users live in code "
    "(fake_users_db in {{ cookiecutter.package_name }}/user_store.py) and nothing can be saved from here. "
    "Edit that file, or generate the project with database=sqlite or database=postgresql."
)

AUDIT_IN_MEMORY = (
    "with database=fake, audit events live in the running service's memory and its log: "
    "read them with GET /audit-events (admin scope)."
)


def run(args: argparse.Namespace) -> int:
    if args.command == "migrate":
        print("Nothing to migrate: the fake DB has no schema.")
        return 0
    if args.command == "audit":
        print(f"error: {AUDIT_IN_MEMORY}", file=sys.stderr)
        return 1
    print(f"error: {IN_CODE}", file=sys.stderr)
    return 1
