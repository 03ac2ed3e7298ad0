"""Finishes a generated project: puts the chosen database backend's files in place, writes the
secrets into .env, removes the files of options not taken and names the project in its uv.lock.
Standard library only: cookiecutter installs nothing for hooks."""

import json
import os
import re
import secrets
import shutil
from pathlib import Path

# Rendered by cookiecutter before the hook runs (see pre_gen_project.py).
ANSWERS = r"""{{ cookiecutter | tojson }}"""

ENV_TEMPLATE = """\
# Written by the template when this project was generated. Never commit this file.
SECRET_KEY={secret_key}
# Local development serves plain http, where browsers drop Secure cookies: the refresh cookie
# is sent without Secure while this says false. Remove it wherever the service runs on https.
COOKIE_SECURE=false
"""

POSTGRES_ENV_TEMPLATE = """\
# The PostgreSQL role and database: compose.yaml creates them with this password, and the
# service connects with DATABASE_URL (127.0.0.1 here; compose.yaml points it at its `db`).
POSTGRES_USER={name}
POSTGRES_PASSWORD={password}
POSTGRES_DB={name}
DATABASE_URL=postgresql+asyncpg://{name}:{password}@127.0.0.1:5432/{name}
"""

# The files of every backend sit under _backends/<folder>/ as they should land in the project;
# the folders of the chosen database are moved into place. SQLite and PostgreSQL share the SQL
# code and add what differs (dialect.py, the tests' conftest.py). A backend file never replaces a
# shared one (nor one of another folder): BackendClash stops the generation instead.
BACKENDS_DIR = "_backends"
BACKEND_FOLDERS = {"fake": ["fake"], "sqlite": ["sql", "sqlite"], "postgresql": ["sql", "postgresql"]}


class BackendClash(SystemExit):
    """A backend file has the path of a file that is already in the project."""


OPTIONAL_FILES = {
    "use_docker": ["Dockerfile", ".dockerignore", "compose.yaml", "prometheus"],
    # .github/dependabot.yml stays: it updates the lock (and the base image) with or without CI.
    "ci": [".github/workflows"],
}


def new_secret_key() -> str:
    return secrets.token_urlsafe(64)  # 512 random bits; HS256 needs at least 256


def env_text(secret_key: str, database: str, package_name: str) -> str:
    text = ENV_TEMPLATE.format(secret_key=secret_key)
    if database == "postgresql":
        # URL-safe characters only, so the password needs no escaping inside DATABASE_URL.
        text += POSTGRES_ENV_TEMPLATE.format(name=package_name, password=secrets.token_urlsafe(24))
    return text


def write_env_file(project_dir: Path, text: str) -> Path:
    env_path = project_dir / ".env"
    # Created with mode 0600 from the start, so the secrets are never readable by others.
    fd = os.open(env_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as env_file:
        env_file.write(text)
    return env_path


def ensure_env_file(project_dir: Path, database: str, package_name: str) -> bool:
    """Writes .env with new secrets unless one is there already (a re-render with
    `cookiecutter --overwrite-if-exists` must keep the project's key). True if it wrote one."""
    if (project_dir / ".env").exists():
        return False
    write_env_file(project_dir, env_text(new_secret_key(), database, package_name))
    return True


def install_backend(project_dir: Path, database: str) -> None:
    """Moves the files of the database's backend folders into the project and drops every backend
    folder. Refuses, before moving anything, when a backend file would replace another file."""
    moves = {}
    for folder in BACKEND_FOLDERS[database]:
        source = project_dir / BACKENDS_DIR / folder
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            target = project_dir / path.relative_to(source)
            if target.exists() or target in moves:
                raise BackendClash(
                    f"error: {BACKENDS_DIR}/{folder}/{path.relative_to(source)} would replace "
                    f"{target.relative_to(project_dir)}: rename one of them (a backend adds files, never replaces them)"
                )
            moves[target] = path
    for target, path in moves.items():
        target.parent.mkdir(parents=True, exist_ok=True)
        path.replace(target)
    shutil.rmtree(project_dir / BACKENDS_DIR)


def remove_unused_files(project_dir: Path, use_docker: str, ci: str) -> None:
    unused = []
    if use_docker != "yes":
        unused += OPTIONAL_FILES["use_docker"]
    if ci == "none":
        unused += OPTIONAL_FILES["ci"]
    for name in unused:
        path = project_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def distribution_name(name: str) -> str:
    """A name as uv writes it in uv.lock (normalised as PEP 503 says): "My_Service.x" -> "my-service-x"."""
    return re.sub(r"[-_.]+", "-", name).lower()


def place_project_in_lock(lock: str, project_name: str) -> str:
    """uv.lock comes from the template, locked for a stand-in project name (scripts/lock.py).
    Give the project's own entry (the one whose source is the project folder) this project's
    name, and move it to where uv keeps it (entries sorted by name), so that the first `uv lock`
    run here finds the file as uv would have written it."""
    header, *entries = (part.rstrip("\n") for part in re.split(r"(?m)^(?=\[\[package\]\]$)", lock))
    [own] = [entry for entry in entries if re.search(r'(?m)^source = \{ (editable|virtual) = "\." \}$', entry)]
    entries.remove(own)
    name = distribution_name(project_name)
    own = re.sub(r'(?m)^name = ".*"$', f'name = "{name}"', own, count=1)
    names = [re.search(r'(?m)^name = "(.*)"$', entry).group(1) for entry in entries]
    entries.insert(next((i for i, other in enumerate(names) if other > name), len(entries)), own)
    return "\n\n".join([header, *entries]) + "\n"


def main() -> None:
    project_dir = Path.cwd()
    answers = json.loads(ANSWERS)
    install_backend(project_dir, answers["database"])
    wrote_env = ensure_env_file(project_dir, answers["database"], answers["package_name"])
    remove_unused_files(project_dir, use_docker=answers["use_docker"], ci=answers["ci"])
    lock = project_dir / "uv.lock"
    if lock.exists():  # scripts/lock.py bakes without one, to make it
        lock.write_text(place_project_in_lock(lock.read_text(), answers["project_slug"]))
    if wrote_env:
        print(f"Created {project_dir.name}/ with fresh secrets in .env (git-ignored).")
    else:
        print(f"Rendered {project_dir.name}/ again; kept its existing .env and its secrets.")
    print(f"Next: cd {project_dir.name} && see README.md (make run serves it on http://127.0.0.1:8000).")


if __name__ == "__main__":
    main()
