"""Core-tokenizer exports in a throwaway venv where tensorflow-text is not installed at all.

    .venv/bin/python scripts/check_core_export_without_tf_text.py

Makes a venv (no download: its site-packages links every package of this project's venv except
tensorflow-text and this package), checks that `import tensorflow_text` fails there and TensorFlow
imports, then runs tests/export/test_core_tokenizer_export.py with that venv's interpreter loading
and running the five core exports (KERAS_BERT_NO_TF_TEXT_PYTHON). Exit status: pytest's.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = ("tensorflow_text", "__editable__", "keras_bert", "_keras_bert")


def make_venv(where: Path) -> Path:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(where / "venv")
    python = where / "venv" / "bin" / "python"
    ours = Path(sysconfig.get_paths()["purelib"])
    linked = where / "packages"
    linked.mkdir()
    for entry in ours.iterdir():
        if entry.name.startswith(SKIPPED) or entry.suffix == ".pth":
            continue
        (linked / entry.name).symlink_to(entry)
    site = subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()
    Path(site, "linked_packages.pth").write_text(str(linked) + "\n")
    return python


def main() -> int:
    where = Path(tempfile.mkdtemp(prefix="no_tf_text_"))
    python = make_venv(where)
    probe = subprocess.run(
        [python, "-c", "import importlib.util, tensorflow as tf; "
                       "print(tf.__version__, importlib.util.find_spec('tensorflow_text'))"],
        capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    print(f"venv {python}: tensorflow, tensorflow_text spec = {probe.stdout.strip()}")
    if probe.returncode != 0 or not probe.stdout.strip().endswith("None"):
        print(probe.stderr[-2000:])
        return 1
    env = {**os.environ, "KERAS_BERT_NO_TF_TEXT_PYTHON": str(python), "TF_CPP_MIN_LOG_LEVEL": "2"}
    test = "tests/export/test_core_tokenizer_export.py::test_core_exports_answer_without_tensorflow_text_like_the_default"
    return subprocess.run(
        [sys.executable, "-m", "pytest", test, "-q", "-s", "-p", "no:cacheprovider"], cwd=ROOT, env=env
    ).returncode


if __name__ == "__main__":
    sys.exit(main())
