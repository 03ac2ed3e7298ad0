"""Every option value, and every pair of values that interact, baked and checked.

Each bake must: leave no Jinja behind, carry the files of the options taken and no trace of the
others, pass `ruff check` and `ruff format --check`, `uv lock --check` (offline), zizmor (its
workflows and dependabot.yml) and hadolint (its Dockerfile) with no finding, and pass its own tests
(each bake runs a shard of its backend's suite, the three bakes of a backend together run it whole;
BAKE_SUITES=full runs all). The container, compose, CI and Dependabot files are parsed: they must
name the chosen Python version, package and database, install only from the lock, pin what they
use, and update what the answers bring. One bake's image build stage is run without Docker: it
must install exactly the locked packages, serve, and pass its HEALTHCHECK. Finally,
`cruft create` / `cruft update` work against a local copy of this template, keep the project's
own `.env`, and `.cruft.json` holds no secret.
"""

import fnmatch
import itertools
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from scripts.lock import find_python

from . import postgres
from .conftest import TEMPLATE_DIR, check_lock, documentation, free_port, rendered, run, serve

# A covering set: every value of every option, and every pair of values of any two options
# (test_bakes_cover_every_pair_of_option_values checks this against cookiecutter.json).
BAKES = [
    {"database": "fake", "python_version": "3.11", "use_docker": "yes", "ci": "github-actions"},
    {"database": "fake", "python_version": "3.12", "use_docker": "no", "ci": "none"},
    {"database": "fake", "python_version": "3.13", "use_docker": "no", "ci": "github-actions"},
    {"database": "sqlite", "python_version": "3.11", "use_docker": "no", "ci": "none"},
    {"database": "sqlite", "python_version": "3.12", "use_docker": "yes", "ci": "github-actions"},
    {"database": "sqlite", "python_version": "3.13", "use_docker": "yes", "ci": "none"},
    {"database": "postgresql", "python_version": "3.11", "use_docker": "yes", "ci": "none"},
    {"database": "postgresql", "python_version": "3.12", "use_docker": "no", "ci": "github-actions"},
    {"database": "postgresql", "python_version": "3.13", "use_docker": "yes", "ci": "github-actions"},
]
OPTIONS = ("database", "python_version", "use_docker", "ci")


def bake_id(options: dict[str, str]) -> str:
    return "-".join(options[name] for name in OPTIONS)


BAKE_IDS = [bake_id(options) for options in BAKES]
DOCKER_BAKES = [bake_id(options) for options in BAKES if options["use_docker"] == "yes"]
CI_BAKES = [bake_id(options) for options in BAKES if options["ci"] == "github-actions"]
SQL_DOCKER_BAKES = [
    bake_id(options) for options in BAKES if options["use_docker"] == "yes" and options["database"] != "fake"
]

JINJA_MARKERS = ("{{", "{%", "{#")
UV_VERSION = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())["_uv_version"]


class Bake:
    def __init__(self, options: dict[str, str], path: Path, context: dict[str, str]):
        self.options = options
        self.path = path
        self.package = context["package_name"]
        self.slug = context["project_slug"]
        # Listed right after baking, before any tool adds caches.
        self.files = sorted(p for p in path.rglob("*") if p.is_file())

    def texts(self):
        """The files the template rendered, with their text."""
        for file in filter(rendered, self.files):
            yield file, file.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def bakes(cookies_session) -> dict[str, Bake]:
    baked = {}
    for options in BAKES:
        # A distinct name each, so every bake has its own package name.
        name = "Svc " + " ".join(options[option] for option in OPTIONS)
        result = cookies_session.bake(extra_context={"project_name": name, **options})
        assert result.exit_code == 0, result.exception
        baked[bake_id(options)] = Bake(options, Path(result.project_path), result.context)
    return baked


# Each bake's suite collects every test module (so every module imports against that bake's own
# package) and runs one shard of the tests: test i runs on the bake i % 3 of its backend, so the
# three bakes of a backend together run its whole suite once. The default bakes' full suites run
# in test_service.py and test_sql_service.py. BAKE_SUITES=full runs every bake's whole suite.
SHARD_PLUGIN = """\
import os


def pytest_collection_modifyitems(config, items):
    index, count = map(int, os.environ["BAKE_SHARD"].split("/"))
    keep = [item for number, item in enumerate(items) if number % count == index]
    config.hook.pytest_deselected(items=[item for item in items if item not in keep])
    items[:] = keep
"""


