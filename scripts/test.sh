#!/usr/bin/env bash
# Runs every test of the template: makes .venv-test/, installs the test tools, runs pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "==> Installing the test tools into .venv-test/"
python3 -m venv .venv-test
.venv-test/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
echo "==> Running the tests (the first run installs a generated service: allow a few minutes)"
exec .venv-test/bin/python -m pytest "$@"
