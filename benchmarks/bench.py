"""Serves the baked service and the FastAPI peer (one uvicorn worker each, pinned to CPU 0),
drives them with wrk pinned to CPU 1, and prints req/s and the three ratios of issue 5.

Run it through run.sh, which builds the venv and bakes the template. Each round measures every
case once, in a rotating order, so slow phases of a noisy machine hit all cases alike; the
ratios are taken within each round and the table shows their median over the rounds.
"""

import http.client
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import threading
import time
from importlib.metadata import version

ROUNDS = int(os.environ.get("ROUNDS", "5"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "4"))
CONNECTIONS = 64
LOGIN_CLIENTS = 4
HOST = "127.0.0.1"
SERVICE_PORT, PEER_PORT = 8101, 8102
LOGIN_FORM = "username=alice&password=secret"
SERVER_PIDS: dict[int, int] = {}  # port -> pid of the uvicorn process serving it


def request(port: int, method: str, path: str, body: str = "", headers: dict | None = None) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        conn.request(method, path, body, headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def login(port: int) -> str:
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = request(port, "POST", "/auth/token", LOGIN_FORM, headers)
    if status != 200:
        sys.exit(f"login on port {port} answered {status}: {body[:200]!r}")
    return json.loads(body)["access_token"]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads included."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(app: str, cwd: str, port: int) -> subprocess.Popen:
    try:
        request(port, "GET", "/health")
        sys.exit(f"port {port} is already in use: is another benchmark running?")
    except OSError:
        pass  # free, as it should be
    options = f"--host {HOST} --port {port} --workers 1 --no-access-log --log-level warning"
    command = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", app, *options.split()]
    server = subprocess.Popen(command, cwd=cwd, start_new_session=True)
    for _ in range(150):
        try:
            if request(port, "GET", "/health")[0] == 200:
                SERVER_PIDS[port] = server.pid  # taskset execs, so this is uvicorn itself
                return server
        except OSError:
            if server.poll() is not None:
                sys.exit(f"{app} exited with code {server.returncode}")
            time.sleep(0.2)
    sys.exit(f"{app} did not answer on port {port}")


def wrk(port: int, path: str, token: str, seconds: int = SECONDS) -> tuple[float, float]:
    """req/s, and the server's CPU microseconds per request (robust to other load on CPU 0)."""
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", f"http://{HOST}:{port}{path}"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    cpu_before = cpu_seconds(SERVER_PIDS[port])
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    cpu = cpu_seconds(SERVER_PIDS[port]) - cpu_before
    if "Non-2xx" in out:
        sys.exit(f"wrk got error answers from {path}:\n{out}")
    if "Socket errors" in out:
        print(f"warning: wrk on {path}: " + out.split("Socket errors:")[1].splitlines()[0].strip(), flush=True)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1e6 * cpu / requests


def login_loop(port: int, seconds: float) -> None:
    """`bench.py login PORT SECONDS`: LOGIN_CLIENTS clients log in back to back, then print counts."""
    deadline = time.monotonic() + seconds
    statuses = []  # list.append is atomic: no lock needed

    def client() -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < deadline:
            conn.request("POST", "/auth/token", LOGIN_FORM, headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(LOGIN_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ok = statuses.count(200)
    print(ok, len(statuses) - ok)


def under_login_load(port: int, token: str) -> tuple[float, float, float]:
    """/users/me while the login loop runs (pinned to CPU 1 too): req/s, CPU us/req, logins/s."""
    command = ["taskset", "-c", "1", sys.executable, __file__, "login", str(port), str(SECONDS + 1)]
    logins = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(0.5)  # let the hashing threads fill up first
        rps, cpu = wrk(port, "/users/me", token)
        ok, failed = map(int, logins.communicate(timeout=60)[0].split())
    finally:
        logins.kill()
    if failed or not ok:
        sys.exit(f"login loop: {ok} logins succeeded, {failed} failed")
    return rps, cpu, ok / (SECONDS + 1)


def machine() -> str:
    with open("/proc/cpuinfo") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), "?")
    packages = ", ".join(
        f"{name} {version(name)}"
        for name in ["faster-api-web", "fastapi", "pydantic", "uvicorn", "python-jose", "libpass", "bcrypt"]
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, wrk -t1 -c{CONNECTIONS} "
        f"-d{SECONDS}s, {ROUNDS} rounds\n{packages}"
    )


def main(service_dir: str, peer_dir: str) -> None:
    servers = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally below still runs
    try:
        servers.append(start_server("my_service.main:app", service_dir, SERVICE_PORT))
        with open(f"{service_dir}/.env") as env:
            secret = next(line.split("=", 1)[1].strip() for line in env if line.startswith("SECRET_KEY="))
        os.environ["SECRET_KEY"] = secret  # the peer signs with the same key and algorithm
        servers.append(start_server("app:app", peer_dir, PEER_PORT))
        token, peer_token = login(SERVICE_PORT), login(PEER_PORT)
        for port, tok in [(SERVICE_PORT, token), (PEER_PORT, peer_token)]:
            status, body = request(port, "GET", "/users/me", headers={"Authorization": f"Bearer {tok}"})
            assert status == 200 and json.loads(body)["username"] == "alice", (port, status, body)

        cases = {  # name -> (label, run one measurement)
            "health": ("GET /health", lambda: wrk(SERVICE_PORT, "/health", "")),
            "me": ("GET /users/me, valid token", lambda: wrk(SERVICE_PORT, "/users/me", token)),
            "peer": ("FastAPI peer GET /users/me", lambda: wrk(PEER_PORT, "/users/me", peer_token)),
            "peer_health": ("FastAPI peer GET /health (for context)", lambda: wrk(PEER_PORT, "/health", "")),
            "login": (
                f"GET /users/me, {LOGIN_CLIENTS} clients logging in",
                lambda: under_login_load(SERVICE_PORT, token),
            ),
        }
        for name in ["health", "me", "peer", "peer_health"]:
            cases[name][1]()  # warm-up (full length: short runs on this machine came out uneven)
        results = {name: [] for name in cases}
        names = list(cases)
        for round_number in range(ROUNDS):
            for name in names[round_number % len(names) :] + names[: round_number % len(names)]:
                results[name].append(cases[name][1]())
            print(
                f"round {round_number + 1}/{ROUNDS} req/s: "
                + ", ".join(f"{name} {results[name][-1][0]:.0f}" for name in names),
                flush=True,
            )
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    report({name: label for name, (label, _) in cases.items()}, results)


def report(labels: dict, results: dict) -> None:
    def median(name: str, column: int) -> float:
        return statistics.median(result[column] for result in results[name])

    print(f"\nMachine: {machine()}\n")
    print(f"{'case (one uvicorn worker on CPU 0, wrk on CPU 1)':<50}{'req/s':>9}{'server CPU us/req':>19}")
    for name, label in labels.items():
        cpu = f"{median(name, 1):>19.0f}" if name != "login" else f"{'(incl. bcrypt)':>19}"
        print(f"{label:<50}{median(name, 0):>9,.0f}{cpu}")
    print(f"logins/s during the login-load runs: {median('login', 2):.1f}")
    print(f"\n{'ratio of req/s (median of per-round ratios)':<50}{'value':>7}{'min-max':>12}{'target':>9}  met")
    ratios = [
        ("/users/me vs /health", "me", "health", 0.8),
        ("/users/me vs FastAPI peer /users/me", "me", "peer", 6.0),
        ("/users/me under login load vs alone", "login", "me", 0.4),
    ]
    for label, top, bottom, target in ratios:
        per_round = [a[0] / b[0] for a, b in zip(results[top], results[bottom], strict=True)]
        value = statistics.median(per_round)
        spread = f"{min(per_round):.2f}-{max(per_round):.2f}"
        print(
            f"{label:<50}{value:>6.2f}x{spread:>12}{'>=' + str(target) + 'x':>9}  {'yes' if value >= target else 'NO'}"
        )
    ceiling = statistics.median(a[0] / b[0] for a, b in zip(results["health"], results["peer"], strict=True))
    print(f"{'(ceiling, auth free: /health vs peer /users/me)':<50}{ceiling:>6.2f}x")


if __name__ == "__main__":
    if sys.argv[1] == "login":
        login_loop(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main(sys.argv[1], sys.argv[2])
