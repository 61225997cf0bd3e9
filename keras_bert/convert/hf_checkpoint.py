"""Hugging Face BERT folders (`config.json` + `model.safetensors`): read, build, write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from keras_bert.convert.integrity import REDOWNLOAD_ADVICE, CorruptCheckpointError, write_atomically
from keras_bert.convert.safetensors_io import read_safetensors, write_safetensors
from keras_bert.convert.weight_map import WeightMismatchError, model_bindings, read_state
from keras_bert.layers.activations import HF_ACTIVATIONS

# Tensors Hugging Face stores that carry no weights of their own (buffers, tied copies).
_IGNORED = ("embeddings.position_ids", "cls.predictions.decoder.weight")
_CONFIG_KEYS = {
    "vocab_size": "vocabulary_size",
    "num_hidden_layers": "num_layers",
    "num_attention_heads": "num_heads",
    "hidden_size": "hidden_dim",
    "intermediate_size": "intermediate_dim",
    "max_position_embeddings": "max_sequence_length",
    "type_vocab_size": "num_segments",
    "hidden_dropout_prob": "dropout",
    "attention_probs_dropout_prob": "attention_dropout",
    "layer_norm_eps": "layer_norm_epsilon",
    "initializer_range": "initializer_range",
}


def backbone_kwargs_from_hf_config(config: dict, activation: str | None = None) -> dict:
    """`BertBackbone` kwargs from a Hugging Face / google-research `config.json` dict.

    Args:
        config: the parsed config.
        activation: overrides the activation (google-research/bert checkpoints compute the tanh
            form whatever `hidden_act` says, so their importer passes "gelu_approximate").
    """
    missing = [key for key in list(_CONFIG_KEYS)[:5] if key not in config]
    if missing:
        raise ValueError(f"BERT config is missing required keys: {missing}.")
    if config.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(
            f"position_embedding_type={config['position_embedding_type']!r} is not supported "
            "(only 'absolute')."
        )
    kwargs = {ours: config[theirs] for theirs, ours in _CONFIG_KEYS.items() if theirs in config}
    if activation is None:
        hidden_act = config.get("hidden_act", "gelu")
        if hidden_act not in HF_ACTIVATIONS:
            raise ValueError(f"Unsupported hidden_act {hidden_act!r}; known: {sorted(HF_ACTIVATIONS)}.")
        activation = HF_ACTIVATIONS[hidden_act]
    kwargs["activation"] = activation
    return kwargs


def hf_config_from_backbone(backbone, architectures: list[str]) -> dict:
    """A Hugging Face `config.json` dict describing `backbone`."""
    config = {theirs: getattr(backbone, ours) for theirs, ours in _CONFIG_KEYS.items()}
    if config["attention_probs_dropout_prob"] is None:
        config["attention_probs_dropout_prob"] = backbone.dropout
    hidden_act = {"gelu": "gelu", "gelu_approximate": "gelu_new", "relu": "relu"}
    config.update(
        architectures=architectures,
        model_type="bert",
        hidden_act=hidden_act[backbone.activation],
        position_embedding_type="absolute",
        pad_token_id=0,
    )
    return config


def read_hf_folder(folder: str | os.PathLike) -> tuple[dict, dict[str, np.ndarray]]:
    """Reads `config.json` and `model.safetensors` into (config, canonical state dict).

    The `bert.` prefix of BertForPreTraining-style names is removed. Never unpickles: a folder with
    only `pytorch_model.bin` is refused.
    """
    folder = Path(folder)
    config_path, weights_path = folder / "config.json", folder / "model.safetensors"
    if not config_path.is_file():
        raise FileNotFoundError(f"{config_path} is missing (a Hugging Face BERT folder needs it).")
    if not weights_path.is_file():
        hint = " (pickled .bin weights are never loaded)" if (folder / "pytorch_model.bin").exists() else ""
        raise FileNotFoundError(f"{weights_path} is missing{hint}.")
    config = read_json_config(config_path)
    state = {}
    for name, array in read_safetensors(weights_path).items():
        name = name.removeprefix("bert.")
        if name in _IGNORED:
            continue
        if name == "cls.predictions.decoder.bias":
            state.setdefault("cls.predictions.bias", array)
            continue
        state[name] = array
    return config, state


def read_json_config(path: Path) -> dict:
    """A `config.json` / `bert_config.json`; `CorruptCheckpointError` (one line) when it is not a
    JSON object (cut short, empty, overwritten)."""
    try:
        config = json.loads(path.read_bytes())
        if not isinstance(config, dict):
            raise ValueError(f"a JSON {type(config).__name__}, not an object")
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError are ValueErrors.
        raise CorruptCheckpointError(path, f"not a valid config ({error})", REDOWNLOAD_ADVICE) from error
    return config


def has_pretraining_heads(state: dict[str, np.ndarray]) -> bool:
    return any(name.startswith("cls.") for name in state)


# Our model class -> the Hugging Face architecture it is written as.
HF_ARCHITECTURES = {
    "BertClassifier": "BertForSequenceClassification",
    "BertTokenTagger": "BertForTokenClassification",
    "BertSpanQA": "BertForQuestionAnswering",
    "BertPretrainer": "BertForPreTraining",
}
# Hugging Face builds these without a pooler (add_pooling_layer=False).
_NO_POOLER = ("BertForTokenClassification", "BertForQuestionAnswering")


def hf_architecture(model) -> str:
    """The Hugging Face class a model of ours is written as (`BertModel` for a backbone or an
    embedder)."""
    return next((HF_ARCHITECTURES[c.__name__] for c in type(model).__mro__ if c.__name__ in HF_ARCHITECTURES),
                "BertModel")


def hf_head_config(model) -> dict:
    """config.json entries of a classification / token-classification head: `id2label`,
    `label2id`, and for sequence classification `problem_type`."""
    num = getattr(model, "num_classes", None)
    if num is None or not hasattr(model, "backbone"):
        return {}
    labels = list(getattr(model, "label_names", None) or [f"LABEL_{i}" for i in range(num)])
    config = {"id2label": {str(i): name for i, name in enumerate(labels)},
              "label2id": {name: i for i, name in enumerate(labels)}}
    if hf_architecture(model) == "BertForSequenceClassification":
        regression = getattr(model, "regression", False)
        config["problem_type"] = "regression" if regression else "single_label_classification"
    return config


def save_hf(model, folder: str | os.PathLike, tokenizer=None) -> Path:
    """Writes a model as a Hugging Face folder that `AutoModelFor*` and `AutoTokenizer` load.

    A backbone or embedder becomes `BertModel`, a pretrainer `BertForPreTraining`, a
    `BertClassifier` `BertForSequenceClassification` (`problem_type` regression or single-label,
    `id2label`/`label2id`), a `BertTokenTagger` `BertForTokenClassification`, a `BertSpanQA`
    `BertForQuestionAnswering`. With a tokenizer (default: the one of `model.preprocessor`) the
    folder also gets `vocab.txt`, `tokenizer_config.json` and `special_tokens_map.json`
    (`model_max_length` = the preprocessor's sequence length).
    """
    from keras_bert.convert.tokenizer_files import write_tokenizer_files

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    architecture = hf_architecture(model)
    backbone = getattr(model, "backbone", model)
    state = read_state(model_bindings(model))
    if architecture in _NO_POOLER:
        state = {k: v for k, v in state.items() if not k.startswith("pooler.")}
    if architecture != "BertModel":  # task heads sit beside the `bert.` encoder
        heads = ("cls.", "classifier.", "qa_outputs.")
        state = {(k if k.startswith(heads) else f"bert.{k}"): v for k, v in state.items()}
    if "cls.predictions.bias" in state:
        state["cls.predictions.decoder.bias"] = state["cls.predictions.bias"]
    write_safetensors(folder / "model.safetensors", state)
    config = hf_config_from_backbone(backbone, [architecture])
    config.update(hf_head_config(model))
    text = (json.dumps(config, indent=2) + "\n").encode()
    write_atomically(folder / "config.json", lambda f: f.write(text))
    preprocessor = getattr(model, "preprocessor", None)
    if tokenizer is None and preprocessor is not None:
        tokenizer = preprocessor.tokenizer
    if tokenizer is not None:
        length = getattr(preprocessor, "sequence_length", None)
        write_tokenizer_files(tokenizer, folder, model_max_length=length)
    return folder


__all__ = [
    "CorruptCheckpointError",
    "WeightMismatchError",
    "backbone_kwargs_from_hf_config",
    "has_pretraining_heads",
    "hf_architecture",
    "hf_config_from_backbone",
    "hf_head_config",
    "read_hf_folder",
    "read_json_config",
    "save_hf",
]
