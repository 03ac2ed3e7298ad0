"""The abuse benchmark (issue 12): the baked service under a password-guessing attack.

Serves the bake with one uvicorn worker pinned to CPU 0; the attacking clients and wrk run on
CPU 1, as bench.py does. Each kind of client connects from a loopback address of its own, as
distinct machines would: the attacker from 127.0.0.2, the user from 127.0.0.3, the stuffing run
from 127.0.0.4 (wrk, for /users/me, from 127.0.0.1). It prints:

1. an attack of ATTACKERS concurrent clients sending wrong passwords for alice from one address,
   as fast as answers come, while alice logs in from another: her login times, and how many
   password checks the attack caused (every 401 is one check; 429 and 503 are none);
2. a credential-stuffing run, 200 usernames with one password from one address: how many were
   checked before the address was throttled;
3. /users/me req/s during the attack vs alone, measured A-B-B-A in each of ROUNDS rounds.

Run it through `run.sh abuse` (database=fake) or `run.sh abuse sqlite`, which bake and install.
"""

import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from urllib.parse import urlencode

import bench

PORT = 8121
ATTACKERS = int(os.environ.get("ATTACKERS", "50"))
ATTACK_SECONDS = float(os.environ.get("ATTACK_SECONDS", "20"))
ATTACKER, USER, STUFFER = "127.0.0.2", "127.0.0.3", "127.0.0.4"
STUFFING_USERNAMES = 200
# The fake DB's alice has the guide's "secret"; a real database's alice needs a password its rules
# allow (prepare() sets it).
alice_password = "secret"
USER_LOGINS = 10
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def post_login(conn: http.client.HTTPConnection, username: str, password: str) -> int:
    conn.request("POST", "/auth/token", f"username={username}&password={password}", FORM)
    response = conn.getresponse()
    response.read()
    return response.status


def connect(address: str) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(bench.HOST, PORT, timeout=60, source_address=(address, 0))


def attack(seconds: float) -> None:
    """`abuse.py attack SECONDS`: ATTACKERS threads post wrong passwords for alice from ATTACKER
    until SECONDS pass, ignoring Retry-After; prints the count of each status as JSON."""
    deadline = time.monotonic() + seconds
    statuses = Counter()
    lock = threading.Lock()

    def attacker() -> None:
        conn = connect(ATTACKER)
        while time.monotonic() < deadline:
            try:
                status = post_login(conn, "alice", "wrong-guess")
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, status = connect(ATTACKER), "error"
            with lock:
                statuses[status] += 1

    threads = [threading.Thread(target=attacker) for _ in range(ATTACKERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps(statuses))


def start_attack(seconds: float) -> subprocess.Popen:
    command = ["taskset", "-c", "1", sys.executable, __file__, "attack", str(seconds)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, text=True, start_new_session=True)


def attack_result(process: subprocess.Popen) -> Counter:
    return Counter({str(k): v for k, v in json.loads(process.communicate(timeout=120)[0]).items()})


def user_logins_during_attack() -> tuple[list[float], list[int], Counter]:
    """Alice logs in from USER every second while the attack runs: her times, statuses, and the attack's counts."""
    attackers = start_attack(ATTACK_SECONDS)
    times, statuses = [], []
    try:
        time.sleep(2)  # the attack is in full swing
        for _ in range(USER_LOGINS):
            conn = connect(USER)
            started = time.perf_counter()
            statuses.append(post_login(conn, "alice", alice_password))
            times.append(time.perf_counter() - started)
            conn.close()
            time.sleep(1)
        return times, statuses, attack_result(attackers)
    finally:
        attackers.kill()


def stuffing() -> tuple[int, int, Counter]:
    """200 usernames, one password, from STUFFER, one after another: how many were checked (401)
    before the first refusal (429), how many in all, and every status."""
    conn = connect(STUFFER)
    statuses = [post_login(conn, f"user{number:03}", "123456") for number in range(STUFFING_USERNAMES)]
    first_refused = statuses.index(429) if 429 in statuses else len(statuses)
    return statuses[:first_refused].count(401), statuses.count(401), Counter(map(str, statuses))


def prepare(service_dir: str, database: str) -> None:
    """For database=sqlite: a fresh database file, migrated, with alice."""
    global alice_password
    if database == "fake":
        return
    alice_password = "a bench password nobody uses"
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".work", "abuse.db")
    for leftover in (path, path + "-wal", path + "-shm"):
        if os.path.exists(leftover):
            os.remove(leftover)
    os.environ["DATABASE_URL"] = f"sqlite+aiosqlite:///{path}"  # start_server hands the environment on
    for args, stdin in [
        (["migrate"], ""),
        (["users", "create", "alice", "--email", "alice@example.com"], alice_password),
    ]:
        command = [sys.executable, "-m", "my_service", *args]
        subprocess.run(command, cwd=service_dir, input=stdin + "\n", check=True, text=True, capture_output=True)


