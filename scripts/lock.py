"""Locks the generated project's dependencies for every answer combination that changes them.

    .venv-test/bin/python scripts/lock.py            # after changing the generated pyproject.toml
    .venv-test/bin/python scripts/lock.py --upgrade  # also move every package to its newest allowed version

The lock a bake gets depends on the answers that change what uv locks (requires-python, the
dependencies, the extras). Which questions those are is found, not listed: each answer of each
choice question is baked with the others at their defaults, and the questions whose answers give
different lock inputs in pyproject.toml are the lock's questions. Each combination of their answers
is baked under a stand-in project name and locked with the uv that generated projects pin
(cookiecutter.json's `_uv_version`), seeded with that combination's previous lock so that only what
must move moves. The locks land in templates/uv-lock/, one per combination, and the template's
uv.lock is rewritten to include the one matching a bake's answers; the post-generation hook then
names the project in it. tests/test_lock.py fails until this script has been re-run after any
change to the dependencies or to those questions.
"""

import argparse
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent
PROJECT_TEMPLATE = "{{cookiecutter.project_slug}}"
# cookiecutter looks up `{% include %}`d files in templates/ beside the project template.
LOCK_DIR = TEMPLATE_DIR / "templates" / "uv-lock"
LOCK_TEMPLATE = TEMPLATE_DIR / PROJECT_TEMPLATE / "uv.lock"
STAND_IN_NAME = "Locked Service"  # baked as locked-service; the hook renames it in each bake
PYENV_VERSIONS = Path.home() / ".pyenv" / "versions"


def template_answers() -> dict:
    return json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())


def choice_questions() -> dict[str, list[str]]:
    """The questions answered by picking from a list, with their answers (default first)."""
    answers = template_answers().items()
    return {name: values for name, values in answers if isinstance(values, list) and not name.startswith("_")}


def lock_inputs(pyproject: str) -> dict:
    """What uv.lock records of a pyproject.toml, the project's name aside (the hook sets it)."""
    data = tomllib.loads(pyproject)
    project = data["project"]
    return {
        "version": project.get("version"),
        "requires-python": project.get("requires-python"),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
        "dependency-groups": data.get("dependency-groups", {}),
        "tool.uv": data.get("tool", {}).get("uv", {}),
    }


@contextlib.contextmanager
def template_without_lock() -> Iterator[Path]:
    """A copy of the template whose project has no uv.lock: it bakes even for answers that have
    no lock yet. Only what generation reads: the questions, the hooks, the project template;
    beside it a cookiecutter configuration that keeps replay files in the same temporary folder."""
    with tempfile.TemporaryDirectory(prefix="lock-template-") as tmp:
        copy = Path(tmp) / "template"
        copy.mkdir()
        (Path(tmp) / "cookiecutter.yaml").write_text(
            f"replay_dir: {Path(tmp) / 'replay'}\ncookiecutters_dir: {Path(tmp) / 'cookiecutters'}\n"
        )
        shutil.copy2(TEMPLATE_DIR / "cookiecutter.json", copy)
        shutil.copytree(TEMPLATE_DIR / "hooks", copy / "hooks", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copytree(TEMPLATE_DIR / PROJECT_TEMPLATE, copy / PROJECT_TEMPLATE)
        (copy / PROJECT_TEMPLATE / "uv.lock").unlink(missing_ok=True)
        yield copy


def bake(template: Path, output_dir: Path, answers: dict[str, str]) -> Path:
    """The template baked under the stand-in name with these answers (the others at their
    defaults; --default-config: a user's ~/.cookiecutterrc must not change them)."""
    answers = {"project_name": STAND_IN_NAME, **answers}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cookiecutter",
            "--no-input",
            "--default-config",
            "--output-dir",
            output_dir,
            template,
            *(f"{name}={value}" for name, value in answers.items()),
        ],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        sys.exit(f"baking {answers} failed:\n{result.stdout}{result.stderr}")
    [project] = output_dir.iterdir()
    return project


def lock_questions(template: Path, work_dir: Path) -> list[str]:
    """The choice questions some answer of which changes the lock inputs (others at default)."""
    found = []
    for name, values in choice_questions().items():
        inputs = set()
        for value in values:
            project = bake(template, work_dir / f"{name}-{value}", {name: value})
            inputs.add(json.dumps(lock_inputs((project / "pyproject.toml").read_text()), sort_keys=True))
        if len(inputs) > 1:
            found.append(name)
    return found


