"""The generated project's uv.lock (made by scripts/lock.py): one per answer combination that
changes the dependencies and none other, each one consistent with its bake's pyproject.toml, and
named and ordered in each bake exactly as uv itself would write it."""

import subprocess
import sys
import tomllib

import pytest

from scripts import lock

from .conftest import check_lock

RELOCK = "re-run `python scripts/lock.py`"


@pytest.fixture(scope="module")
def lock_questions(tmp_path_factory) -> list[str]:
    with lock.template_without_lock() as template:
        return lock.lock_questions(template, tmp_path_factory.mktemp("questions"))


@pytest.fixture(scope="module")
def combinations(lock_questions) -> dict[str, dict[str, str]]:
    """{lock file name: the answers it was made for}, for every combination there must be."""
    return {lock.lock_file_name(answers): answers for answers in lock.combinations(lock_questions)}


def test_the_lock_depends_on_the_questions_that_change_dependencies(lock_questions):
    # requires-python follows python_version; each database brings its own driver. Docker and CI
    # change no dependency, so they must not multiply the locks.
    assert {"python_version", "database"} <= set(lock_questions)
    assert not {"use_docker", "ci"} & set(lock_questions)


def test_the_template_picks_the_lock_by_those_questions(lock_questions):
    assert lock.LOCK_TEMPLATE.read_text() == lock.lock_template(lock_questions), (
        f"{lock.LOCK_TEMPLATE.name} picks its lock by other questions than those that change the lock: {RELOCK}"
    )


def test_every_combination_has_its_lock_and_no_other_lock_is_kept(combinations):
    stored = {path.name for path in lock.LOCK_DIR.glob("*.lock")}
    assert stored == set(combinations), (
        f"missing: {sorted(set(combinations) - stored)}, stale: {sorted(stored - set(combinations))}: {RELOCK}"
    )


@pytest.mark.parametrize("lock_file", sorted(path.name for path in lock.LOCK_DIR.glob("*.lock")))
def test_each_lock_matches_its_bake(cookies, combinations, lock_file):
    answers = combinations.get(lock_file)
    assert answers is not None, f"{lock_file} is made for no combination of answers: {RELOCK}"
    # A name that sorts among the dependencies, not after them all as the stand-in does.
    result = cookies.bake(extra_context={"project_name": "Httpy Svc", **answers})
    assert result.exit_code == 0, result.exception
    check_lock(result.project_path, answers["python_version"])
    names = [package["name"] for package in tomllib.loads((result.project_path / "uv.lock").read_text())["package"]]
    assert "httpy-svc" in names
    assert names == sorted(names), "uv keeps the entries sorted by name"


def test_uv_rewriting_a_bakes_lock_changes_nothing_but_what_changed(cookies):
    """The hook renamed and moved the project's entry; when uv next writes the lock (here because
    the project's version moved), everything else stays byte for byte, so the project's first
    re-lock shows only its own change. uv re-resolves here, so this needs the registry."""
    result = cookies.bake(extra_context={"project_slug": "my_svc.x", "package_name": "my_svc"})
    assert result.exit_code == 0, result.exception
    project = result.project_path
    before = (project / "uv.lock").read_text()
    assert 'name = "my-svc-x"' in before  # normalised, as uv writes names
    pyproject = project / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('version = "0.1.0"', 'version = "0.1.1"', 1))
    relock = subprocess.run(
        [sys.executable, "-m", "uv", "lock", "--python", sys.executable],
        env=lock.uv_environment(),
        cwd=project,
        capture_output=True,
        text=True,
    )
    assert relock.returncode == 0, relock.stderr
    after = (project / "uv.lock").read_text()
    entry = 'name = "my-svc-x"\nversion = "0.1.{}"'
    assert entry.format(0) in before
    assert after == before.replace(entry.format(0), entry.format(1))
