#!/usr/bin/env bash
# Runs the whole test suite (creates .venv first if needed). Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" KERAS_BACKEND=tensorflow
# Two workers (pytest-xdist), a test file each at a time so module fixtures are built once: much of
# the suite is single-threaded (tracing, SavedModel writing, fresh processes importing TensorFlow),
# so two files at once use both cores. KERAS_BERT_TEST_WORKERS=0 runs in this process.
exec .venv/bin/python -m pytest -n "${KERAS_BERT_TEST_WORKERS:-2}" --dist loadfile "$@"
