"""Shared plumbing for task models: backbone (de)serialisation in `get_config`/`from_config`."""

from __future__ import annotations

import keras


def serialize_backbone(backbone: keras.Model) -> dict:
    return keras.saving.serialize_keras_object(backbone)


def backbone_from_config(config: dict) -> dict:
    """Return `config` with its serialized `backbone` entry turned back into a model."""
    config = dict(config)
    if isinstance(config.get("backbone"), dict):
        config["backbone"] = keras.saving.deserialize_keras_object(config["backbone"])
    return config
