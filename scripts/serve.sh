#!/usr/bin/env bash
# Generates a service with the default answers into ./my-service (once) and serves it on
# http://127.0.0.1:8000, each in its own virtual environment.
set -euo pipefail
template="$(cd "$(dirname "$0")/.." && pwd)"
echo "==> Installing cookiecutter into $template/.venv-cookiecutter"
python3 -m venv "$template/.venv-cookiecutter"
"$template/.venv-cookiecutter/bin/python" -m pip install --quiet --disable-pip-version-check "cookiecutter>=2.6"
if [ -d my-service ]; then
  echo "my-service/ exists already: serving it as it is."
else
  echo "==> Generating my-service/ with the default answers"
  "$template/.venv-cookiecutter/bin/cookiecutter" "$template" --no-input
fi
cd my-service
echo "==> Installing the service into my-service/.venv"
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
echo "Serving on http://127.0.0.1:8000 (API docs: http://127.0.0.1:8000/docs). Ctrl-C stops it."
exec .venv/bin/python -m my_service
