"""Checks the answers before anything is written; a failure here makes cookiecutter stop and
remove the half-made project. Standard library only: cookiecutter installs nothing for hooks."""

import json
import keyword
import re
import sys

# cookiecutter renders this file before running it: the answers arrive as JSON, so quotes or
# backslashes in them cannot break the script (and the unrendered file stays importable).
ANSWERS = r"""{{ cookiecutter | tojson }}"""
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")


def package_name_problem(package_name: str) -> str | None:
    if not package_name.isidentifier() or not package_name.isascii():
        return f"package_name {package_name!r} is not a valid Python identifier (use letters, digits, underscores)."
    if keyword.iskeyword(package_name) or keyword.issoftkeyword(package_name):
        return f"package_name {package_name!r} is a Python keyword; choose another name."
    if package_name in sys.stdlib_module_names:
        return f"package_name {package_name!r} would shadow the standard library module of that name."
    return None


def project_slug_problem(project_slug: str) -> str | None:
    if not SLUG_PATTERN.match(project_slug):
        return (
            f"project_slug {project_slug!r} is not usable as a folder and distribution name "
            "(lower-case letters, digits, '.', '_', '-'; starting with a letter or digit)."
        )
    return None


def positive_int_problem(name: str, value: str) -> str | None:
    if not value.strip().isdigit() or int(value) < 1:
        return f"{name} must be a whole number of at least 1, not {value!r}."
    return None


def problems(answers: dict[str, str]) -> list[str]:
    found = [
        project_slug_problem(answers["project_slug"]),
        package_name_problem(answers["package_name"]),
        positive_int_problem("access_token_expire_minutes", answers["access_token_expire_minutes"]),
        positive_int_problem("refresh_token_expire_days", answers["refresh_token_expire_days"]),
    ]
    return [problem for problem in found if problem]


def main() -> None:
    answers = json.loads(ANSWERS)
    found = problems(answers)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    if found:
        sys.exit(1)


if __name__ == "__main__":
    main()
