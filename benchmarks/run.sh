#!/usr/bin/env bash
# Benchmark: the baked service against itself and against a FastAPI-tutorial peer.
# Usage (from anywhere, as root): bash benchmarks/run.sh   [ROUNDS=5 SECONDS_PER_RUN=4]
# Everything it installs or bakes goes to benchmarks/.work/ (git-ignored).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
work="$here/.work"
venv="$work/venv"
mkdir -p "$work"

if ! command -v wrk >/dev/null; then
    echo "== installing wrk (apt-get)"
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

echo "== venv and packages ($venv)"
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q cookiecutter fastapi "uvicorn[standard]" "python-jose[cryptography]>=3.5.0" \
    "libpass>=1.9.3" "bcrypt>=4.1" python-multipart

echo "== baking the template with its defaults"
rm -rf "$work/baked"
"$venv/bin/cookiecutter" "$repo" --no-input -o "$work/baked"
"$venv/bin/pip" install -q -e "$work/baked/my-service"

exec "$venv/bin/python" "$here/bench.py" "$work/baked/my-service" "$here/fastapi_peer"
