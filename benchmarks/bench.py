"""Serves the baked service and the FastAPI peer (one worker each, pinned to CPU 0), drives
them with wrk pinned to CPU 1, and prints req/s and the three ratios of issue 5, once per server
(uvicorn, the template's, then granian), with control apps that show each ratio's ceiling; then
counts with callgrind the instructions one request costs each app, a figure that does not move.

Run it through run.sh, which builds the venv and bakes the template. Each round measures every
ratio A-B-B-A, in a rotating order, so slow phases of a noisy machine hit both sides alike; the
tables show the median of the per-round ratios and their spread.
"""

import asyncio
import http.client
import importlib
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
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version

ROUNDS = int(os.environ.get("ROUNDS", "4"))
SECONDS = int(os.environ.get("SECONDS_PER_RUN", "2"))
CONNECTIONS = 64
LOGIN_CLIENTS = 4
SERVERS = os.environ.get("SERVERS", "uvicorn granian").split()
INSTRUCTION_CALLS = int(os.environ.get("INSTRUCTION_CALLS", "300"))  # per callgrind run; 0 skips counting
HOST = "127.0.0.1"
SERVICE_PORT, PEER_PORT, BARE_PORT, NO_OP_PORT = 8101, 8102, 8103, 8104
LOGIN_FORM = "username=alice&password=secret"
SERVER_PIDS: dict[int, int] = {}  # port -> pid of the server process serving it


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
    """User + system CPU time of a process and its descendants (granian serves from a child)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/children") as children:
                child_pids = children.read().split()
        except FileNotFoundError:
            continue  # a thread that ended meanwhile (the FastAPI peer's pool): it has no children
        total += sum(cpu_seconds(int(child)) for child in child_pids)
    return total


def server_command(server: str, app: str, port: int) -> list[str]:
    """One worker, no access log, the same options for every app."""
    if server == "uvicorn":
        options = f"--host {HOST} --port {port} --workers 1 --no-access-log --log-level warning"
        return [sys.executable, "-m", "uvicorn", app, *options.split()]
    options = f"--interface asgi --host {HOST} --port {port} --workers 1 --no-ws --http 1 --log-level warning"
    return [sys.executable, "-m", "granian", *options.split(), app]


def start_server(server: str, app: str, cwd: str, port: int) -> subprocess.Popen:
    try:
        request(port, "GET", "/health")
        sys.exit(f"port {port} is already in use: is another benchmark running?")
    except OSError:
        pass  # free, as it should be
    command = ["taskset", "-c", "0", *server_command(server, app, port)]
    process = subprocess.Popen(command, cwd=cwd, start_new_session=True)
    for _ in range(150):
        try:
            if request(port, "GET", "/health")[0] == 200:
                SERVER_PIDS[port] = process.pid  # taskset execs, so this is the server itself
                return process
        except OSError:
            if process.poll() is not None:
                sys.exit(f"{server} {app} exited with code {process.returncode}")
            time.sleep(0.2)
    sys.exit(f"{server} {app} did not answer on port {port}")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)  # granian's worker too
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def wrk(port: int, path: str, token: str) -> tuple[float, float]:
    """req/s, and the server's CPU microseconds per request (robust to other load on CPU 0)."""
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", f"http://{HOST}:{port}{path}"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    cpu_before = cpu_seconds(SERVER_PIDS[port])
    out = subprocess.run(command, capture_output=True, text=True, timeout=SECONDS + 30, check=True).stdout
    cpu = cpu_seconds(SERVER_PIDS[port]) - cpu_before
    if "Non-2xx" in out:
        sys.exit(f"wrk got error answers from {path}:\n{out}")
    if "Socket errors" in out:
        print(f"warning: wrk on {path}: " + out.split("Socket errors:")[1].splitlines()[0].strip(), flush=True)
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)), 1e6 * cpu / requests


