"""Page faults per step with TensorFlow's default CPU allocator vs the pooling one `import keras_bert`
selects. A property of the machine (its kernel, its allocator, its CPU), so measured here, never
asserted in tests: on the AVX2 machines of earlier sessions the default allocator faulted a 64 MB
temporary in again on every call (~16,000 faults a step); on some AVX-512 machines it does not.

    python bench/bench_allocator_faults.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from machine import cpu_flags

PROBE = r"""
import json, os, resource
import keras_bert  # sets the allocator default before TensorFlow allocates
import tensorflow as tf

x = tf.Variable(tf.ones((4096, 64)))

@tf.function(jit_compile=True)
def step():  # the matmul's (4096, 4096) float32 result: a 64 MB temporary per call
    y = tf.matmul(x, x, transpose_b=True)
    return tf.reduce_sum(y * y, axis=0) + tf.reduce_max(y, axis=0)

for _ in range(3):
    step().numpy()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    step().numpy()
faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 5
print(json.dumps({"env": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"), "faults_per_step": faults}))
"""




def probe(env_value: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if env_value is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    print(f"CPU flags: {cpu_flags()}; 64 MB temporary per call, 5 calls after 3 warm-up calls")
    for label, value in (("pooling (keras_bert default)", None), ("TensorFlow default", "false")):
        result = probe(value)
        print(f"{label:30s} TF_CPU_ALLOCATOR_USE_BFC={result['env']}: "
              f"{result['faults_per_step']:.0f} minor page faults per call")


if __name__ == "__main__":
    main()
