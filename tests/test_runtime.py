"""`import keras_bert` gives TensorFlow a pooling CPU allocator: repeated steps stop page-faulting.
"""

import json
import os
import subprocess
import sys

import pytest

_PROBE = r"""
import json, os, resource, sys
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


def _probe(env_value):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if env_value is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@pytest.mark.skipif(sys.platform != "linux", reason="minor page-fault counts are Linux's")
def test_import_selects_pooling_allocator_and_user_choice_wins():
    pooled = _probe(None)
    assert pooled["env"] == "true"
    default = _probe("false")  # the user's explicit choice is kept: TensorFlow's default allocator
    assert default["env"] == "false"
    # 64 MB is ~16,000 pages: the default allocator faults them in again on every call.
    assert default["faults_per_step"] > 8000, default
    assert pooled["faults_per_step"] < 1000, pooled