def app_run(app_path: str, path: str, token: str, calls: str) -> None:
    """`bench.py app-run MODULE:APP PATH TOKEN CALLS`: calls the ASGI app directly CALLS times with
    one GET (no server, no network), for valgrind to count the instructions of."""
    sys.path.insert(0, os.getcwd())
    module, _, name = app_path.partition(":")
    app = getattr(importlib.import_module(module), name)
    headers = [(b"host", HOST.encode())] + ([(b"authorization", f"Bearer {token}".encode())] if token else [])
    statuses = set()

    def scope() -> dict:
        return {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": headers,
            "client": (HOST, 50000), "server": (HOST, 8000),
        }  # fmt: skip

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    async def run() -> None:
        for _ in range(int(calls)):
            await app(scope(), receive, send)

    asyncio.run(run())
    if statuses != {200}:
        sys.exit(f"{app_path} {path} answered {sorted(statuses)}")


def instructions_per_request(app_path: str, cwd: str, path: str, token: str) -> int:
    """Instructions one request costs the app (user space, server excluded), counted by callgrind:
    the same on every run, unlike req/s on a shared machine. Two runs differ only in the number
    of calls, so their difference leaves out start-up and imports."""
    counts = []
    for calls in (INSTRUCTION_CALLS, 2 * INSTRUCTION_CALLS):
        command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, __file__]
        command += ["app-run", app_path, path, token, str(calls)]
        env = dict(os.environ, PYTHONHASHSEED="0")
        done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        collected = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode or not collected:
            sys.exit(f"callgrind on {app_path} {path} failed:\n{done.stdout}{done.stderr[-2000:]}")
        counts.append(int(collected.group(1)))
    return (counts[1] - counts[0]) // INSTRUCTION_CALLS


def login_loop(port: int, seconds: float) -> None:
    """`bench.py login PORT SECONDS`: LOGIN_CLIENTS clients log in back to back, then print counts.
    Each connects from a loopback address of its own (127.0.2.1, ...), as distinct users would:
    the service lets one address have only a couple of password checks in flight at once."""
    deadline = time.monotonic() + seconds
    statuses = []  # list.append is atomic: no lock needed

    def client(number: int) -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn = http.client.HTTPConnection(HOST, port, timeout=30, source_address=(f"127.0.2.{number + 1}", 0))
        while time.monotonic() < deadline:
            conn.request("POST", "/auth/token", LOGIN_FORM, headers)
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        conn.close()

    threads = [threading.Thread(target=client, args=(number,)) for number in range(LOGIN_CLIENTS)]
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
        for name in ["faster-api-web", "fastapi", "pydantic", "uvicorn", "granian", "python-jose", "libpass", "bcrypt"]
    )
    return (
        f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, wrk -t1 -c{CONNECTIONS} "
        f"-d{SECONDS}s, {ROUNDS} rounds\n{packages}"
    )


