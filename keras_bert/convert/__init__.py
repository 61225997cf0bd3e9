"""Weight import and export: Hugging Face folders, original TF1 checkpoints, `.keras` files.

All formats go through one canonical state dict (see `weight_map`), read from safetensors or TF
checkpoints only: nothing is ever unpickled. A truncated or unreadable file raises
`CorruptCheckpointError` (one line: the file, the damage, what to do) before any weight is assigned.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import keras

from keras_bert.convert.hf_checkpoint import (
    backbone_kwargs_from_hf_config,
    has_pretraining_heads,
    read_hf_folder,
    save_hf,
)
from keras_bert.convert.integrity import (
    REDOWNLOAD_ADVICE,
    CorruptCheckpointError,
    check_zip_archive,
    one_line,
)
from keras_bert.convert.task_checkpoint import (
    FoundTask,
    detect_task,
    load_task,
    read_raw_checkpoint,
)
from keras_bert.convert.tf1_checkpoint import read_tf1_checkpoint
from keras_bert.convert.tokenizer_files import read_tokenizer_settings, write_tokenizer_files
from keras_bert.convert.weight_map import WeightMismatchError, assign_state, model_bindings
from keras_bert.models import BertBackbone, BertPretrainer

FORMATS = ("hf", "tf1", "keras")


def detect_format(path: str | os.PathLike) -> str:
    """Returns "hf", "tf1" or "keras" for a checkpoint path."""
    path = Path(path)
    if path.suffix == ".keras" and path.is_file():
        return "keras"
    if path.is_dir() and (path / "config.json").is_file():
        return "hf"
    if (path.is_dir() and (path / "bert_config.json").is_file()) or Path(f"{path}.index").is_file():
        return "tf1"
    raise ValueError(
        f"Cannot tell the checkpoint format of {path}: expected a Hugging Face folder (config.json + "
        "model.safetensors), an original BERT folder (bert_config.json + *.ckpt.index) or a .keras file."
    )


def read_checkpoint(path: str | os.PathLike, format: str | None = None) -> tuple[dict, dict, str]:
    """Returns (backbone kwargs, canonical state, format) for a HF folder or TF1 checkpoint."""
    format = format or detect_format(path)
    if format == "hf":
        config, state = read_hf_folder(path)
        return backbone_kwargs_from_hf_config(config), state, format
    if format == "tf1":
        config, state = read_tf1_checkpoint(path)
        # google-research/bert computes the tanh GELU whatever `hidden_act` says.
        return backbone_kwargs_from_hf_config(config, activation="gelu_approximate"), state, format
    raise ValueError(f"Unknown checkpoint format {format!r}; expected one of {FORMATS[:2]}.")


def load_weights(model, path: str | os.PathLike, format: str | None = None) -> list[str]:
    """Loads a checkpoint into an existing backbone or pretrainer; returns unused tensor names."""
    _, state, format = read_checkpoint(path, format)
    return assign_state(model_bindings(model), state, source=f"{format} checkpoint {path}")


def load_backbone(path: str | os.PathLike, format: str | None = None, **overrides):
    """Builds a `BertBackbone` from a HF folder or TF1 checkpoint, with its weights."""
    kwargs, state, format = read_checkpoint(path, format)
    backbone = BertBackbone(**{**kwargs, **overrides})
    assign_state(model_bindings(backbone), state, source=f"{format} checkpoint {path}")
    return backbone


def load_pretrainer(path: str | os.PathLike, format: str | None = None, **overrides):
    """Builds a `BertPretrainer` (backbone + MLM/NSP heads) from a checkpoint that has the heads."""
    kwargs, state, format = read_checkpoint(path, format)
    if not has_pretraining_heads(state):
        raise WeightMismatchError(f"{path} has no pretraining heads (no cls.* tensors).")
    pretrainer = BertPretrainer(BertBackbone(**{**kwargs, **overrides}))
    assign_state(model_bindings(pretrainer), state, source=f"{format} checkpoint {path}")
    return pretrainer


def load_model(path: str | os.PathLike, format: str | None = None, heads: str = "auto"):
    """Loads any supported checkpoint. heads: "auto" (the task model of a fine-tuned checkpoint,
    with its preprocessor, see `load_task`; a backbone for a bare encoder), "pretraining" or
    "none" (backbone only)."""
    return load_model_and_task(path, format, heads)[0]


def load_model_and_task(path: str | os.PathLike, format: str | None = None, heads: str = "auto",
                        task: str | None = None) -> tuple[object, FoundTask | None]:
    """`load_model`, and what was found in the checkpoint (None for a `.keras` file or an explicit
    `heads`). `task`: the task wanted (ValueError when the checkpoint holds another)."""
    format = format or detect_format(path)
    if format == "keras":
        check_zip_archive(path, REDOWNLOAD_ADVICE)
        try:
            return keras.saving.load_model(path, compile=False), None
        except zipfile.BadZipFile as error:  # A member fails its CRC check.
            raise CorruptCheckpointError(path, f"damaged ({one_line(error)})", REDOWNLOAD_ADVICE) from error
    if heads == "auto":
        config, state = read_raw_checkpoint(path, format)
        found = detect_task(config, state, format)
        if task is not None and found.task != task:
            raise ValueError(f"{path} holds {found.task or 'no task head'} ({found.describe()}), not {task}")
        if found.task is None:
            return load_backbone(path, format), found
        try:
            return load_task(path, format)
        except FileNotFoundError:  # no vocabulary beside the weights: the bare heads
            if found.task != "fill-mask":
                raise
            found.detail.append("no vocabulary in the folder: model without a preprocessor")
            return load_pretrainer(path, format), found
    return (load_pretrainer(path, format) if heads == "pretraining" else load_backbone(path, format)), None


__all__ = [
    "CorruptCheckpointError",
    "WeightMismatchError",
    "detect_format",
    "load_backbone",
    "load_model",
    "load_model_and_task",
    "load_pretrainer",
    "load_task",
    "load_weights",
    "read_checkpoint",
    "read_tokenizer_settings",
    "save_hf",
    "write_tokenizer_files",
]
