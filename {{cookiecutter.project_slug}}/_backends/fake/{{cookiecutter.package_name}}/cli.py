"""The commands of `python -m {{ cookiecutter.package_name }}` besides serving: none. The fake DB lives in
code (fake_users_db in user_store.py), with no schema to migrate and nothing a command could save:
edit that file, or generate the project with database=sqlite or database=postgresql."""


def add_commands(_commands) -> None:
    """Adds no command to the parser's subcommands (__main__.py)."""
