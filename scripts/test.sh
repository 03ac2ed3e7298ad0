#!/usr/bin/env bash
# Runs every test of the template: makes .venv-test/, installs the test tools, makes sure a
# PostgreSQL server answers (starting an installed one that is stopped), runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/test_browser.py drives Debian's Chromium (Playwright never downloads a browser here).
# Installed when missing and this runs as root with apt-get; otherwise those tests are skipped,
# except under CI=true, where a missing browser fails them.
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "==> Installing Chromium (Debian's chromium package) for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
      || echo "==> Could not install chromium: the browser tests will not run"
  else
    echo "==> chromium is missing: the browser tests will be skipped (fail under CI=true); install Debian's chromium package"
  fi
fi
echo "==> Installing the test tools into .venv-test/"
python3 -m venv .venv-test
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The tests of database=postgresql use the server at TEST_POSTGRES_URL (default: the local one on
# 127.0.0.1:5432, user postgres, trust authentication). Without one they are skipped, naming why,
# except under CI=true, where they fail.
export TEST_POSTGRES_URL="${TEST_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/postgres}"
postgres_answers() { command -v psql >/dev/null && psql "$TEST_POSTGRES_URL" -qtAc "SELECT 1" >/dev/null 2>&1; }
if ! postgres_answers && command -v pg_lsclusters >/dev/null; then
  # An installed cluster that is stopped: start it (Debian's pg_ctlcluster, outside systemd).
  pg_lsclusters --no-header | while read -r version cluster _port status _rest; do
    if [ "$status" != online ]; then
      echo "==> Starting PostgreSQL $version/$cluster"
      pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start || true
    fi
  done
fi
if postgres_answers; then
  echo "==> PostgreSQL answers at $TEST_POSTGRES_URL"
elif [ "${CI:-}" = true ]; then
  echo "ERROR: no PostgreSQL answers at $TEST_POSTGRES_URL, and CI=true requires one." >&2
  exit 1
else
  echo "==> No PostgreSQL answers at $TEST_POSTGRES_URL: the database=postgresql tests will be skipped."
  echo "    Install and start one (e.g. apt-get install postgresql) or set TEST_POSTGRES_URL to run them."
fi

echo "==> Running the tests (the first run installs generated services: allow a few minutes)"
exec .venv-test/bin/python -m pytest "$@"
