"""Helpers to run pretraining in fresh processes (logical CPUs and TF_CONFIG must be set before
TensorFlow initialises, and kill -9 needs a separate process)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Tiny, dropout-free, small-vocabulary model on synthetic batches: fast and deterministic.
TINY = [
    "--input-format", "synthetic", "--preset", "tiny",
    "--config", '{"vocabulary_size": 512, "dropout": 0.0, "max_sequence_length": 64}',
    "--seq-len", "32", "--max-predictions", "5", "--batch-size", "8",
    "--learning-rate", "1e-3", "--warmup-steps", "2", "--log-every", "1", "--seed", "3",
]


def env(**extra: str) -> dict[str, str]:
    e = dict(os.environ)
    e.update(
        KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="",
        PYTHONPATH=str(ROOT) + os.pathsep + e.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
        TF_NUM_INTEROP_THREADS="1", TF_NUM_INTRAOP_THREADS="1",
    )
    e.update(extra)
    return e


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "keras_bert.cli", "pretrain", *args]


def run_cli(*args: str, timeout: int = 180, **extra_env: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        cli(*args), env=env(**extra_env), cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_workers(script: str, args_of, count: int = 2) -> list[subprocess.Popen]:
    """`count` processes running `python -c script *args_of(index)` as the workers of one
    multi-worker cluster on free local ports (TF_CONFIG set per worker)."""
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(count)]}
    procs = []
    for index in range(count):
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        procs.append(subprocess.Popen(
            [sys.executable, "-c", script, *args_of(index)],
            env=env(TF_CONFIG=tf_config), cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        ))
    return procs


def finish_workers(procs: list[subprocess.Popen], timeout: int) -> list[str]:
    """Each worker's output once all have exited 0 (any still running after an error is killed)."""
    outputs = []
    try:
        for proc in procs:
            outputs.append(proc.communicate(timeout=timeout)[0])
    finally:
        kill_workers(procs)
    for proc, out in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, out[-3000:]
    return outputs


def kill_workers(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
