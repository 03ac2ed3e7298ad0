"""A bake holds what its answers chose and nothing else, and says where everything is.

Each `database` answer is baked and checked: its README is a short map whose links all lead to
pages of its docs/; no file names another answer's tools (only `database=<answer>` advice may);
no module-level name is unused (vulture); every backend module the shared code imports is there.
On PostgreSQL, every way a connection is refused is one line naming what fixes it, and `make db`
(the fix it names for a missing role or database) makes `make run`'s migration work.
"""

import ast
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from hooks.post_gen_project import BACKEND_FOLDERS, BACKENDS_DIR

from . import postgres
from .conftest import TEMPLATE_DIR, free_port, rendered, run

DATABASES = ["fake", "sqlite", "postgresql"]
PROJECT = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
PACKAGE = "{{cookiecutter.package_name}}"

# Words that mark an answer: none may appear in a bake of another answer (case ignored).
MARKS = {
    "fake": ["fake_users_db"],
    "sqlite": ["sqlite", "pragma"],
    "postgresql": ["postgres", "asyncpg", "psql"],
    "sql": ["alembic", "sqlalchemy", "database_url", "users create"],
}
MARKS_OF = {"fake": ["fake"], "sqlite": ["sql", "sqlite"], "postgresql": ["sql", "postgresql"]}

# Names that frameworks use by name or by decorator, which vulture cannot see being used.
VULTURE_IGNORES = [
    "--ignore-decorators",
    "@app.*,@router.*,@sign_out_route,@pytest.fixture*",  # FasterAPI routes, pytest fixtures
    "--ignore-names",
    # Alembic reads a migration's revision ids and calls upgrade/downgrade; pytest reads pytestmark.
    "revision,down_revision,branch_labels,depends_on,upgrade,downgrade,pytestmark,pytest_*",
]


@pytest.fixture(scope="module")
def bakes(cookies_session) -> dict[str, Path]:
    baked = {}
    for database in DATABASES:
        result = cookies_session.bake(extra_context={"database": database, "project_name": f"Map {database}"})
        assert result.exit_code == 0, result.exception
        baked[database] = Path(result.project_path)
    return baked


def links(page: Path) -> list[str]:
    """The relative targets of a page's Markdown links, without #anchors."""
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text())
    return [target for target in targets if "://" not in target and not target.startswith("mailto:")]


@pytest.mark.parametrize("database", DATABASES)
def test_the_readme_is_a_map_of_the_docs_pages(bakes, database):
    project = bakes[database]
    readme = project / "README.md"
    assert len(readme.read_text().splitlines()) < 200
    pages = sorted((project / "docs").glob("*.md"))
    assert len(pages) >= 6
    linked = {(project / target).resolve() for target in links(readme)}
    assert [page for page in pages if page.resolve() not in linked] == [], "pages the README does not link"
    for page in [readme, *pages]:
        for target in links(page):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which is not in the bake"
        assert page.read_text().strip(), f"{page.name} is empty"


def test_the_template_readme_is_a_map_too():
    readme = TEMPLATE_DIR / "README.md"
    text = readme.read_text()
    assert len(text.splitlines()) < 200
    for command in ("bash scripts/serve.sh", "bash scripts/test.sh", "## Questions the template asks"):
        assert command in text
    pages = sorted((TEMPLATE_DIR / "docs").glob("*.md"))
    assert {TEMPLATE_DIR / target for target in links(readme)} >= set(pages)
    for page in pages:
        for target in links(page):
            assert (page.parent / target).exists(), f"{page.name} links to {target}"


@pytest.mark.parametrize("database", DATABASES)
def test_a_bake_names_no_other_answers_tools(bakes, database):
    """No code, setting, command, dependency or page of an answer not chosen: its marks appear
    nowhere (`database=<answer>`, advice to generate the project again, may)."""
    unwanted = [word for kind, words in MARKS.items() if kind not in MARKS_OF[database] for word in words]
    found = []
    for path in filter(rendered, (p for p in bakes[database].rglob("*") if p.is_file())):
        text = path.read_text(errors="replace").lower()
        text = re.sub(r"database=(fake|sqlite|postgresql)", "", text)
        found += [f"{path.relative_to(bakes[database])}: {word}" for word in unwanted if word in text]
    assert found == []


