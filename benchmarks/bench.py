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


def start_server(app: str, cwd: str, port: int) -> subprocess.Popen:
    command = ["taskset", "-c", "0", sys.executable, "-m", "uvicorn", app, "--host", HOST, "--port", str(port),
               "--workers", "1", "--no-access-log", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=cwd, start_new_session=True)
    for _ in range(150):
        try:
            if request(port, "GET", "/health")[0] == 200:
                return server
        except OSError:
            time.sleep(0.2)
    sys.exit(f"{app} did not answer on port {port}")


def wrk(port: int, path: str, token: str, seconds: int = SECONDS) -> float:
    command = ["taskset", "-c", "1", "wrk", "-t1", f"-c{CONNECTIONS}", f"-d{seconds}s", f"http://{HOST}:{port}{path}"]
    if token:
        command += ["-H", f"Authorization: Bearer {token}"]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    if "Non-2xx" in out:
        sys.exit(f"wrk got error answers from {path}:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def login_loop(port: int, seconds: float) -> None:
    """`bench.py login PORT SECONDS`: LOGIN_CLIENTS clients log in back to back, then print counts."""
    deadline = time.monotonic() + seconds
    counts = {"ok": 0, "failed": 0}

    def client() -> None:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        conn = http.client.HTTPConnection(HOST, port, timeout=30)
        while time.monotonic() < deadline:
            conn.request("POST", "/auth/token", LOGIN_FORM, headers)
            response = conn.getresponse()
            response.read()
            counts["ok" if response.status == 200 else "failed"] += 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(LOGIN_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(counts["ok"], counts["failed"])


def under_login_load(port: int, token: str) -> tuple[float, float]:
    """/users/me req/s while the login loop runs (pinned to CPU 1 too), and the logins per second."""
    command = ["taskset", "-c", "1", sys.executable, __file__, "login", str(port), str(SECONDS + 1)]
    logins = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)
    try:
        time.sleep(0.5)  # let the hashing threads fill up first
        rps = wrk(port, "/users/me", token)
        ok, failed = map(int, logins.communicate(timeout=60)[0].split())
    finally:
        logins.kill()
    if failed or not ok:
        sys.exit(f"login loop: {ok} logins succeeded, {failed} failed")
    return rps, ok / (SECONDS + 1)


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    packages = ", ".join(f"{name} {version(name)}" for name in
                         ["faster-api-web", "fastapi", "pydantic", "uvicorn", "python-jose", "libpass", "bcrypt"])
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, wrk -t1 -c{CONNECTIONS} "
            f"-d{SECONDS}s, {ROUNDS} rounds\n{packages}")


def main(service_dir: str, peer_dir: str) -> None:
    servers = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the finally below still runs
    try:
        servers.append(start_server("my_service.main:app", service_dir, SERVICE_PORT))
        secret = next(line.split("=", 1)[1].strip() for line in open(f"{service_dir}/.env")
                      if line.startswith("SECRET_KEY="))
        os.environ["SECRET_KEY"] = secret  # the peer signs with the same key length and algorithm
        servers.append(start_server("app:app", peer_dir, PEER_PORT))
        token, peer_token = login(SERVICE_PORT), login(PEER_PORT)
        for port, tok in [(SERVICE_PORT, token), (PEER_PORT, peer_token)]:
            status, body = request(port, "GET", "/users/me", headers={"Authorization": f"Bearer {tok}"})
            assert status == 200 and json.loads(body)["username"] == "alice", (port, status, body)

        cases = {
            "health": lambda: wrk(SERVICE_PORT, "/health", ""),
            "me": lambda: wrk(SERVICE_PORT, "/users/me", token),
            "peer": lambda: wrk(PEER_PORT, "/users/me", peer_token),
            "login": lambda: under_login_load(SERVICE_PORT, token),
        }
        for port, path, tok in [(SERVICE_PORT, "/health", ""), (SERVICE_PORT, "/users/me", token),
                                (PEER_PORT, "/users/me", peer_token)]:
            wrk(port, path, tok, seconds=1)  # warm-up
        results = {name: [] for name in cases}
        logins_per_second = []
        names = list(cases)
        for round_number in range(ROUNDS):
            order = names[round_number % len(names):] + names[:round_number % len(names)]
            for name in order:
                result = cases[name]()
                if name == "login":
                    result, rate = result
                    logins_per_second.append(rate)
                results[name].append(result)
            print(f"round {round_number + 1}/{ROUNDS}: " + ", ".join(f"{n} {results[n][-1]:.0f}" for n in names),
                  flush=True)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
    report(results, statistics.median(logins_per_second))


def report(results: dict, logins_per_second: float) -> None:
    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"\nMachine: {machine()}\n")
    print(f"{'case (one uvicorn worker on CPU 0, wrk on CPU 1)':<52}{'req/s, median':>14}")
    rows = [("GET /health", "health"), ("GET /users/me, valid token", "me"),
            ("FastAPI peer GET /users/me", "peer"),
            (f"GET /users/me, {LOGIN_CLIENTS} clients logging in ({logins_per_second:.1f} logins/s)", "login")]
    for label, name in rows:
        print(f"{label:<52}{median[name]:>14,.0f}")
    print(f"\n{'ratio (median of per-round ratios; min-max)':<52}{'value':>8}{'target':>9}  met")
    ratios = [("/users/me / /health", "me", "health", 0.8),
              ("/users/me / FastAPI peer /users/me", "me", "peer", 6.0),
              ("/users/me under login load / alone", "login", "me", 0.4)]
    for label, top, bottom, target in ratios:
        per_round = [a / b for a, b in zip(results[top], results[bottom])]
        value = statistics.median(per_round)
        spread = f"{min(per_round):.2f}-{max(per_round):.2f}"
        print(f"{label + ' (' + spread + ')':<52}{value:>7.2f}x{'>=' + str(target) + 'x':>9}  "
              f"{'yes' if value >= target else 'NO'}")


if __name__ == "__main__":
    if sys.argv[1] == "login":
        login_loop(int(sys.argv[2]), float(sys.argv[3]))
    else:
        main(sys.argv[1], sys.argv[2])
