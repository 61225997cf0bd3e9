"""Each benchmarked system in a worker process of its own; the parent interleaves their rounds.

In one process the systems slow each other: torch's OpenMP threads keep spinning after each call
and TensorFlow's pools hold theirs, so whichever system runs next pays. Workers are started one at
a time (builds do not overlap) and run only when the parent asks, so timings stay interleaved
(load drift hits every system alike) but no system runs beside another's threads.

    workers = start_workers({"ours": (build_ours, (arg,)), ...})   # build(*args) -> (ready, run)
    results = run_rounds(workers, rounds=3, request=(5,))          # {"ours": [run(5), ...], ...}
    stop_workers(workers)
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from typing import Any


def _serve(build: Callable, build_args: tuple, conn) -> None:
    ready, run = build(*build_args)
    conn.send(ready)
    while (request := conn.recv()) is not None:
        conn.send(run(*request))


def start_workers(specs: dict[str, tuple[Callable, tuple]]) -> dict[str, tuple]:
    """name -> (build, args); `build` (a module-level function) returns (ready payload, run).
    Returns name -> (connection, process, ready payload)."""
    context = multiprocessing.get_context("spawn")
    workers = {}
    for name, (build, build_args) in specs.items():
        parent, child = context.Pipe()
        process = context.Process(target=_serve, args=(build, build_args, child), daemon=True)
        process.start()
        child.close()
        try:
            ready = parent.recv()
        except EOFError:
            raise SystemExit(f"{name}: its worker died while building (traceback above)") from None
        workers[name] = (parent, process, ready)
    return workers


def run_rounds(workers: dict[str, tuple], rounds: int, request: tuple) -> dict[str, list[Any]]:
    """`rounds` x (each worker in turn runs `run(*request)`); results per worker, in order."""
    results: dict[str, list[Any]] = {name: [] for name in workers}
    for _ in range(rounds):
        for name, (conn, _, _) in workers.items():
            conn.send(request)
            results[name].append(conn.recv())
    return results


def stop_workers(workers: dict[str, tuple]) -> None:
    for conn, process, _ in workers.values():
        conn.send(None)
        process.join(timeout=30)