@pytest.fixture(scope="module")
def suite_pythons(service_python: Path, sql_python: Path) -> dict[str, Path]:
    """The interpreter with each database's runtime dependencies; a bake's own package is found
    in its folder, where its suite runs."""
    return {"fake": service_python, "sqlite": sql_python, "postgresql": sql_python}


@pytest.fixture(scope="module")
def suite_runs(bakes, suite_pythons, tmp_path_factory) -> dict[str, subprocess.CompletedProcess | str]:
    """Each bake's own tests, two at a time (the suites are CPU-bound: bcrypt); instead of a run,
    the reason it could not run (no PostgreSQL here)."""
    plugin_dir = tmp_path_factory.mktemp("shard-plugin")
    (plugin_dir / "bake_shard.py").write_text(SHARD_PLUGIN)
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTEST_", "SECRET_KEY"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["TEST_DATABASE_URL"] = postgres.async_url(postgres.SERVER_URL)
    full = os.environ.get("BAKE_SUITES") == "full"
    no_postgres = postgres.server_problem()
    groups = {
        database: [name for name, bake in bakes.items() if bake.options["database"] == database]
        for database in suite_pythons
    }

    def run_suite(name: str, bake: Bake) -> subprocess.CompletedProcess | str:
        database = bake.options["database"]
        if database == "postgresql" and no_postgres:
            return no_postgres
        command = [suite_pythons[database], "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        suite_env = dict(env)
        if not full:
            command += ["-p", "bake_shard"]
            suite_env["PYTHONPATH"] = str(plugin_dir)
            suite_env["BAKE_SHARD"] = f"{groups[database].index(name)}/{len(groups[database])}"
        return subprocess.run(command, cwd=bake.path, env=suite_env, capture_output=True, text=True, timeout=900)

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = {name: pool.submit(run_suite, name, bake) for name, bake in bakes.items()}
        return {name: future.result() for name, future in futures.items()}


def test_bakes_cover_every_pair_of_option_values():
    choices = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
    for first, second in itertools.combinations(OPTIONS, 2):
        wanted = set(itertools.product(choices[first], choices[second]))
        covered = {(bake[first], bake[second]) for bake in BAKES}
        assert wanted <= covered, f"no bake for {first} x {second}: {sorted(wanted - covered)}"


@pytest.mark.parametrize("name", BAKE_IDS)
def test_no_leftover_jinja(bakes, name):
    bake = bakes[name]
    for file, text in bake.texts():
        relative = file.relative_to(bake.path)
        assert not any(marker in str(relative) for marker in JINJA_MARKERS), relative
        for marker in JINJA_MARKERS:
            assert marker not in text, f"{relative} still holds {marker!r}"


@pytest.mark.parametrize("name", BAKE_IDS)
def test_files_of_options_taken_and_only_those(bakes, name):
    bake = bakes[name]
    present = {str(file.relative_to(bake.path)) for file in bake.files}
    docker_files = {"Dockerfile", ".dockerignore"}
    ci_files = {".github/workflows/ci.yml"}
    always_there = (
        "Makefile",
        ".pre-commit-config.yaml",
        "pyproject.toml",
        "uv.lock",
        "SECURITY.md",
        ".env",
        ".gitignore",
    )
    for always in (*always_there, ".github/dependabot.yml"):
        assert always in present

    if bake.options["use_docker"] == "yes":
        assert docker_files <= present
    else:
        assert not docker_files & present
        for file, text in bake.texts():
            assert "docker" not in text.lower(), f"{file.name} mentions Docker, not chosen"

    if bake.options["ci"] == "github-actions":
        assert ci_files <= present
    else:
        # Dependabot stays without CI (it keeps the lock patched), so .github/ holds just that.
        assert sorted((bake.path / ".github").iterdir()) == [bake.path / ".github" / "dependabot.yml"]
        for file, text in bake.texts():
            lowered = text.lower()
            for mention in (".github/workflows", "github actions", "github-actions", "ci.yml"):
                assert mention not in lowered, f"{file.name} mentions {mention!r}, CI not chosen"

    sql_files = {
        "alembic.ini",
        "conftest.py",
        f"{bake.package}/tables.py",
        f"{bake.package}/user_cache.py",
        f"{bake.package}/migrations/env.py",
        f"{bake.package}/migrations/script.py.mako",
        f"{bake.package}/migrations/versions/0001_initial.py",
        f"{bake.package}/migrations/versions/0002_tokens_valid_from.py",
        "tests/test_database.py",
        "tests/test_migrations.py",
    }
    for each_backend in ("user_store.py", "refresh_store.py", "database.py", "cli.py"):
        assert f"{bake.package}/{each_backend}" in present
    assert not any(name.startswith("_backends") for name in present)
    assert ("compose.yaml" in present) == (bake.options["use_docker"] == "yes" and bake.options["database"] != "fake")
    assert ("prometheus/rules.yml" in present) == ("compose.yaml" in present)
    dependencies = (bake.path / "pyproject.toml").read_text()
    if bake.options["database"] == "fake":
        assert not sql_files & present
        for file, text in bake.texts():
            for mention in ("sqlalchemy", "alembic", "database_url"):
                assert mention not in text.lower(), f"{file.name} mentions {mention!r}, no SQL database chosen"
    else:
        assert sql_files <= present
        assert ('"asyncpg' in dependencies) == (bake.options["database"] == "postgresql")
        assert ('"aiosqlite' in dependencies) == (bake.options["database"] == "sqlite")


@pytest.mark.parametrize("name", BAKE_IDS)
def test_ruff_passes(bakes, name):
    bake = bakes[name]
    run([sys.executable, "-m", "ruff", "check", "--no-cache", "."], cwd=bake.path)
    run([sys.executable, "-m", "ruff", "format", "--check", "--no-cache", "."], cwd=bake.path)


@pytest.mark.parametrize("name", BAKE_IDS)
def test_uv_lock_matches_pyproject(bakes, name):
    bake = bakes[name]
    check_lock(bake.path, bake.options["python_version"])


@pytest.mark.parametrize("name", BAKE_IDS)
def test_pyproject_requires_the_chosen_python(bakes, name):
    bake = bakes[name]
    text = (bake.path / "pyproject.toml").read_text()
    assert f'requires-python = ">={bake.options["python_version"]}"' in text


def ran(result: subprocess.CompletedProcess | str) -> subprocess.CompletedProcess:
    """The run, or the test skipped (failed under CI=true) with the reason it could not run."""
    if isinstance(result, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{result} (CI=true: PostgreSQL is required)")
        pytest.skip(result)
    return result


@pytest.mark.parametrize("name", BAKE_IDS)
def test_generated_tests_pass(bakes, suite_runs, suite_pythons, name):
    bake = bakes[name]
    python = suite_pythons[bake.options["database"]]
    # The bake's package, not a project installed in that venv, is the one imported.
    found = run(
        [python, "-c", f"import importlib.util; print(importlib.util.find_spec({bake.package!r}).origin)"],
        cwd=bake.path,
    )
    assert Path(found.stdout.strip()).resolve().is_relative_to(bake.path.resolve())

    result = ran(suite_runs[name])
    assert result.returncode == 0, f"{bake.path.name}: its tests failed\n{result.stdout}\n{result.stderr}"
    assert re.search(r"\d+ passed", result.stdout)


def outcomes(pytest_output: str) -> dict[str, int]:
    """{"passed": 42, "deselected": 212, ...} from pytest's closing line."""
    closing = pytest_output.strip().splitlines()[-1]
    return {word: int(number) for number, word in re.findall(r"(\d+) ([a-z]+)", closing.split(" in ")[0])}


@pytest.mark.parametrize("database", ["fake", "sqlite", "postgresql"])
def test_the_bakes_of_a_backend_together_ran_its_whole_suite(bakes, suite_runs, database):
    runs = [ran(suite_runs[name]) for name, bake in bakes.items() if bake.options["database"] == database]
    counts = [outcomes(run.stdout) for run in runs]
    tests = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "errors")
    done = [sum(n for word, n in found.items() if word in tests) for found in counts]
    totals = {d + found.get("deselected", 0) for d, found in zip(done, counts, strict=True)}
    assert len(totals) == 1, f"the {database} bakes collected different suites: {totals}"
    if os.environ.get("BAKE_SUITES") != "full":
        assert sum(done) == totals.pop(), "the shards do not add up to the whole suite"


@pytest.mark.parametrize("name", BAKE_IDS)
def test_pre_commit_config_is_valid_and_the_bake_passes_the_key_detector(bakes, name):
    bake = bakes[name]
    run([sys.executable, "-m", "pre_commit", "validate-config", ".pre-commit-config.yaml"], cwd=bake.path)
    config = yaml.safe_load((bake.path / ".pre-commit-config.yaml").read_text())
    hook_ids = {hook["id"] for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "ruff-format", "detect-private-key"} <= hook_ids
    run([sys.executable, "-m", "pre_commit_hooks.detect_private_key", *bake.files], cwd=bake.path)
    # The hooks that rewrite files find nothing to fix in what they are given; Swagger UI's files,
    # which must stay as published, are kept from them by the top-level exclude.
    given = [file for file in bake.files if not re.search(config["exclude"], str(file.relative_to(bake.path)))]
    for hook in ("end_of_file_fixer", "trailing_whitespace_fixer"):
        run([sys.executable, "-m", f"pre_commit_hooks.{hook}", *given], cwd=bake.path)


@pytest.mark.parametrize("name", BAKE_IDS)
def test_makefile_targets(bakes, name):
    if not shutil.which("make"):
        pytest.skip("make is not installed")
    bake = bakes[name]
    # -n prints each command without running it; "help" lists the documented targets.
    plan = run(["make", "-n", "install", "run", "test", "lint", "format"], cwd=bake.path).stdout
    assert '.venv/bin/python -m pip install -e ".[dev]"' in plan
    migrate_then_serve = f".venv/bin/python -m {bake.package} migrate\n.venv/bin/python -m {bake.package}\n"
    assert (migrate_then_serve in plan) == (bake.options["database"] != "fake")
    assert "uv.lock" in plan and "uv sync --locked --extra dev" in plan, "install does not say where the lock is"
    assert f".venv/bin/python -m {bake.package}\n" in plan
    assert ".venv/bin/python -m pytest" in plan
    assert ".venv/bin/ruff check ." in plan
    assert ".venv/bin/ruff format --check ." in plan
    assert run(["make", "-n", "lock"], cwd=bake.path).stdout == "uv lock\n"
    targets = run(["make", "help"], cwd=bake.path).stdout
    assert ("docker-build" in targets) == (bake.options["use_docker"] == "yes")


@pytest.mark.parametrize("name", BAKE_IDS)
def test_docs_say_how_to_update_the_lock_and_where_to_report_a_vulnerability(bakes, name):
    bake = bakes[name]
    readme = documentation(bake.path)
    for command in ("make lock", "uv lock --upgrade", "uv sync --locked --extra dev"):
        assert command in readme
    assert "Dependabot" in readme
    assert "[SECURITY.md](SECURITY.md)" in readme
    security = (bake.path / "SECURITY.md").read_text()
    assert "you@example.com" in security  # the author_email answer
    for setting in ("SECRET_KEY", "COOKIE_SECURE", "ALLOWED_ORIGINS", "TRUSTED_PROXIES"):
        assert f"`{setting}`" in security


# ---- Dockerfile ---------------------------------------------------------------------------------


def dockerfile_instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def healthcheck_command(instructions: list[tuple[str, str]]) -> list[str]:
    """The HEALTHCHECK's command, which must be in exec form: CMD followed by a JSON array."""
    arguments = next(arguments for keyword, arguments in instructions if keyword == "HEALTHCHECK")
    _, _, command = arguments.partition(" CMD ")
    return json.loads(command)


def dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule, simplified: the last pattern matching the path or a parent folder wins."""
    candidates = [path] + [str(parent) for parent in Path(path).parents if str(parent) != "."]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        variants = [pattern, pattern[3:]] if pattern.startswith("**/") else [pattern]
        if any(fnmatch.fnmatchcase(candidate, variant) for candidate in candidates for variant in variants):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("name", DOCKER_BAKES)
def test_dockerfile(bakes, name):
    bake = bakes[name]
    version = bake.options["python_version"]
    instructions = dockerfile_instructions((bake.path / "Dockerfile").read_text())

    stages = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    assert len(stages) == 2, "not a two-stage build"
    # Pinned by full version (Dependabot moves the patch), the same in both stages.
    images = {instructions[index][1].split()[0] for index in stages}
    assert len(images) == 1, images
    assert re.fullmatch(rf"python:{re.escape(version)}\.\d+-slim-[a-z]+", images.pop())
    final = instructions[stages[-1] :]

    final_keywords = [keyword for keyword, _ in final]
    assert any(keyword == "COPY" and "--from=" in arguments for keyword, arguments in final)
    users = [arguments for keyword, arguments in final if keyword == "USER"]
    assert users, "the image runs as root"
    # Numeric, so that Kubernetes' runAsNonRoot can check it; and the user made in the image.
    uid, gid = map(int, re.fullmatch(r"(\d+):(\d+)", users[-1]).groups())
    assert uid != 0 and gid != 0
    made = " ".join(arguments for keyword, arguments in final if keyword == "RUN")
    assert f"--uid {uid}" in made and f"--gid {gid}" in made
    assert "HEALTHCHECK" in final_keywords
    healthcheck = healthcheck_command(final)
    assert healthcheck[0] == "python"
    assert "/health" in healthcheck[-1]
    assert "curl" not in " ".join(healthcheck), "slim images have no curl"
    env = " ".join(arguments for keyword, arguments in final if keyword == "ENV")
    assert "HOST=0.0.0.0" in env

    cmd = json.loads(next(arguments for keyword, arguments in final if keyword == "CMD"))
    assert cmd == ["python", "-m", bake.package]

    # Python packages come from the lock only: pip installs uv alone, at the version generated
    # projects pin, and every uv sync is --locked (a stale lock fails the build), after the lock
    # is in the build context.
    build = instructions[: stages[-1]]
    runs = [arguments for keyword, arguments in build if keyword == "RUN"]
    assert [run for run in runs if "pip install" in run] == [f"pip install --no-cache-dir uv=={UV_VERSION}"]
    syncs = [run for run in runs if run.startswith("uv sync")]
    assert len(syncs) == len(runs) - 1, f"a RUN neither installs uv nor syncs the lock: {runs}"
    assert all("--locked" in sync.split() and "--no-dev" in sync.split() for sync in syncs)
    first_sync = build.index(("RUN", syncs[0]))
    assert any(keyword == "COPY" and "uv.lock" in arguments.split() for keyword, arguments in build[:first_sync])
    assert "--no-editable" in syncs[-1].split(), "the runtime gets the package itself, not a link to /src"

    # Secrets never enter the image: nothing sets SECRET_KEY, nothing copies .env.
    for keyword, arguments in instructions:
        if keyword in {"ENV", "ARG"}:
            assert "SECRET_KEY" not in arguments
        if keyword in {"COPY", "ADD"}:
            assert ".env" not in arguments

    # Everything copied from the build context exists in the bake and is not dockerignored.
    patterns = [
        line.strip()
        for line in (bake.path / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = []
    for keyword, arguments in instructions:
        if keyword == "COPY" and "--from=" not in arguments:
            *sources, _ = shlex.split(arguments)
            copied += [source.rstrip("/") for source in sources if not source.startswith("--")]
    assert bake.package in copied
    for source in copied:
        assert (bake.path / source).exists(), f"COPY {source}: no such file in the project"
        files = (
            [source]
            if (bake.path / source).is_file()
            else [str(f.relative_to(bake.path)) for f in (bake.path / source).rglob("*.py")]
        )
        for file in files:
            assert not dockerignored(file, patterns), f"{file} is copied but .dockerignore leaves it out"

    for secret_or_junk in (
        ".env",
        ".venv/bin/python",
        f"{bake.package}/__pycache__/main.cpython-311.pyc",
        ".git/config",
    ):
        assert dockerignored(secret_or_junk, patterns), f"{secret_or_junk} would reach the build context"


def tool(name: str) -> str:
    """A linter requirements-dev.txt installs beside this Python (zizmor, hadolint)."""
    return str(Path(sys.executable).parent / name)


@pytest.mark.parametrize("name", DOCKER_BAKES)
def test_hadolint_finds_nothing(bakes, name, tmp_path):
    # Its default rules: no configuration from this machine (XDG_CONFIG_HOME, HADOLINT_*) applies.
    env = {key: value for key, value in os.environ.items() if not key.startswith("HADOLINT_")}
    env["XDG_CONFIG_HOME"] = str(tmp_path)
    result = subprocess.run(
        [tool("hadolint"), "--format", "json", "Dockerfile"],
        cwd=bakes[name].path,
        capture_output=True,
        text=True,
        env=env,
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, []), result.stdout + result.stderr


@pytest.fixture(scope="module")
def image_build(bakes, tmp_path_factory) -> tuple[Bake, Path, list[tuple[str, str]]]:
    """The Dockerfile's build stage run here, without Docker, on one bake: its COPYs copy from
    the bake into a fresh folder, its RUNs run there with its ENV (they are the ones the image
    runs), except that the environment goes to a fresh folder instead of /opt/venv, the Python is
    the bake's version found here instead of the image's, and uv may use its download cache."""
    bake = bakes[DOCKER_BAKES[0]]
    instructions = dockerfile_instructions((bake.path / "Dockerfile").read_text())
    runtime_start = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"][-1]
    work = tmp_path_factory.mktemp("image-build")
    source, venv = work / "src", work / "venv"
    source.mkdir()
    uv_bin = Path(sys.executable).parent
    env = dict(os.environ)
    for keyword, arguments in instructions[:runtime_start]:
        if keyword == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
        elif keyword == "COPY":
            *sources, destination = shlex.split(arguments)
            for item in sources:
                # Each lands at the same relative path in WORKDIR, as with `COPY a b ./`, `COPY pkg/ pkg/`.
                assert destination in ("./", item), f"COPY {arguments}: the emulation needs updating"
                copy = shutil.copytree if (bake.path / item).is_dir() else shutil.copy2
                copy(bake.path / item, source / item.rstrip("/"))
        elif keyword == "RUN" and arguments.startswith("pip install"):
            # The image installs uv from PyPI at the pinned version: the uv here is that one.
            version = run([uv_bin / "uv", "--version"], cwd=work).stdout.split()[1]
            assert arguments.endswith(f"uv=={version}"), "the uv here is not the one the image installs"
        elif keyword == "RUN":
            assert env["UV_PROJECT_ENVIRONMENT"] == "/opt/venv"
            env.pop("UV_NO_CACHE", None)
            here = {"UV_PROJECT_ENVIRONMENT": str(venv), "UV_PYTHON": find_python(bake.options["python_version"])}
            run(["/bin/sh", "-c", arguments], cwd=source, env={**env, **here, "PATH": f"{uv_bin}:{env['PATH']}"})
    return bake, venv, instructions[runtime_start:]


def installed_distributions(python: Path) -> dict[str, str]:
    listing = run(
        [
            python,
            "-c",
            "import importlib.metadata as m, json; print(json.dumps({d.name: d.version for d in m.distributions()}))",
        ],
        cwd=python.parent,
    )
    return {re.sub(r"[-_.]+", "-", name).lower(): version for name, version in json.loads(listing.stdout).items()}


def test_the_image_build_installs_exactly_the_locked_runtime(image_build):
    bake, venv, _ = image_build
    installed = installed_distributions(venv / "bin" / "python")
    locked = {
        package["name"]: package["version"] for package in tomllib.loads((bake.path / "uv.lock").read_text())["package"]
    }
    assert installed.pop(bake.slug) == "0.1.0"
    assert {name: locked.get(name) for name in installed} == installed, "versions differ from uv.lock"
    assert {"faster-api-web", "uvicorn", "python-jose", "libpass", "bcrypt"} <= set(installed)
    assert not {"pytest", "ruff"} & set(installed), "the development tools reached the image"
    # Installed, not linked to the build folder the runtime stage leaves behind.
    origin = run([venv / "bin" / "python", "-c", f"import {bake.package}; print({bake.package}.__file__)"], cwd=venv)
    assert Path(origin.stdout.strip()).is_relative_to(venv)


def test_the_image_serves_and_its_healthcheck_tells_up_from_down(image_build, tmp_path):
    _, venv, runtime = image_build
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",  # as the image's ENV PATH=/opt/venv/bin:$PATH
        "HOST": "127.0.0.1",  # loopback here; 0.0.0.0 inside the container
        "PORT": str(port),
        "SECRET_KEY": secrets.token_urlsafe(64),
    }
    command = json.loads(next(arguments for keyword, arguments in runtime if keyword == "CMD"))
    healthcheck = healthcheck_command(runtime)
    workdir = tmp_path / "app"  # the image's WORKDIR: empty, no .env
    workdir.mkdir()
    with serve(command, workdir, port, env=env):
        probe = subprocess.run(healthcheck, cwd=workdir, env={**os.environ, **env}, capture_output=True, timeout=30)
        assert probe.returncode == 0, probe.stderr
    probe = subprocess.run(healthcheck, cwd=workdir, env={**os.environ, **env}, capture_output=True, timeout=30)
    assert probe.returncode == 1, "the healthcheck passed with the service stopped"


# ---- GitHub Actions workflow ---------------------------------------------------------------------


@pytest.mark.parametrize("name", CI_BAKES)
def test_ci_workflow(bakes, name):
    bake = bakes[name]
    version = bake.options["python_version"]
    text = (bake.path / ".github" / "workflows" / "ci.yml").read_text()
    assert "${{" not in text
    workflow = yaml.safe_load(text)
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert {"push", "pull_request"} <= set(triggers)

    steps = [step for job in workflow["jobs"].values() for step in job["steps"]]
    setups = [step for step in steps if step.get("uses", "").startswith("actions/setup-python@")]
    assert setups, "no actions/setup-python step"
    assert {str(step["with"]["python-version"]) for step in setups} == {version}

    commands = "\n".join(step.get("run", "") for step in steps)
    assert "ruff check" in commands
    assert "ruff format --check" in commands
    assert "python -m pytest" in commands
    assert f"python -m {bake.package}" in commands, "CI never starts the service"

    database = bake.options["database"]
    assert (f"python -m {bake.package} migrate" in commands) == (database != "fake")
    services = workflow["jobs"]["test"].get("services", {})
    assert ("postgres" in services) == (database == "postgresql")
    if database == "postgresql":
        assert "TEST_DATABASE_URL" in workflow["jobs"]["test"]["env"]

    if bake.options["use_docker"] == "yes":
        assert "docker" in workflow["jobs"]
        if database == "fake":
            assert f"docker build -t {bake.slug}" in commands
        else:
            assert "docker compose up --build --detach --wait" in commands
            assert "/health/ready" in commands
    else:
        assert "docker" not in workflow["jobs"]

    # Least privilege: the token only reads, no job asks for more, no trigger runs a fork's code
    # with the base repository's secrets.
    assert workflow["permissions"] == {"contents": "read"}
    assert not any("permissions" in job for job in workflow["jobs"].values())
    assert "pull_request_target" not in triggers and "workflow_run" not in triggers
    # Every action pinned to a full commit, its release named in a comment; one commit per action.
    uses = re.findall(r"^\s*(?:- )?uses: (\S+)(.*)$", text, re.MULTILINE)
    assert uses
    pins = {}
    for reference, comment in uses:
        action, _, commit = reference.partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{reference} is not pinned to a commit"
        assert re.fullmatch(r" # v\d+\.\d+\.\d+", comment), f"{reference}: no release comment"
        pins.setdefault(action, set()).add(reference + comment)
    assert all(len(references) == 1 for references in pins.values()), pins
    checkouts = [step for step in steps if step.get("uses", "").startswith("actions/checkout@")]
    assert all(step.get("with", {}).get("persist-credentials") is False for step in checkouts)

    # Packages come from the lock: pip installs the pinned uv only, the lock is checked against
    # pyproject.toml, and each job that runs the code first syncs exactly the lock.
    installs = re.findall(r"pip install .*", commands)
    assert set(installs) == {f"pip install uv=={UV_VERSION}"}, installs
    assert "uv lock --check" in commands
    for job_name, job in workflow["jobs"].items():
        runs = [step.get("run", "") for step in job["steps"]]
        if any(".venv/bin/" in run for run in runs):
            assert "uv sync --locked --extra dev" in runs, f"job {job_name} does not install from the lock"


@pytest.mark.parametrize("name", BAKE_IDS)
def test_dependabot_updates_what_the_answers_bring(bakes, name):
    bake = bakes[name]
    config = yaml.safe_load((bake.path / ".github" / "dependabot.yml").read_text())
    assert config["version"] == 2
    updates = {update["package-ecosystem"]: update for update in config["updates"]}
    assert len(updates) == len(config["updates"]), "an ecosystem is listed twice"
    wanted = {"uv"}  # the lock, whatever the answers
    if bake.options["ci"] == "github-actions":
        wanted.add("github-actions")
    if bake.options["use_docker"] == "yes":
        wanted.add("docker")
    assert set(updates) == wanted
    assert (bake.path / "uv.lock").is_file()
    for ecosystem, update in updates.items():
        assert update["directory"] == "/", ecosystem
        assert update["schedule"]["interval"] == "weekly", ecosystem
        assert update["cooldown"]["default-days"] >= 7, ecosystem
        # One grouped pull request a week for every minor and patch update; majors come alone.
        [group] = update["groups"].values()
        assert group["patterns"] == ["*"], ecosystem
        assert sorted(group["update-types"]) == ["minor", "patch"], ecosystem
    if "docker" in updates:
        # Patch releases of the image's Python only: a newer minor is a decision, not an update.
        [rule] = [rule for rule in updates["docker"]["ignore"] if rule["dependency-name"] == "python"]
        assert set(rule["update-types"]) == {"version-update:semver-major", "version-update:semver-minor"}


@pytest.mark.parametrize("name", BAKE_IDS)
def test_zizmor_finds_nothing(bakes, name):
    """The workflows and dependabot.yml, at zizmor's default persona, no configuration."""
    result = subprocess.run(
        [tool("zizmor"), "--offline", "--no-config", "--format", "json", "."],
        cwd=bakes[name].path,
        capture_output=True,
        text=True,
    )
    assert (result.returncode, json.loads(result.stdout)) == (0, []), result.stdout + result.stderr
    audited = re.findall(r"completed (\S+)", result.stderr)
    assert "./.github/dependabot.yml" in audited
    assert ("./.github/workflows/ci.yml" in audited) == (bakes[name].options["ci"] == "github-actions")


# ---- compose.yaml ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SQL_DOCKER_BAKES)
def test_compose_runs_migrations_before_the_service_and_keeps_data_on_a_volume(bakes, name):
    bake = bakes[name]
    compose = yaml.safe_load((bake.path / "compose.yaml").read_text())
    services = compose["services"]
    app, migrate = services["app"], services["migrate"]
    assert migrate["command"] == ["python", "-m", bake.package, "migrate"]
    assert app["depends_on"] == {"migrate": {"condition": "service_completed_successfully"}}
    assert app["ports"] == ["127.0.0.1:8000:8000"]
    for service in (app, migrate):
        assert service["build"] == "."
        assert service["env_file"] == ".env"
    if bake.options["database"] == "postgresql":
        db = services["db"]
        assert db["image"].startswith("postgres:")
        assert "healthcheck" in db
        assert any(volume.endswith(":/var/lib/postgresql/data") for volume in db["volumes"])
        assert migrate["depends_on"] == {"db": {"condition": "service_healthy"}}
        assert "@db:5432/" in app["environment"]["DATABASE_URL"]
        assert set(compose["volumes"]) == {"db-data"}
    else:
        assert "db" not in services
        assert app["volumes"] == migrate["volumes"] == ["data:/app/data"]
        assert set(compose["volumes"]) == {"data"}
        dockerfile = (bake.path / "Dockerfile").read_text()
        assert "mkdir -m 700 /app/data && chown 10001:10001 /app/data" in dockerfile


# ---- cruft ---------------------------------------------------------------------------------------

GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "tests@example.com",
}