def measure(server: str, service_dir: str, peer_dir: str) -> dict:
    """Serves the four apps with `server` and runs ROUNDS rounds: every req/s measured, per case,
    and every ratio, per comparison."""
    here = os.path.dirname(os.path.abspath(__file__))
    servers = []
    try:
        servers.append(start_server(server, "my_service.main:app", service_dir, SERVICE_PORT))
        servers.append(start_server(server, "app:app", peer_dir, PEER_PORT))
        servers.append(start_server(server, "controls:bare", here, BARE_PORT))
        servers.append(start_server(server, "controls:no_op_dependency", here, NO_OP_PORT))
        token, peer_token = login(SERVICE_PORT), login(PEER_PORT)
        for port, path, tok in [
            (SERVICE_PORT, "/users/me", token),
            (PEER_PORT, "/users/me", peer_token),
            (NO_OP_PORT, "/bench/no-op-dependency", token),
        ]:
            status, body = request(port, "GET", path, headers={"Authorization": f"Bearer {tok}"})
            assert status == 200 and json.loads(body)["username"] == "alice", (port, status, body)

        # The controls get the same Authorization header as /users/me: equal request sizes.
        cases = {
            "health": lambda: wrk(SERVICE_PORT, "/health", ""),
            "me": lambda: wrk(SERVICE_PORT, "/users/me", token),
            "peer": lambda: wrk(PEER_PORT, "/users/me", peer_token),
            "login": lambda: under_login_load(SERVICE_PORT, token),
            "peer_health": lambda: wrk(PEER_PORT, "/health", ""),
            "bare": lambda: wrk(BARE_PORT, "/", token),
            "no_op_health": lambda: wrk(NO_OP_PORT, "/health", ""),
            "no_op": lambda: wrk(NO_OP_PORT, "/bench/no-op-dependency", token),
        }
        for name, run in cases.items():
            if name != "login":
                run()  # warm-up (full length: short runs on this machine came out uneven)
        comparisons = TARGETS + CEILINGS
        runs = {name: [] for name in cases}  # name -> every (req/s, CPU us/req, ...) measured
        ratios = {label: [] for label, *_ in comparisons}  # label -> one ratio per round
        for round_number in range(ROUNDS):
            shift = round_number % len(comparisons)
            for label, top, bottom, _ in comparisons[shift:] + comparisons[:shift]:
                # A B B A: both sides see the same drift of the machine's speed, on average
                a1, b1, b2, a2 = cases[top](), cases[bottom](), cases[bottom](), cases[top]()
                runs[top] += [a1, a2]
                runs[bottom] += [b1, b2]
                ratios[label].append((a1[0] + a2[0]) / (b1[0] + b2[0]))
            runs["peer_health"].append(cases["peer_health"]())
            print(
                f"{server} round {round_number + 1}/{ROUNDS}: "
                + ", ".join(f"{top}/{bottom} {ratios[label][-1]:.2f}x" for label, top, bottom, _ in comparisons),
                flush=True,
            )
        return {"runs": runs, "ratios": ratios, "tokens": (token, peer_token)}
    finally:
        stop(servers)


LABELS = {
    "health": "GET /health",
    "me": "GET /users/me, valid token",
    "peer": "FastAPI peer GET /users/me",
    "login": f"GET /users/me, {LOGIN_CLIENTS} clients logging in",
    "peer_health": "FastAPI peer GET /health",
    "bare": "bare ASGI app (the server alone)",
    "no_op_health": "GET /health, in the control process",
    "no_op": "no-op dependency route, in the control process",
}
TARGETS = [  # label, numerator, denominator, target
    ("/users/me vs /health", "me", "health", 0.85),  # issue 17 (issue 5 asked 0.8)
    ("/users/me vs FastAPI peer /users/me", "me", "peer", 6.0),
    ("/users/me under login load vs alone", "login", "me", 0.4),
]
CEILINGS = [  # what a ratio above would read if the auth layer cost nothing
    ("no-op dependency route vs /health (control)", "no_op", "no_op_health", "the first's ceiling"),
    ("/health vs FastAPI peer /users/me", "health", "peer", "the second's, no dependency"),
    ("bare ASGI app vs FastAPI peer /users/me", "bare", "peer", "the second's, no framework"),
]


