"""Writes a servable as a TF Serving version directory and checks it.

`BASE/NAME/VERSION/` gets `saved_model.pb`, `variables/` and `assets/vocab.txt`. The SavedModel is
written to a temporary sibling first and renamed into place only after the op check passes, so a
server watching `BASE/NAME` never sees a half-written or unservable version.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf
from keras_bert.export.method_names import set_method_names
from keras_bert.export.op_check import check_ops
from keras_bert.export.servable import ServableModule


def export_servable(servable: ServableModule, export_dir: str | os.PathLike, check: bool = True) -> Path:
    """Saves `servable` with all its signatures to `export_dir` (must not exist); returns it."""
    export_dir = Path(export_dir)
    if export_dir.exists():
        raise FileExistsError(f"{export_dir} exists; TF Serving versions are immutable")
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{export_dir.name}.tmp-", dir=export_dir.parent))
    try:
        tf.saved_model.save(servable, str(staging), signatures=servable.signatures())
        set_method_names(str(staging), servable.signature_methods())
        if not (staging / "assets" / "vocab.txt").is_file():
            raise RuntimeError("the vocabulary asset assets/vocab.txt was not written")
        if check:
            check_ops(staging)
        os.replace(staging, export_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return export_dir