def git(*args, cwd: Path) -> subprocess.CompletedProcess:
    return run(["git", "-c", "init.defaultBranch=main", "-c", "commit.gpgsign=false", *args], cwd=cwd, env=GIT_IDENTITY)


def cruft(*args, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    if check:
        return run([sys.executable, "-m", "cruft", *args], cwd=cwd)
    return subprocess.run([sys.executable, "-m", "cruft", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def template_repo(tmp_path) -> Path:
    """This template as it is on disk (committed or not) in a git repository of its own."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=TEMPLATE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    repo = tmp_path / "template"
    for name in filter(None, listed.split("\0")):
        source = TEMPLATE_DIR / name
        if source.is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "template v1", cwd=repo)
    return repo


def test_cruft_create_then_update(template_repo, tmp_path):
    out = tmp_path / "projects"
    cruft(
        "create",
        template_repo,
        "--no-input",
        "--output-dir",
        out,
        "--extra-context",
        '{"project_name": "Kept Up"}',
        cwd=tmp_path,
    )
    project = out / "kept-up"
    env_before = (project / ".env").read_bytes()
    secret_key = re.search(rb"^SECRET_KEY=(.+)$", env_before, re.MULTILINE).group(1).decode()

    cruft_json = (project / ".cruft.json").read_text()
    state = json.loads(cruft_json)
    assert state["template"] and state["commit"]
    assert secret_key not in cruft_json
    assert "SECRET_KEY" not in cruft_json

    git("init", "-q", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "generated", cwd=project)
    assert not git("ls-files", ".env", cwd=project).stdout, ".env was committed"
    cruft("check", cwd=project)
    # The project's own .env differs from any fresh render's; cruft must not count it as drift.
    diff = cruft("diff", "--exit-code", cwd=project, check=False)
    assert diff.returncode == 0, f"a fresh project differs from its template:\n{diff.stdout}{diff.stderr}"

    # The template moves on: the project is out of date until `cruft update`.
    gitignore = template_repo / "{{cookiecutter.project_slug}}" / ".gitignore"
    gitignore.write_text(gitignore.read_text() + "*.log\n")
    git("commit", "-q", "-am", "template v2", cwd=template_repo)
    assert cruft("check", cwd=project, check=False).returncode != 0

    cruft("update", "--skip-apply-ask", cwd=project)
    assert "*.log" in (project / ".gitignore").read_text()
    assert (project / ".env").read_bytes() == env_before, "cruft update changed the project's .env"
    assert not list(project.rglob("*.rej")), "cruft update left rejected hunks"
    cruft("check", cwd=project)
    assert secret_key not in (project / ".cruft.json").read_text()

    # A changed answer goes through the same path: dropping Docker removes its files.
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "template v2 applied", cwd=project)
    cruft("update", "--skip-apply-ask", "--variables-to-update", '{"use_docker": "no"}', cwd=project)
    assert not (project / "Dockerfile").exists()
    assert not (project / ".dockerignore").exists()
    assert "docker" not in (project / "Makefile").read_text().lower()
    assert json.loads((project / ".cruft.json").read_text())["context"]["cookiecutter"]["use_docker"] == "no"
    assert (project / ".env").read_bytes() == env_before
    assert not list(project.rglob("*.rej"))
