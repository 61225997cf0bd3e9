"""The machine a benchmark ran on, printed with every result: CPU model, cores and SIMD flags."""

from __future__ import annotations

import os

WANTED_FLAGS = ("avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16")


def cpu_flags() -> str:
    """The CPU's vector/bf16 flags that matter for these benchmarks ("unknown" off Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return " ".join(x for x in line.split() if x in WANTED_FLAGS)
    except OSError:
        pass
    return "unknown"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def describe() -> str:
    """One line: model, cores, flags."""
    return f"{cpu_model()}, {os.cpu_count()} cores, flags: {cpu_flags()}"
