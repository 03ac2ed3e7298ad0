"""The database benchmark (issue 10): the service baked with database=postgresql against its own
/health and against the FastAPI peer written the full-stack FastAPI way (a session per request,
the user loaded on every request: fastapi_peer/app_postgres.py), both on one PostgreSQL database.

Each app is served by one uvicorn worker pinned to CPU 0 and driven by wrk pinned to CPU 1, as
bench.py does; every ratio is measured A-B-B-A in each round. Run it through `run.sh database`,
which bakes and installs. It makes its own database on TEST_POSTGRES_URL's server and drops it.

SERVICE_ENV="NAME=value ..." serves the service with those settings (JWT_ALGORITHM=ES256 makes
its signing key first; METRICS_ENABLED=true LOG_FORMAT=json, ...), and beside it the same bake
with its defaults, the reference: its /users/me is compared too, and the CPU one login and one
refresh cost the server is measured on both.
"""

import http.client
import os
import secrets
import statistics
import subprocess
import sys

import bench

SERVICE_PORT, PEER_PORT, REFERENCE_PORT = 8111, 8112, 8113
SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = secrets.token_urlsafe(16)
VARIANT = dict(item.split("=", 1) for item in os.environ.get("SERVICE_ENV", "").split())
COMPARISONS = [  # label, numerator, denominator, target
    ("/users/me vs /health (PostgreSQL service)", "me", "health", 0.85),
    ("/users/me vs FastAPI + PostgreSQL peer /users/me", "me", "peer", None),
]
LABELS = {
    "health": "GET /health (PostgreSQL service)",
    "me": "GET /users/me, valid token (PostgreSQL service)",
    "peer": "FastAPI + PostgreSQL peer GET /users/me",
}
if VARIANT:
    COMPARISONS.append(("/users/me vs the same with default settings", "me", "reference", None))
    LABELS["reference"] = "GET /users/me, default settings (reference)"
SESSION_LOGINS, SESSION_REFRESHES = 5, 200


def psql(statement: str) -> None:
    subprocess.run(["psql", SERVER_URL, "-qtAc", statement], check=True, capture_output=True, text=True)


def prepare(service_dir: str, url: str) -> None:
    """Migrate the new database and create alice, as the service's README says; with an
    asymmetric JWT_ALGORITHM, make its signing key (docs/keys.md)."""
    env = dict(os.environ, DATABASE_URL=url, **VARIANT)
    commands = [(["migrate"], ""), (["users", "create", "alice", "--email", "alice@example.com"], PASSWORD)]
    if VARIANT.get("JWT_ALGORITHM", "HS256") != "HS256":
        commands.append((["keys", "new"], ""))
    for args, stdin in commands:
        command = [sys.executable, "-m", "my_service", *args]
        subprocess.run(command, cwd=service_dir, env=env, input=stdin + "\n", check=True, text=True)


def serve(app: str, cwd: str, port: int, database_url: str, settings: dict | None = None):
    saved = dict(os.environ)
    os.environ.update(DATABASE_URL=database_url, **(settings or {}))  # start_server hands the environment on
    try:
        return bench.start_server("uvicorn", app, cwd, port)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def session_costs(port: int) -> tuple[float, float]:
    """Server CPU milliseconds per login and microseconds per refresh (one client, one at a time)."""
    pid, form = bench.SERVER_PIDS[port], {"Content-Type": "application/x-www-form-urlencoded"}
    before, cookie = bench.cpu_seconds(pid), ""
    for _ in range(SESSION_LOGINS):
        conn = http.client.HTTPConnection(bench.HOST, port, timeout=30)
        conn.request("POST", "/auth/token", bench.LOGIN_FORM, form)
        response = conn.getresponse()
        response.read()
        cookie = response.getheader("set-cookie").split(";")[0]
        conn.close()
    login = 1e3 * (bench.cpu_seconds(pid) - before) / SESSION_LOGINS
    before = bench.cpu_seconds(pid)
    for _ in range(SESSION_REFRESHES):
        conn = http.client.HTTPConnection(bench.HOST, port, timeout=30)
        conn.request("POST", "/auth/refresh", "", {"Cookie": cookie})
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            sys.exit(f"refresh on port {port} answered {response.status}")
        cookie = response.getheader("set-cookie").split(";")[0]
        conn.close()
    return login, 1e6 * (bench.cpu_seconds(pid) - before) / SESSION_REFRESHES


