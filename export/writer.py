"""Writes a servable as a TF Serving version directory and checks it.

`BASE/NAME/VERSION/` gets `saved_model.pb`, `variables/`, `assets/vocab.txt`, and in
`assets.extra/` TF Serving's warm-up records (`tf_serving_warmup_requests`, one request per
signature) and `export_info.json` (task, preprocessing and the per-request limits fixed at export,
which a request beyond them is refused by with INVALID_ARGUMENT). The SavedModel is
written to a temporary sibling first and renamed into place only after the op check passes, so a
server watching `BASE/NAME` never sees a half-written or unservable version.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import tensorflow as tf
from keras_bert.export.method_names import set_method_names
from keras_bert.export.op_check import check_ops
from keras_bert.export.servable import ServableModule
from keras_bert.export.warmup_records import warmup_logs, write_warmup_file

INFO_FILE = os.path.join("assets.extra", "export_info.json")


def export_info(servable: ServableModule) -> dict:
    """What the export was built with: task, text inputs, preprocessing (the preprocessor's
    settings and the tokenizer's casing and vocabulary size), overrides of the saved preprocessing,
    and the per-request limits (also printed by the CLI)."""
    pre = servable.preprocessor
    settings = {k: v for k, v in pre.get_config().items() if k not in ("tokenizer", "name", "dtype")}
    tokenizer = {"lowercase": servable.tokenizer.lowercase,
                 "vocabulary_size": servable.tokenizer.vocabulary_size,
                 "backend": servable.tokenizer.backend}
    return {
        "task": servable.task,
        "text_inputs": list(servable.text_inputs),
        "preprocessing": {"class": type(pre).__name__, **settings, "tokenizer": tokenizer},
        "overrides": list(getattr(servable, "overrides", [])),
        "limits": servable.limits(),
    }


def export_servable(servable: ServableModule, export_dir: str | os.PathLike, check: bool = True) -> Path:
    """Saves `servable` with all its signatures to `export_dir` (must not exist); returns it."""
    export_dir = Path(export_dir)
    if export_dir.exists():
        raise FileExistsError(f"{export_dir} exists; TF Serving versions are immutable")
    export_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{export_dir.name}.tmp-", dir=export_dir.parent))
    try:
        signatures = servable.signatures()
        methods = servable.signature_methods()
        tf.saved_model.save(servable, str(staging), signatures=signatures)
        set_method_names(str(staging), methods)
        write_warmup_file(staging, warmup_logs(servable, signatures, methods))
        (staging / INFO_FILE).write_text(json.dumps(export_info(servable), indent=2) + "\n")
        if not (staging / "assets" / "vocab.txt").is_file():
            raise RuntimeError("the vocabulary asset assets/vocab.txt was not written")
        if check:  # a core-tokenizer export must hold core TensorFlow ops only
            check_ops(staging, core_only=servable.tokenizer.backend == "core")
        os.replace(staging, export_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return export_dir