def combinations(questions: list[str]) -> list[dict[str, str]]:
    choices = choice_questions()
    return [dict(zip(questions, values, strict=True)) for values in itertools.product(*(choices[q] for q in questions))]


def lock_file_name(answers: dict[str, str]) -> str:
    return "-".join(answers.values()) + ".lock"


def lock_template(questions: list[str]) -> str:
    """The project template's uv.lock: includes the lock made for the bake's answers."""
    path = ' ~ "-" ~ '.join(f"cookiecutter.{question}" for question in questions)
    return (
        "{#- Written by scripts/lock.py: the lock made for this bake's answers to the questions that\n"
        "    change the dependencies. Re-run that script after changing them. -#}\n"
        f'{{%- include "uv-lock/" ~ {path} ~ ".lock" %}}\n'
    )


def find_python(version: str) -> str | None:
    """`pythonX.Y` on PATH or installed by pyenv, if it really runs (a pyenv shim exists even
    for versions that are not the active one)."""
    candidates = [shutil.which(f"python{version}"), *sorted(PYENV_VERSIONS.glob(f"{version}.*/bin/python"))]
    for path in filter(None, candidates):
        if subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
            return str(path)
    return None


def uv_environment() -> dict[str, str]:
    """This environment without a developer's own package indexes: the locks must name the public
    registry that generated projects install from, never a mirror of whoever ran the script."""
    private = ("UV_INDEX", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_FIND_LINKS", "UV_NO_INDEX")
    return {name: value for name, value in os.environ.items() if not name.startswith(private)}


def uv(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The uv installed beside this Python (requirements-dev.txt pins it)."""
    return subprocess.run(
        [sys.executable, "-m", "uv", *args], cwd=cwd, capture_output=True, text=True, env=uv_environment()
    )


def uv_python_args(version: str) -> list[str]:
    """uv needs an interpreter that satisfies requires-python even just to lock. A pyenv shim on
    PATH breaks its own search, so name the interpreter; else let uv find (or fetch) one."""
    return ["--python", find_python(version) or version]


def check_uv_version() -> None:
    wanted = template_answers()["_uv_version"]
    found = uv("--version", cwd=TEMPLATE_DIR).stdout.split()[1]
    if found != wanted:
        sys.exit(
            f"uv {found} is installed here, but generated projects pin uv {wanted} (cookiecutter.json "
            f"_uv_version): lock with that one (pip install uv=={wanted}), or move the pin first."
        )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--upgrade", action="store_true", help="newest allowed versions, not the locked ones")
    options = parser.parse_args(argv)
    check_uv_version()

    with template_without_lock() as template, tempfile.TemporaryDirectory(prefix="lock-bakes-") as tmp:
        work_dir = Path(tmp)
        questions = lock_questions(template, work_dir / "questions")
        print(f"The lock depends on: {', '.join(questions)}")
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        wanted = set()
        for answers in combinations(questions):
            name = lock_file_name(answers)
            wanted.add(name)
            project = bake(template, work_dir / name, answers)
            stored = LOCK_DIR / name
            if stored.exists() and not options.upgrade:
                shutil.copy2(stored, project / "uv.lock")  # keep its versions where still allowed
            python = uv_python_args(answers.get("python_version", choice_questions()["python_version"][0]))
            result = uv("lock", *python, *(["--upgrade"] if options.upgrade else []), cwd=project)
            if result.returncode != 0:
                sys.exit(f"uv lock failed for {answers}:\n{result.stderr}")
            lock = (project / "uv.lock").read_text()
            # The stored lock is rendered by Jinja when it is included: it must hold no Jinja.
            if re.search(r"\{[{%#]", lock):
                sys.exit(f"the lock for {answers} holds Jinja markers; it cannot be included as it is")
            changed = not stored.exists() or stored.read_text() != lock
            stored.write_text(lock)
            print(f"  {name}: {'updated' if changed else 'unchanged'}")
        for stale in sorted(set(path.name for path in LOCK_DIR.glob("*.lock")) - wanted):
            (LOCK_DIR / stale).unlink()
            print(f"  {stale}: removed (no such combination any more)")
        LOCK_TEMPLATE.write_text(lock_template(questions))


if __name__ == "__main__":
    os.environ.setdefault("UV_NO_PROGRESS", "1")
    main()
