"""Original google-research/bert TF1 checkpoints (`bert_config.json` + `bert_model.ckpt.*`)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np

_SKIPPED = re.compile(r"(adam_[mv]|global_step|Momentum|LAMB|_slot_)")
_SPECIAL = {
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    "cls/seq_relationship/output_weights": ("cls.seq_relationship.weight", False),  # (2, H)
    "cls/seq_relationship/output_bias": ("cls.seq_relationship.bias", False),
}


def canonical_name(tf1_name: str) -> tuple[str, bool] | None:
    """Maps an original variable name to (canonical name, transpose?); None for non-model variables.

    `bert/encoder/layer_3/attention/self/query/kernel` -> (`encoder.layer.3.attention.self.query.weight`,
    True); `bert/embeddings/word_embeddings` -> (`embeddings.word_embeddings.weight`, False).
    """
    if _SKIPPED.search(tf1_name):
        return None
    if tf1_name in _SPECIAL:
        return _SPECIAL[tf1_name]
    if not tf1_name.startswith(("bert/", "cls/")):
        return None
    name = tf1_name.removeprefix("bert/")
    name = re.sub(r"layer_(\d+)", r"layer.\1", name).replace("/", ".")
    if name.endswith(".kernel"):
        return name.removesuffix(".kernel") + ".weight", True
    if name.endswith(".gamma"):
        return name.removesuffix(".gamma") + ".weight", False
    if name.endswith(".beta"):
        return name.removesuffix(".beta") + ".bias", False
    if name.endswith(".bias"):
        return name, False
    if name.startswith("embeddings.") and name.endswith("_embeddings"):
        return name + ".weight", False
    return None


def checkpoint_prefix(path: str | os.PathLike) -> str:
    """Finds the checkpoint prefix inside a folder (or returns a given prefix)."""
    path = Path(path)
    if path.is_dir():
        import tensorflow as tf  # noqa: PLC0415 (TF only at this edge)

        latest = tf.train.latest_checkpoint(str(path))
        if latest:
            return latest
        indexes = sorted(path.glob("*.index"))
        if not indexes:
            raise FileNotFoundError(f"No TF checkpoint (*.index) in {path}.")
        return str(indexes[0].with_suffix(""))
    if not Path(f"{path}.index").is_file():
        raise FileNotFoundError(f"No TF checkpoint at {path} ({path}.index is missing).")
    return str(path)


def read_tf1_checkpoint(path: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Reads (bert_config, canonical state dict) from a folder or checkpoint prefix."""
    import tensorflow as tf  # noqa: PLC0415

    prefix = checkpoint_prefix(path)
    config_path = (Path(path) if Path(path).is_dir() else Path(prefix).parent) / "bert_config.json"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} is missing (the original checkpoints ship it).")
    config = json.loads(config_path.read_text())
    reader = tf.train.load_checkpoint(prefix)
    state = {}
    for tf1_name in reader.get_variable_to_shape_map():
        mapped = canonical_name(tf1_name)
        if mapped is None:
            continue
        name, transpose = mapped
        array = np.asarray(reader.get_tensor(tf1_name))
        state[name] = array.T if transpose else array
    return config, state
