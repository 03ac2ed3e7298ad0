#!/usr/bin/env bash
# Runs every test of the template: makes .venv-test/, installs the test tools, runs pytest.
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
echo "==> Running the tests (the first run installs a generated service: allow a few minutes)"
exec .venv-test/bin/python -m pytest "$@"
