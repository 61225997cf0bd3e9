"""Bad checkpoints: clear errors naming tensors and shapes; nothing half-loads."""

import json

import numpy as np
import pytest

from keras_bert import BertBackbone
from keras_bert.convert import (
    WeightMismatchError,
    detect_format,
    load_backbone,
    load_weights,
    save_hf,
)
from keras_bert.convert.safetensors_io import read_safetensors, write_safetensors


@pytest.fixture
def hf_folder(tmp_path, tiny_config):
    save_hf(BertBackbone(**tiny_config), tmp_path / "ckpt")
    return tmp_path / "ckpt"


def _edit(folder, edit):
    state = read_safetensors(folder / "model.safetensors")
    edit(state)
    write_safetensors(folder / "model.safetensors", state)


def test_missing_tensor_is_named(hf_folder):
    _edit(hf_folder, lambda s: s.pop("encoder.layer.1.attention.self.key.weight"))
    with pytest.raises(WeightMismatchError, match=r"missing tensor 'encoder.layer.1.attention.self.key.weight'"):
        load_backbone(hf_folder)


def test_misshaped_tensor_names_both_shapes_and_nothing_half_loads(hf_folder, tiny_config):
    def edit(state):
        state["embeddings.LayerNorm.weight"] = np.full((16,), 3.0, "float32")  # fine, loads first
        state["encoder.layer.0.intermediate.dense.weight"] = np.zeros((31, 16), "float32")
    _edit(hf_folder, edit)
    model = BertBackbone(**tiny_config)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(WeightMismatchError) as info:
        load_weights(model, hf_folder)
    message = str(info.value)
    assert "encoder.layer.0.intermediate.dense.weight" in message
    assert "(31, 16)" in message and "(32, 16)" in message
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)  # nothing was assigned


def test_config_that_does_not_match_the_weights(hf_folder):
    config = json.loads((hf_folder / "config.json").read_text())
    config["num_hidden_layers"] = 3
    (hf_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightMismatchError, match=r"missing tensor 'encoder.layer.2"):
        load_backbone(hf_folder)
    config["num_hidden_layers"], config["hidden_size"] = 2, 24
    (hf_folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(WeightMismatchError, match=r"model expects \(\d+, 24\)"):
        load_backbone(hf_folder)


def test_missing_files_and_unknown_formats(tmp_path, hf_folder):
    (hf_folder / "model.safetensors").rename(tmp_path / "elsewhere.safetensors")
    (hf_folder / "pytorch_model.bin").write_bytes(b"pickle")
    with pytest.raises(FileNotFoundError, match="never loaded"):
        load_backbone(hf_folder)
    with pytest.raises(ValueError, match="Cannot tell the checkpoint format"):
        detect_format(tmp_path / "nothing-here")
    (tmp_path / "bad.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}......")
    with pytest.raises(ValueError, match="corrupt safetensors header"):
        read_safetensors(tmp_path / "bad.safetensors")
