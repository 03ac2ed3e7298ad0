"""The database benchmark (issue 10): the service baked with database=postgresql against its own
/health and against the FastAPI peer written the full-stack FastAPI way (a session per request,
the user loaded on every request: fastapi_peer/app_postgres.py), both on one PostgreSQL database.

Each app is served by one uvicorn worker pinned to CPU 0 and driven by wrk pinned to CPU 1, as
bench.py does; every ratio is measured A-B-B-A in each round. Run it through `run.sh database`,
which bakes and installs. It makes its own database on TEST_POSTGRES_URL's server and drops it.
"""

import os
import secrets
import statistics
import subprocess
import sys

import bench

SERVICE_PORT, PEER_PORT = 8111, 8112
SERVER_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = secrets.token_urlsafe(16)
COMPARISONS = [  # label, numerator, denominator, target
    ("/users/me vs /health (PostgreSQL service)", "me", "health", 0.8),
    ("/users/me vs FastAPI + PostgreSQL peer /users/me", "me", "peer", None),
]
LABELS = {
    "health": "GET /health (PostgreSQL service)",
    "me": "GET /users/me, valid token (PostgreSQL service)",
    "peer": "FastAPI + PostgreSQL peer GET /users/me",
}


def psql(statement: str) -> None:
    subprocess.run(["psql", SERVER_URL, "-qtAc", statement], check=True, capture_output=True, text=True)


def prepare(service_dir: str, url: str) -> None:
    """Migrate the new database and create alice, as the service's README says."""
    env = dict(os.environ, DATABASE_URL=url)
    for args, stdin in [(["migrate"], ""), (["users", "create", "alice", "--email", "alice@example.com"], PASSWORD)]:
        command = [sys.executable, "-m", "my_service", *args]
        subprocess.run(command, cwd=service_dir, env=env, input=stdin + "\n", check=True, text=True)


def serve(app: str, cwd: str, port: int, database_url: str):
    os.environ["DATABASE_URL"] = database_url  # start_server hands the environment on
    return bench.start_server("uvicorn", app, cwd, port)


def main(service_dir: str, peer_dir: str) -> None:
    with open(f"{service_dir}/.env") as env:
        os.environ["SECRET_KEY"] = next(line.split("=", 1)[1].strip() for line in env if line.startswith("SECRET_KEY="))
    name = f"bench_{secrets.token_hex(4)}"
    psql(f'CREATE DATABASE "{name}"')
    base = SERVER_URL.rsplit("/", 1)[0].split("://", 1)[1]
    servers = []
    try:
        prepare(service_dir, f"postgresql+asyncpg://{base}/{name}")
        servers.append(serve("my_service.main:app", service_dir, SERVICE_PORT, f"postgresql+asyncpg://{base}/{name}"))
        servers.append(serve("app_postgres:app", peer_dir, PEER_PORT, f"postgresql+psycopg://{base}/{name}"))
        bench.LOGIN_FORM = f"username=alice&password={PASSWORD}"
        token, peer_token = bench.login(SERVICE_PORT), bench.login(PEER_PORT)
        cases = {
            "health": lambda: bench.wrk(SERVICE_PORT, "/health", ""),
            "me": lambda: bench.wrk(SERVICE_PORT, "/users/me", token),
            "peer": lambda: bench.wrk(PEER_PORT, "/users/me", peer_token),
        }
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


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
