"""Where one W1 pretraining step spends its time, per XLA thunk (ours or keras-hub).

Runs the `bench_pretrain_w1` step under the TensorFlow profiler with XLA:CPU's per-thunk trace
events on, dumps the optimized HLO to map each thunk to the TensorFlow op it came from, and prints
time per step by part of the model: matmuls (with their GFLOP/s) and the fused elementwise work of
the backbone forward, backward, MLM head + loss, optimizer. Thunks can overlap (XLA runs independent
ones concurrently), so the parts add up to more than the wall-clock step.

    KERAS_BACKEND=tensorflow TF_CPP_MIN_LOG_LEVEL=2 .venv/bin/python bench/profile_w1.py [--system keras-hub]
"""

from __future__ import annotations

import argparse
import collections
import glob
import math
import os
import re
import sys
import tempfile
import time

WORK = tempfile.mkdtemp(prefix="profile_w1_")
os.environ["XLA_FLAGS"] = (
    os.environ.get("XLA_FLAGS", "")
    + f" --xla_cpu_enable_xprof_traceme=true --xla_dump_to={WORK}/hlo --xla_dump_hlo_as_text"
)
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_pretrain_w1 as w1  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

DOT_PREFIXES = ("MatMul", "dot", "BatchMatMul")


def thunk_milliseconds(xplane_path: str, steps: int) -> collections.Counter:
    """Thunk name -> milliseconds per step, from the XLA worker threads of a profile."""
    space = xplane_pb2.XSpace()
    with open(xplane_path, "rb") as f:
        space.ParseFromString(f.read())
    per_step: collections.Counter = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if "Eigen" not in line.name:
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if not name.startswith("ThunkExecutor"):
                    per_step[name] += event.duration_ps / 1e9 / steps
    return per_step


def hlo_ops(hlo_text: str) -> tuple[dict[str, str], dict[str, float]]:
    """Instruction name -> TensorFlow op name; dot name -> FLOPs."""
    op_names = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\s*(?:ROOT )?%([\w.\-]+) = .*?op_name=\"([^\"]+)\"", hlo_text, re.M)
    }
    shapes = {
        m.group(1): [int(d) for d in m.group(2).split(",") if d]
        for m in re.finditer(r"%([\w.\-]+) = f32\[([\d,]*)\]", hlo_text)
    }
    flops = {}
    for m in re.finditer(
        r"^\s*(?:ROOT )?%([\w.\-]+) = f32\[([\d,]*)\]\S* dot\(%([\w.\-]+), .*?"
        r"lhs_contracting_dims=\{([\d,]*)\}",
        hlo_text,
        re.M,
    ):
        out = [int(d) for d in m.group(2).split(",") if d]
        lhs = shapes.get(m.group(3), [])
        k = math.prod(lhs[int(i)] for i in m.group(4).split(",")) if lhs else 0
        flops[m.group(1)] = 2.0 * math.prod(out) * k
    return op_names, flops


def part_of(op_name: str) -> str:
    if "mlm" in op_name or "ArgMax" in op_name or op_name == "Max":
        return "MLM head + loss"
    if re.search(r"adam|lamb|clip|global_norm|^AddN", op_name, re.I):
        return "optimizer, clipping, gradient sums"
    if "gradient_tape" in op_name:
        return "backbone backward"
    if op_name:
        return "backbone forward" if "backbone" in op_name else "other"
    return "unnamed (reductions, thread-pool waits)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--system", choices=("ours", "keras-hub"), default="ours")
    parser.add_argument("--steps", type=int, default=2, help="profiled steps")
    parser.add_argument("--top", type=int, default=15, help="largest single thunks to list")
    args = parser.parse_args()

    step = w1.BUILDERS[args.system]()
    for _ in range(3):
        step()
    started = time.perf_counter()
    for _ in range(3):
        step()
    print(f"{args.system}: {(time.perf_counter() - started) / 3 * 1e3:.0f} ms per step (unprofiled)")
    tf.profiler.experimental.start(f"{WORK}/trace")
    for _ in range(args.steps):
        step()
    tf.profiler.experimental.stop()

    per_step = thunk_milliseconds(glob.glob(f"{WORK}/trace/**/*.xplane.pb", recursive=True)[0], args.steps)
    hlo = max(glob.glob(f"{WORK}/hlo/*one_step_on_data*cpu_after_optimizations.txt"), key=os.path.getsize)
    with open(hlo) as f:
        op_names, flops = hlo_ops(f.read())

    dot_ms = sum(ms for name, ms in per_step.items() if name.startswith(DOT_PREFIXES))
    dot_gflop = sum(flops.values()) / 1e9
    print(f"matmuls: {dot_ms:.1f} ms for {dot_gflop:.1f} GFLOP = {dot_gflop / dot_ms * 1e3:.0f} GFLOP/s")
    parts: collections.Counter = collections.Counter()
    for name, ms in per_step.items():
        if not name.startswith(DOT_PREFIXES):
            parts[part_of(op_names.get(name, ""))] += ms
    for part, ms in parts.most_common():
        print(f"{ms:8.1f} ms  {part}")
    print(f"largest {args.top} thunks (ms per step, TensorFlow op):")
    for name, ms in per_step.most_common(args.top):
        print(f"{ms:8.2f}  {name:32s} {op_names.get(name, '')[-70:]}")
    print(f"(trace and HLO kept in {WORK})")


if __name__ == "__main__":
    main()