def report(server: str, results: dict) -> list[float]:
    """Prints one server's table; returns its three target ratios."""
    runs, ratios = results["runs"], results["ratios"]

    def median(name: str, column: int) -> float:
        return statistics.median(run[column] for run in runs[name])

    print(f"\n{'== ' + server + ': one worker on CPU 0, wrk on CPU 1':<50}{'req/s':>9}{'server CPU us/req':>19}")
    for name, label in LABELS.items():
        if name == "peer_health":
            print("context:")
        cpu = f"{median(name, 1):>19.0f}" if name != "login" else f"{'(incl. bcrypt)':>19}"
        print(f"{label:<50}{median(name, 0):>9,.0f}{cpu}")
    print(f"logins/s during the login-load runs: {median('login', 2):.1f}")

    def row(label: str) -> str:
        values = ratios[label]
        return f"{label:<50}{statistics.median(values):>6.2f}x{min(values):>7.2f}-{max(values):<5.2f}"

    print(f"\n{'ratio of req/s (median over rounds, A-B-B-A each)':<50}{'value':>7}{'min-max':>12}{'target':>9}  met")
    values = []
    for label, _, _, target in TARGETS:
        values.append(statistics.median(ratios[label]))
        print(f"{row(label)}{'>=' + str(target) + 'x':>9}  {'yes' if values[-1] >= target else 'NO'}")
    print("ceilings (the ratio if the auth layer cost nothing):")
    for label, _, _, meaning in CEILINGS:
        print(f"{row(label)}  {meaning}")
    return values


def count_instructions(service_dir: str, peer_dir: str, token: str, peer_token: str) -> dict[str, int]:
    """name -> instructions per request of each app case, two cases at a time (both cores)."""
    here = os.path.dirname(os.path.abspath(__file__))
    cases = {
        "health": ("my_service.main:app", service_dir, "/health", ""),
        "no_op": ("controls:no_op_dependency", here, "/bench/no-op-dependency", token),
        "me": ("my_service.main:app", service_dir, "/users/me", token),
        "peer": ("app:app", peer_dir, "/users/me", peer_token),
        "peer_health": ("app:app", peer_dir, "/health", ""),
    }
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = {name: pool.submit(instructions_per_request, *case) for name, case in cases.items()}
        return {name: count.result() for name, count in counts.items()}


def report_instructions(counts: dict[str, int]) -> None:
    print("\n== app work per request: instructions counted by callgrind (no server, no network; steady)")
    for name in counts:
        print(f"{LABELS[name]:<50}{counts[name]:>11,}")
    for label, faster, slower in [
        ("/users/me vs /health", "me", "health"),
        ("no-op dependency route vs /health", "no_op", "health"),
        ("/users/me vs FastAPI peer /users/me", "me", "peer"),
    ]:
        print(f"{label:<50}{counts[slower] / counts[faster]:>10.2f}x  (inverse ratio of work)")
    own = counts["me"] - counts["no_op"]
    share = f"{own / counts['me']:.0%} of /users/me"
    print(f"the auth layer's own work (/users/me minus the no-op route): {own:,} instructions, {share}")


def main(service_dir: str, peer_dir: str) -> None:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally in measure() still runs
    if not SERVERS or set(SERVERS) - {"uvicorn", "granian"}:
        sys.exit(f"SERVERS={' '.join(SERVERS)!r}: name uvicorn, granian or both")
    with open(f"{service_dir}/.env") as env:
        secret = next(line.split("=", 1)[1].strip() for line in env if line.startswith("SECRET_KEY="))
    os.environ["SECRET_KEY"] = secret  # the peer signs with the same key and algorithm
    results = {server: measure(server, service_dir, peer_dir) for server in SERVERS}
    counts = {}
    if INSTRUCTION_CALLS:
        print("counting instructions with callgrind (about 2 minutes)", flush=True)
        counts = count_instructions(service_dir, peer_dir, *results[SERVERS[-1]]["tokens"])
    print(f"\nMachine: {machine()}")
    summary = {server: report(server, results[server]) for server in SERVERS}
    if counts:
        report_instructions(counts)
    print("\nsummary: " + ", ".join(f"{label} (>={target:g}x)" for label, _, _, target in TARGETS))
    for server, values in summary.items():
        print(f"{server:<10}" + "".join(f"{value:>8.2f}x" for value in values))


if __name__ == "__main__":
    if sys.argv[1] == "login":
        login_loop(int(sys.argv[2]), float(sys.argv[3]))
    elif sys.argv[1] == "app-run":
        app_run(*sys.argv[2:6])
    else:
        main(sys.argv[1], sys.argv[2])
