#!/usr/bin/env bash
# Benchmarks of the baked service against its own /health and against a FastAPI peer.
# Usage (as root, from anywhere):
#   bash benchmarks/run.sh            the default bake (fake DB), uvicorn and granian (bench.py)
#   bash benchmarks/run.sh database   the PostgreSQL bake and the FastAPI + PostgreSQL peer (database.py)
#   bash benchmarks/run.sh abuse [sqlite]   the default (or SQLite) bake under a password-guessing attack (abuse.py)
# Optional: ROUNDS=4 SECONDS_PER_RUN=2 (defaults), SERVERS="uvicorn granian" (default; either alone works),
# TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres; a database is made and dropped),
# SERVICE_ENV="JWT_ALGORITHM=ES256 ..." (database: the service with those settings beside its defaults).
# Installs and bakes into benchmarks/.work/ (git-ignored).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
work="$here/.work"
venv="$work/venv"
log="$work/install.log"
mkdir -p "$work"
: >"$log"

quietly() {  # run a command, show its output only if it fails
    "$@" >>"$log" 2>&1 || { tail -40 "$log"; echo "failed: $*" >&2; exit 1; }
}

missing=""
command -v wrk >/dev/null || missing="$missing wrk"
command -v valgrind >/dev/null || missing="$missing valgrind"  # counts instructions per request
if [ -n "$missing" ]; then
    echo "== installing$missing with apt-get"
    quietly apt-get update
    quietly apt-get install -y $missing
fi

echo "== venv and packages in $venv"
[ -x "$venv/bin/python" ] || quietly python3 -m venv "$venv"
quietly "$venv/bin/pip" install cookiecutter fastapi "uvicorn[standard]" "python-jose[cryptography]>=3.5.0" \
    "libpass>=1.9.3" "bcrypt>=4.1" python-multipart "granian>=2.8" sqlalchemy "psycopg[binary]"

if [ "${1:-}" = database ]; then
    echo "== baking the template with database=postgresql"
    rm -rf "$work/baked-postgresql"
    quietly "$venv/bin/cookiecutter" "$(dirname "$here")" --no-input -o "$work/baked-postgresql" database=postgresql
    quietly "$venv/bin/pip" install -e "$work/baked-postgresql/my-service"
    echo "== measuring (about 3 minutes)"
    cd "$here"
    exec timeout --foreground 1200 "$venv/bin/python" "$here/database.py" "$work/baked-postgresql/my-service" "$here/fastapi_peer"
fi

if [ "${1:-}" = abuse ]; then
    database="${2:-fake}"
    echo "== baking the template with database=$database"
    rm -rf "$work/baked-abuse"
    quietly "$venv/bin/cookiecutter" "$(dirname "$here")" --no-input -o "$work/baked-abuse" database="$database"
    quietly "$venv/bin/pip" install -e "$work/baked-abuse/my-service"
    echo "== measuring (about 2 minutes)"
    cd "$here"
    exec timeout --foreground 1200 "$venv/bin/python" "$here/abuse.py" "$work/baked-abuse/my-service" "$database"
fi

echo "== baking the template with its defaults"
rm -rf "$work/baked"
quietly "$venv/bin/cookiecutter" "$(dirname "$here")" --no-input -o "$work/baked"
quietly "$venv/bin/pip" install -e "$work/baked/my-service"

echo "== measuring (about 4 minutes per server: uvicorn, then granian; then 2 minutes of callgrind)"
exec timeout --foreground 2400 "$venv/bin/python" "$here/bench.py" "$work/baked/my-service" "$here/fastapi_peer"