def main(service_dir: str, database: str) -> None:
    prepare(service_dir, database)
    server = bench.start_server("uvicorn", "my_service.main:app", service_dir, PORT)
    try:
        bench.SERVICE_PORT = PORT
        bench.LOGIN_FORM = urlencode({"username": "alice", "password": alice_password})
        token = bench.login(PORT)  # from 127.0.0.1, once
        times, user_statuses, attack_counts = user_logins_during_attack()
        checked_before, checked, stuffing_counts = stuffing()

        print("measuring /users/me alone and during the attack", flush=True)
        bench.wrk(PORT, "/users/me", token)  # warm-up
        ratios, alone, attacked = [], [], []
        for _ in range(bench.ROUNDS):
            a1 = bench.wrk(PORT, "/users/me", token)[0]
            b1, b2 = under_attack(token), under_attack(token)
            a2 = bench.wrk(PORT, "/users/me", token)[0]
            alone += [a1, a2]
            attacked += [b1, b2]
            ratios.append((b1 + b2) / (a1 + a2))
    finally:
        bench.stop([server])

    print(f"\nMachine: {bench.machine()}\ndatabase={database}, {ATTACKERS} attacking clients")
    print(f"\n1. {ATTACKERS} clients send wrong passwords for alice from {ATTACKER} for {ATTACK_SECONDS:.0f} s;")
    print(f"   alice logs in from {USER} {USER_LOGINS} times during it:")
    print(f"   her login: median {statistics.median(times):.3f} s, max {max(times):.3f} s (target < 2 s); ", end="")
    print(f"statuses {dict(Counter(user_statuses))}")
    total = sum(attack_counts.values())
    print(f"   the attack's {total:,} requests: {dict(attack_counts)}")
    print(f"   password checks the attack caused: {attack_counts['401']} (each 401 is one; 429 and 503 are none)")
    print(f"\n2. stuffing: {STUFFING_USERNAMES} usernames x 1 password from {STUFFER}, one after another:")
    print(f"   checked before the address was throttled: {checked_before}; checked in all: {checked} ", end="")
    print(f"(one attempt after each doubled wait); statuses {dict(stuffing_counts)}")
    print("\n3. GET /users/me, one worker on CPU 0, wrk on CPU 1 (the attack on CPU 1 too):")
    print(f"   alone {statistics.median(alone):,.0f} req/s, during the attack {statistics.median(attacked):,.0f} req/s")
    spread = f"min {min(ratios):.2f}, max {max(ratios):.2f}"
    print(f"   during vs alone: {statistics.median(ratios):.2f}x ({spread}; target >= 0.4x)")


def under_attack(token: str) -> float:
    attackers = start_attack(bench.SECONDS + 1.5)
    try:
        time.sleep(0.5)
        return bench.wrk(PORT, "/users/me", token)[0]
    finally:
        attack_result(attackers)


if __name__ == "__main__":
    if sys.argv[1] == "attack":
        attack(float(sys.argv[2]))
    else:
        main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "fake")
