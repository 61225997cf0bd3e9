"""`import keras_bert` asks TensorFlow for its pooling CPU allocator unless the user chose otherwise.

Whether TensorFlow's default allocator page-faults its temporaries again is a property of the
machine, so that is measured in `bench/bench_allocator_faults.py`, never asserted here.
"""

import json
import os
import subprocess
import sys

_PROBE = r"""
import json, os
import keras_bert
print(json.dumps({"env": os.environ.get("TF_CPU_ALLOCATOR_USE_BFC"),
                  "tf_imported": "tensorflow" in __import__("sys").modules}))
"""


def _probe(env_value):
    env = {k: v for k, v in os.environ.items() if k != "TF_CPU_ALLOCATOR_USE_BFC"}
    if env_value is not None:
        env["TF_CPU_ALLOCATOR_USE_BFC"] = env_value
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, capture_output=True, text=True,
                         timeout=300, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_selects_pooling_allocator():
    assert _probe(None)["env"] == "true"


def test_user_choice_of_allocator_wins():
    assert _probe("false")["env"] == "false"
    assert _probe("true")["env"] == "true"
