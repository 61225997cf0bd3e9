#!/usr/bin/env bash
# Runs the main job end to end on the embedded default (creates .venv first if needed).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
export TF_CPP_MIN_LOG_LEVEL="${TF_CPP_MIN_LOG_LEVEL:-2}" KERAS_BACKEND=tensorflow
if [[ "${KERAS_BERT_TF_STARTUP_LOGS:-0}" == 1 ]]; then
  exec .venv/bin/keras-bert demo "$@"
fi
# TensorFlow writes a few lines to stderr at start-up, before absl logging is initialised, that no
# log-level variable silences (oneDNN notice, "no CUDA drivers", cuInit; and a spurious error-level
# "oneDNN supports DT_INT64 only with AVX-512" on CPUs that have it). Every process of the demo
# prints them, so they are filtered here; set KERAS_BERT_TF_STARTUP_LOGS=1 to see them.
STARTUP='^(WARNING: All log messages before absl::InitializeLog|[IWE]0000 .*(port\.cc|cudart_stub\.cc|cuda_platform\.cc|cpu_feature_guard\.cc)|[IWE]0000 .*util\.cc:[0-9]+\] oneDNN supports DT_INT64|To enable the following instructions:)'
exec .venv/bin/keras-bert demo "$@" 2> >(grep --line-buffered -Ev "$STARTUP" >&2)