@pytest.mark.parametrize("database", DATABASES)
def test_no_module_level_name_is_unused(bakes, database):
    """vulture on the bake (code and tests); a finding counts when its name is defined at module
    level (a function's unused argument, a Struct's field others serialise, are not)."""
    command = [Path(sys.executable).parent / "vulture", bakes[database], "--min-confidence", "60", *VULTURE_IGNORES]
    output = subprocess.run(command, capture_output=True, text=True, timeout=120).stdout
    unused = []
    for finding in output.splitlines():
        path, number, what = finding.split(":", 2)
        line = Path(path).read_text().splitlines()[int(number) - 1]
        an_argument = "variable" in what and line.startswith(("def ", "async def "))
        if not line[:1].isspace() and not an_argument:
            unused.append(finding.removeprefix(f"{bakes[database]}/"))
    assert unused == []


def backend_modules_imported_by_shared_code() -> set[str]:
    """The package's modules the shared code imports (`from . import x`, `from .x import y`)
    that no shared file provides: what every backend must provide."""
    shared = PROJECT / PACKAGE
    imported = set()
    for path in shared.rglob("*.py"):
        source = re.sub(r"(?m)^\s*\{%.*%\}\s*$", "", path.read_text())  # the Jinja lines
        for node in ast.walk(ast.parse(source.replace("{{ cookiecutter.package_name }}", "package"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                depth = len(path.relative_to(shared).parts) - 1  # routers/ imports with ..
                if node.level != depth + 1:
                    continue
                if node.module:
                    imported.add(node.module.split(".")[0])
                else:
                    imported.update(alias.name for alias in node.names)
    provided = {path.stem for path in shared.iterdir() if path.suffix == ".py" or path.is_dir()}
    return imported - provided


@pytest.mark.parametrize("database", DATABASES)
def test_each_backend_provides_every_module_the_shared_code_imports(database):
    needed = backend_modules_imported_by_shared_code()
    assert {"cli", "database", "refresh_store", "throttle_store", "user_store"} <= needed
    provided = {
        path.stem
        for folder in BACKEND_FOLDERS[database]
        for path in (PROJECT / BACKENDS_DIR / folder / PACKAGE).iterdir()
        if path.suffix == ".py" or path.is_dir()
    }
    assert needed - provided == set()


def test_the_shared_code_reaches_the_backend_through_backend_py_alone():
    """backend.py imports the backend's modules; other shared modules import backend.py."""
    shared = PROJECT / PACKAGE
    needed = backend_modules_imported_by_shared_code()
    for path in shared.rglob("*.py"):
        if path.name == "backend.py":
            continue
        source = re.sub(r"(?m)^\s*\{%.*%\}\s*$", "", path.read_text())
        for node in ast.walk(ast.parse(source.replace("{{ cookiecutter.package_name }}", "package"))):
            if isinstance(node, ast.ImportFrom) and node.level > 0:
                names = {node.module.split(".")[0]} if node.module else {alias.name for alias in node.names}
                assert not names & needed, f"{path.name} imports {names & needed} around backend.py"


# ---- Errors that name the fix (PostgreSQL) ------------------------------------------------------


def migrate(python: Path, project: Path, url: str | None = None) -> subprocess.CompletedProcess:
    env = {"DATABASE_URL": url} if url else {}
    return run([python, "-m", "pg_service", "migrate"], cwd=project, env=env, check=False)


def one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("error: cannot use the database at ")
    return line


def test_a_refused_connection_is_one_line_naming_the_fix(sql_projects, sql_python):
    postgres.require_server()
    project = sql_projects["postgresql"]
    server = postgres.SERVER_URL.rsplit("/", 1)[0]  # postgresql://postgres@127.0.0.1:5432
    missing_role = postgres.async_url(server.replace("postgres@", f"nobody_{secrets.token_hex(3)}@") + "/postgres")
    line = one_line(migrate(sql_python, project, missing_role))
    assert 'role "nobody_' in line and "does not exist" in line and "`make db`" in line

    missing_database = postgres.async_url(f"{server}/nothing_{secrets.token_hex(3)}")
    line = one_line(migrate(sql_python, project, missing_database))
    assert 'database "nothing_' in line and "`make db`" in line

    unreachable = f"postgresql+asyncpg://someone:hunter2@127.0.0.1:{free_port()}/db"
    line = one_line(migrate(sql_python, project, unreachable))
    assert "Connect call failed" in line or "Connection refused" in line, line
    assert "start PostgreSQL" in line and "docs/database.md" in line
    assert "hunter2" not in line


def test_a_wrong_password_is_one_line_naming_the_fix(sql_projects, sql_python):
    """A private server that asks for passwords (scram-sha-256 over TCP)."""
    if problem := postgres.private_server_problem():
        pytest.skip(problem)
    server = postgres.PrivateServer(free_port())
    try:
        server.create()
        (server.folder / "data" / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        server.start()
        set_password = subprocess.run(
            ["psql", "-h", str(server.folder), "-p", str(server.port), "-U", "postgres", "-d", "postgres",
             "-c", "ALTER ROLE postgres PASSWORD 'right'"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert set_password.returncode == 0, set_password.stderr
        url = f"postgresql+asyncpg://postgres:wrong@127.0.0.1:{server.port}/postgres"
        line = one_line(migrate(sql_python, sql_projects["postgresql"], url))
        assert "password authentication failed" in line
        assert "the password in DATABASE_URL is not the role's" in line and "`make db`" in line
        assert "wrong" not in line.replace("password authentication", "")
        right = url.replace(":wrong@", ":right@")
        assert "from empty to revision" in migrate(sql_python, sql_projects["postgresql"], right).stdout
    finally:
        server.remove()


def test_make_db_creates_what_make_run_needs(cookies_session, sql_python, tmp_path):
    """A PostgreSQL bake of its own (its role and database names are its package's): migrate
    fails naming `make db`; `make db` (twice: it does nothing the second time) makes it work."""
    postgres.require_server()
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    name = f"Db Fix {secrets.token_hex(3)}"
    result = cookies_session.bake(extra_context={"database": "postgresql", "project_name": name})
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    package = result.context["package_name"]
    run([sql_python.parent / "pip", "install", "--no-deps", "--quiet", "-e", project], cwd=tmp_path)
    command = [sql_python, "-m", package, "migrate"]
    refused = run(command, cwd=project, check=False)
    assert f'role "{package}" does not exist' in refused.stderr and "`make db`" in refused.stderr
    server = urlsplit(postgres.SERVER_URL)
    psql = f"psql -h {server.hostname} -p {server.port or 5432} -U {server.username}"
    try:
        for _ in range(2):
            made = run(["make", "db", f"PSQL={psql}"], cwd=project)
            assert "next: make run" in made.stdout
        assert "from empty to revision" in run(command, cwd=project).stdout
    finally:
        postgres.psql(f'DROP DATABASE IF EXISTS "{package}" WITH (FORCE)')
        postgres.psql(f'DROP ROLE IF EXISTS "{package}"')


# ---- One description per column ----------------------------------------------------------------


def test_adding_a_column_takes_a_field_a_column_and_a_generated_migration(cookies_session, sql_python, tmp_path):
    """The recipe of docs/database.md on a SQLite bake: `display_name` in tables.py and in User,
    a migration from `alembic revision --autogenerate`, `migrate`; then the bake's whole test
    suite passes, with a test of its own that /users/me and the admin list show the new field."""
    result = cookies_session.bake(extra_context={"database": "sqlite", "project_name": "Column Added"})
    assert result.exit_code == 0, result.exception
    project = Path(result.project_path)
    package = project / "column_added"
    assert "Adding a column to users" in (project / "docs" / "database.md").read_text()
    tables = package / "tables.py"
    email = '    Column("email", String(320)),\n'
    tables.write_text(tables.read_text().replace(email, email + '    Column("display_name", String(100)),\n'))
    models = package / "models.py"
    disabled = "    disabled: bool = False\n"
    assert models.read_text().count(disabled) == 1
    models.write_text(models.read_text().replace(disabled, disabled + "    display_name: str | None = None\n"))
    run([sql_python.parent / "pip", "install", "--no-deps", "--quiet", "-e", project], cwd=tmp_path)

    env = {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'app.db'}"}
    run([sql_python, "-m", "column_added", "migrate"], cwd=project, env=env)
    run([sql_python.parent / "alembic", "revision", "--autogenerate", "-m", "display name"], cwd=project, env=env)
    [written] = (package / "migrations" / "versions").glob("*display_name.py")
    assert "add_column" in written.read_text() and "display_name" in written.read_text()
    assert "to revision" in run([sql_python, "-m", "column_added", "migrate"], cwd=project, env=env).stdout

    test = project / "tests" / "test_display_name.py"
    test.write_text(
        "from .conftest import admin_token, bearer, login\n\n\n"
        "def test_the_new_field_is_shown(client):\n"
        '    token = login(client).json()["access_token"]\n'
        '    assert client.get("/users/me", headers=bearer(token)).json()["display_name"] is None\n'
        '    listed = client.get("/users", headers=admin_token()).json()["users"]\n'
        '    [alice] = [user for user in listed if user["username"] == "alice"]\n'
        '    assert alice["display_name"] is None\n'
    )
    # The bake's whole suite: the new field reaches every view, and nothing else had to change.
    outcome = run([sql_python, "-m", "pytest", "-q", "-rA", "-p", "no:cacheprovider"], cwd=project, check=False)
    assert outcome.returncode == 0, outcome.stdout[-3000:]
    assert "PASSED tests/test_display_name.py::test_the_new_field_is_shown" in outcome.stdout