def main(service_dir: str, peer_dir: str) -> None:
    with open(f"{service_dir}/.env") as env:
        os.environ["SECRET_KEY"] = next(line.split("=", 1)[1].strip() for line in env if line.startswith("SECRET_KEY="))
    name = f"bench_{secrets.token_hex(4)}"
    psql(f'CREATE DATABASE "{name}"')
    base = SERVER_URL.rsplit("/", 1)[0].split("://", 1)[1]
    servers = []
    try:
        prepare(service_dir, f"postgresql+asyncpg://{base}/{name}")
        service_url = f"postgresql+asyncpg://{base}/{name}"
        servers.append(serve("my_service.main:app", service_dir, SERVICE_PORT, service_url, VARIANT))
        servers.append(serve("app_postgres:app", peer_dir, PEER_PORT, f"postgresql+psycopg://{base}/{name}"))
        bench.LOGIN_FORM = f"username=alice&password={PASSWORD}"
        token, peer_token = bench.login(SERVICE_PORT), bench.login(PEER_PORT)
        cases = {
            "health": lambda: bench.wrk(SERVICE_PORT, "/health", ""),
            "me": lambda: bench.wrk(SERVICE_PORT, "/users/me", token),
            "peer": lambda: bench.wrk(PEER_PORT, "/users/me", peer_token),
        }
        if VARIANT:
            servers.append(serve("my_service.main:app", service_dir, REFERENCE_PORT, service_url))
            reference_token = bench.login(REFERENCE_PORT)
            cases["reference"] = lambda: bench.wrk(REFERENCE_PORT, "/users/me", reference_token)
            costs = {"service": session_costs(SERVICE_PORT), "reference": session_costs(REFERENCE_PORT)}
        for run in cases.values():
            run()  # warm-up
        runs = {case: [] for case in cases}
        ratios = {label: [] for label, *_ in COMPARISONS}
        for round_number in range(bench.ROUNDS):
            for label, top, bottom, _ in COMPARISONS[round_number % 2 :] + COMPARISONS[: round_number % 2]:
                a1, b1, b2, a2 = cases[top](), cases[bottom](), cases[bottom](), cases[top]()
                runs[top] += [a1, a2]
                runs[bottom] += [b1, b2]
                ratios[label].append((a1[0] + a2[0]) / (b1[0] + b2[0]))
            print(
                f"round {round_number + 1}/{bench.ROUNDS}: "
                + ", ".join(f"{label} {values[-1]:.2f}x" for label, values in ratios.items()),
                flush=True,
            )
    finally:
        bench.stop(servers)
        psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    print(f"\nMachine: {bench.machine()}")
    print(f"\n{'== uvicorn: one worker on CPU 0, wrk on CPU 1':<52}{'req/s':>9}{'server CPU us/req':>19}")
    for case, label in LABELS.items():
        rps, cpu = (statistics.median(run[column] for run in runs[case]) for column in (0, 1))
        print(f"{label:<52}{rps:>9,.0f}{cpu:>19.0f}")
    print(f"\n{'ratio of req/s (median over rounds, A-B-B-A each)':<52}{'value':>7}{'min-max':>12}{'target':>9}")
    for label, _, _, target in COMPARISONS:
        values = ratios[label]
        wanted = f">={target}x" if target else "-"
        met = ("  yes" if statistics.median(values) >= target else "  NO") if target else ""
        print(f"{label:<52}{statistics.median(values):>6.2f}x{min(values):>7.2f}-{max(values):<5.2f}{wanted:>9}{met}")
    if VARIANT:
        print(f"\nservice settings: {' '.join(f'{key}={value}' for key, value in VARIANT.items())}")
        print(f"{'server CPU per session step (one client)':<52}{'login ms':>9}{'refresh us':>12}")
        for which, (login, refresh) in costs.items():
            print(f"{which:<52}{login:>9.1f}{refresh:>12.0f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
