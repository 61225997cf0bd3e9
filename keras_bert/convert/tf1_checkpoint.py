"""Original google-research/bert TF1 checkpoints (`bert_config.json` + `bert_model.ckpt.*`).

A missing data shard, a truncated or damaged `.index` / `.data-*` file raises
`CorruptCheckpointError` (one line) instead of TensorFlow's errors.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from keras_bert.convert.hf_checkpoint import read_json_config
from keras_bert.convert.integrity import REDOWNLOAD_ADVICE, CorruptCheckpointError

_SKIPPED = re.compile(r"(adam_[mv]|global_step|Momentum|LAMB|_slot_)")
_SPECIAL = {
    "cls/predictions/output_bias": ("cls.predictions.bias", False),
    "cls/seq_relationship/output_weights": ("cls.seq_relationship.weight", False),  # (2, H)
    "cls/seq_relationship/output_bias": ("cls.seq_relationship.bias", False),
    # Fine-tuned heads: run_classifier.py (num_labels, H) and run_squad.py (2, H; column 0 = start),
    # both applied with transpose_b=True, i.e. already in (out, in) orientation.
    "output_weights": ("classifier.weight", False),
    "output_bias": ("classifier.bias", False),
    "cls/squad/output_weights": ("qa_outputs.weight", False),
    "cls/squad/output_bias": ("qa_outputs.bias", False),
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
    if not tf1_name.startswith(("bert/", "cls/predictions/")):
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
    config = read_json_config(config_path)
    try:
        reader = tf.train.load_checkpoint(prefix)
    except tf.errors.OpError as error:  # DataLossError (bad index), NotFoundError (no data shard)
        raise _damaged(prefix, error.message) from error
    state = {}
    for tf1_name in reader.get_variable_to_shape_map():
        mapped = canonical_name(tf1_name)
        if mapped is None:
            continue
        name, transpose = mapped
        try:
            array = np.asarray(reader.get_tensor(tf1_name))
        except tf.errors.OpError as error:
            raise _damaged(prefix, error.message, tf1_name) from error
        except IndexError as error:  # "Read less bytes than requested": a cut data shard.
            raise _damaged(prefix, str(error), tf1_name) from error
        state[name] = array.T if transpose else array
    return config, state


def _damaged(prefix: str, message: str, tensor: str | None = None) -> CorruptCheckpointError:
    """The one-line error for a TF checkpoint that TensorFlow cannot read, naming the file."""
    message = message.strip().splitlines()[0] if message.strip() else "no message"
    shards = _data_shards(prefix)
    if "sstable" in message:
        return CorruptCheckpointError(f"{prefix}.index", f"unreadable TF checkpoint index ({message})",
                                      REDOWNLOAD_ADVICE)
    if not shards or "No such file" in message:
        return CorruptCheckpointError(f"{prefix}.data-*", f"missing data shard ({message})", REDOWNLOAD_ADVICE)
    sizes = ", ".join(f"{p.name}: {p.stat().st_size} bytes" for p in shards)
    reading = f"cannot read tensor {tensor!r}" if tensor else "cannot open it"
    return CorruptCheckpointError(
        shards[0] if len(shards) == 1 else f"{prefix}.data-*",
        f"truncated or damaged: {reading} ({message}; {sizes})", REDOWNLOAD_ADVICE,
    )


def _data_shards(prefix: str) -> list[Path]:
    prefix_path = Path(prefix)
    return sorted(prefix_path.parent.glob(f"{prefix_path.name}.data-*"))
