"""The hooks, imported and called directly (they are importable: hooks/__init__.py)."""

import re
import stat

import pytest

from hooks import post_gen_project, pre_gen_project

GOOD_ANSWERS = {
    "project_slug": "billing-gateway",
    "package_name": "billing_gateway",
    "access_token_expire_minutes": "30",
    "refresh_token_expire_days": "7",
}


def test_good_answers_have_no_problems():
    assert pre_gen_project.problems(GOOD_ANSWERS) == []


@pytest.mark.parametrize("package_name", ["1abc", "my-service", "my service", "class", "match", "json", "café", ""])
def test_bad_package_names_are_named_in_the_problem(package_name):
    problems = pre_gen_project.problems({**GOOD_ANSWERS, "package_name": package_name})
    assert len(problems) == 1
    assert repr(package_name) in problems[0]


@pytest.mark.parametrize("slug", ["", "-leading", "has/slash", "..", "Upper", "with space"])
def test_bad_slugs_are_named_in_the_problem(slug):
    [problem] = pre_gen_project.problems({**GOOD_ANSWERS, "project_slug": slug})
    assert repr(slug) in problem


@pytest.mark.parametrize("value", ["0", "-5", "ten", "1.5", ""])
def test_lifetimes_must_be_positive_whole_numbers(value):
    problems = pre_gen_project.problems({**GOOD_ANSWERS, "refresh_token_expire_days": value})
    assert problems == [f"refresh_token_expire_days must be a whole number of at least 1, not {value!r}."]


def test_secret_keys_are_long_and_fresh():
    keys = {post_gen_project.new_secret_key() for _ in range(5)}
    assert len(keys) == 5
    assert all(len(key) >= 43 for key in keys)  # 43 url-safe characters carry 256 bits


def test_env_file_is_private_and_never_overwritten(tmp_path):
    env_path = post_gen_project.write_env_file(tmp_path, "SECRET_KEY=the-key\n")
    assert "SECRET_KEY=the-key\n" in env_path.read_text()
    assert stat.S_IMODE(env_path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        post_gen_project.write_env_file(tmp_path, "SECRET_KEY=another-key\n")
    assert "SECRET_KEY=the-key\n" in env_path.read_text()


@pytest.mark.parametrize("database", ["fake", "sqlite"])
def test_env_holds_no_database_secrets_without_a_database_server(database):
    text = post_gen_project.env_text("the-key", database, "billing_gateway")
    assert "SECRET_KEY=the-key\n" in text
    assert "POSTGRES" not in text
    assert "DATABASE_URL" not in text


def test_env_gives_postgresql_a_fresh_password_in_its_url():
    texts = [post_gen_project.env_text("the-key", "postgresql", "billing_gateway") for _ in range(2)]
    values = [
        dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
        for text in texts
    ]
    first, second = values
    assert first["POSTGRES_PASSWORD"] != second["POSTGRES_PASSWORD"]
    assert len(first["POSTGRES_PASSWORD"]) >= 32
    assert first["POSTGRES_USER"] == first["POSTGRES_DB"] == "billing_gateway"
    password = first["POSTGRES_PASSWORD"]
    assert first["DATABASE_URL"] == f"postgresql+asyncpg://billing_gateway:{password}@127.0.0.1:5432/billing_gateway"


def backend_tree(project) -> None:
    """A project as cookiecutter renders it, before the hook: the backends side by side."""
    for backend in ("fake", "sql"):
        package = project / "_backends" / backend / "pkg"
        package.mkdir(parents=True)
        (package / "user_store.py").write_text(f"# {backend}\n")
        (project / "_backends" / backend / "tests").mkdir()
        (project / "_backends" / backend / "tests" / f"test_{backend}.py").write_text("")
    (project / "_backends" / "sql" / "pkg" / "tables.py").write_text("")
    for dialect in ("sqlite", "postgresql"):
        (project / "_backends" / dialect / "pkg").mkdir(parents=True)
        (project / "_backends" / dialect / "pkg" / "dialect.py").write_text(f"# {dialect}\n")
    (project / "pkg").mkdir()
    (project / "pkg" / "main.py").write_text("")
    (project / "tests").mkdir()


@pytest.mark.parametrize(("database", "backend"), [("fake", "fake"), ("sqlite", "sql"), ("postgresql", "sql")])
def test_the_chosen_backend_moves_into_place_and_no_other(tmp_path, database, backend):
    backend_tree(tmp_path)
    post_gen_project.install_backend(tmp_path, database)
    assert not (tmp_path / "_backends").exists()
    assert (tmp_path / "pkg" / "user_store.py").read_text() == f"# {backend}\n"
    assert (tmp_path / "pkg" / "main.py").exists()
    assert (tmp_path / "pkg" / "tables.py").exists() == (backend == "sql")
    dialect = tmp_path / "pkg" / "dialect.py"
    assert (dialect.read_text() if dialect.exists() else None) == (f"# {database}\n" if backend == "sql" else None)
    assert sorted(path.name for path in (tmp_path / "tests").iterdir()) == [f"test_{backend}.py"]


@pytest.mark.parametrize("clash", ["pkg/main.py", "pkg/tables.py"])
def test_a_backend_file_that_would_replace_another_stops_the_generation(tmp_path, clash):
    """A shared file (main.py), or a file of the SQL backend (tables.py), with the path of a
    PostgreSQL file: the hook names both and moves nothing."""
    backend_tree(tmp_path)
    (tmp_path / "_backends" / "postgresql" / clash).write_text("# postgresql\n")
    with pytest.raises(post_gen_project.BackendClash, match=f"_backends/postgresql/{clash} would replace {clash}"):
        post_gen_project.install_backend(tmp_path, "postgresql")
    assert (tmp_path / "_backends" / "sql" / "pkg" / "user_store.py").exists()  # nothing moved
    assert not (tmp_path / "pkg" / "user_store.py").exists()


DOCKER_FILES = {"Dockerfile", ".dockerignore", "compose.yaml", "prometheus"}


@pytest.mark.parametrize(
    ("use_docker", "ci", "kept", "removed"),
    [
        ("yes", "github-actions", {*DOCKER_FILES, ".github/workflows"}, set()),
        ("no", "none", set(), {*DOCKER_FILES, ".github/workflows"}),
        ("no", "github-actions", {".github/workflows"}, DOCKER_FILES),
    ],
)
def test_files_of_options_not_taken_are_removed(tmp_path, use_docker, ci, kept, removed):
    (tmp_path / "Dockerfile").write_text("FROM python\n")
    (tmp_path / ".dockerignore").write_text(".env\n")
    (tmp_path / "compose.yaml").write_text("services: {}\n")
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "rules.yml").write_text("groups: []\n")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "dependabot.yml").write_text("version: 2\n")
    post_gen_project.remove_unused_files(tmp_path, use_docker=use_docker, ci=ci)
    assert all((tmp_path / name).exists() for name in kept)
    assert not any((tmp_path / name).exists() for name in removed)
    # Dependabot keeps the lock (and the base image) up to date with or without CI.
    assert (tmp_path / ".github" / "dependabot.yml").is_file()


# A uv.lock as scripts/lock.py stores it: made for the stand-in project, which sorts after "httpx".
STORED_LOCK = """\
version = 1
revision = 3
requires-python = ">=3.11"

[[package]]
name = "anyio"
version = "4.9.0"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "httpx"
version = "0.28.1"
source = { registry = "https://pypi.org/simple" }

[[package]]
name = "locked-service"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "httpx" },
]

[package.metadata]
requires-dist = [{ name = "httpx" }]

[[package]]
name = "zope-interface"
version = "7.2"
source = { registry = "https://pypi.org/simple" }
"""


def lock_entries(lock: str) -> list[tuple[str, str]]:
    """(name, source) of each entry, in the file's order."""
    return re.findall(r'\[\[package\]\]\nname = "(.*)"\nversion = ".*"\nsource = \{ (\w+)', lock)


@pytest.mark.parametrize(
    ("slug", "name", "position"),
    [
        ("aardvark", "aardvark", 0),
        ("billing-gateway", "billing-gateway", 1),
        ("my_svc.x", "my-svc-x", 2),  # uv writes names normalised (PEP 503)
        ("zzz", "zzz", 3),
    ],
)
def test_the_project_takes_its_name_and_uvs_place_in_the_lock(slug, name, position):
    placed = post_gen_project.place_project_in_lock(STORED_LOCK, slug)
    entries = lock_entries(placed)
    assert entries[position] == (name, "editable")
    assert [entry for entry in entries if entry[1] == "registry"] == [
        ("anyio", "registry"),
        ("httpx", "registry"),
        ("zope-interface", "registry"),
    ]
    # The entry moves whole, sub-tables included; nothing else changes.
    own = 'version = "0.1.0"\nsource = { editable = "." }\ndependencies = [\n    { name = "httpx" },\n]\n\n'
    assert own + '[package.metadata]\nrequires-dist = [{ name = "httpx" }]\n' in placed
    assert sorted(placed.splitlines()) == sorted(STORED_LOCK.replace("locked-service", name).splitlines())


def test_a_lock_already_in_place_is_left_as_it_is():
    assert post_gen_project.place_project_in_lock(STORED_LOCK, "locked-service") == STORED_LOCK


def test_a_lock_without_the_projects_own_entry_stops_generation():
    without = STORED_LOCK.replace('source = { editable = "." }', 'source = { registry = "https://pypi.org/simple" }')
    with pytest.raises(ValueError):
        post_gen_project.place_project_in_lock(without, "billing-gateway")
