"""Bad checkpoints: clear errors naming tensors and shapes, or (truncated / unreadable files) one line
naming the file, the damage and what to do; nothing half-loads."""

import json
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from keras_bert import BertBackbone
from keras_bert.convert import (
    CorruptCheckpointError,
    WeightMismatchError,
    detect_format,
    load_backbone,
    load_model,
    load_weights,
    read_checkpoint,
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


# ---------------------------------------------------------------- truncated / unreadable files
ADVICE = "re-download or re-convert the weights"


def _assert_one_line(error: Exception, path, *parts: str) -> None:
    """One line: the file first, then what is wrong, then what to do."""
    message = str(error)
    assert "\n" not in message, message
    assert message.startswith(f"{path}: ") and message.endswith(f"; {ADVICE}."), message
    for part in parts:
        assert part in message, message


def _rewrite_header(data: bytes, edit) -> bytes:
    """`data` with its JSON header edited (and re-padded); the tensor bytes unchanged."""
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + header_len])
    edit(header)
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data[8 + header_len :]


def _last_tensor(header: dict) -> dict:
    return max((v for k, v in header.items() if k != "__metadata__"), key=lambda v: v["data_offsets"][1])


@pytest.mark.parametrize(
    "how",
    ["empty", "cut_in_header_length", "cut_in_json_header", "cut_in_tensor_data", "cut_last_byte",
     "random", "invalid_json", "offsets_beyond_the_file", "offsets_disagree_with_shape"],
)
def test_damaged_safetensors_fails_with_one_line_and_loads_nothing(hf_folder, tiny_config, how):
    weights = hf_folder / "model.safetensors"
    data = weights.read_bytes()
    size = len(data)
    (header_len,) = struct.unpack("<Q", data[:8])

    def beyond(header):
        last = _last_tensor(header)
        last["data_offsets"] = [o + 64 for o in last["data_offsets"]]

    def disagree(header):
        _last_tensor(header)["data_offsets"][1] -= 4

    damaged, expected = {
        "empty": (b"", "empty file (0 bytes)"),
        "cut_in_header_length": (data[:5], "truncated: 5 of at least 8 bytes (cut inside the 8-byte header length)"),
        "cut_in_json_header": (data[:100], f"truncated: 100 of at least {8 + header_len} bytes (cut inside the JSON header)"),
        "cut_in_tensor_data": (data[: 8 + header_len + 100], f"truncated: {8 + header_len + 100} of {size} bytes"),
        "cut_last_byte": (data[:-1], f"truncated: {size - 1} of {size} bytes"),
        "random": (np.random.default_rng(0).bytes(4096), "not a safetensors file (its header length"),
        "invalid_json": (data[:8] + b"{" + b"x" * (header_len - 1) + data[8 + header_len :], "corrupt safetensors header (Expecting property name"),
        "offsets_beyond_the_file": (_rewrite_header(data, beyond), " of "),
        "offsets_disagree_with_shape": (_rewrite_header(data, disagree), "corrupt safetensors header (tensor "),
    }[how]
    weights.write_bytes(damaged)
    if how == "offsets_beyond_the_file":
        expected = f"truncated: {len(damaged)} of {len(damaged) + 64} bytes"
    model = BertBackbone(**tiny_config)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(CorruptCheckpointError) as info:
        load_weights(model, hf_folder)
    _assert_one_line(info.value, weights, expected)
    for old, new in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(old, new)


def test_unreadable_config_json_is_one_line(hf_folder):
    (hf_folder / "config.json").write_text('{"vocab_size": 120, "hidden_')  # cut short
    with pytest.raises(CorruptCheckpointError) as info:
        load_backbone(hf_folder)
    _assert_one_line(info.value, hf_folder / "config.json", "not a valid config (")


def test_truncated_keras_file_is_one_line(tmp_path, tiny_config):
    path = tmp_path / "model.keras"
    BertBackbone(**tiny_config).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptCheckpointError) as info:
        load_model(path)
    _assert_one_line(info.value, path, f"truncated: {len(data) // 2} ")


@pytest.fixture
def tf1_folder(tmp_path, tiny_config):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    names = {"bert/embeddings/word_embeddings": (120, 16), "bert/pooler/dense/kernel": (16, 16),
             "bert/pooler/dense/bias": (16,)}
    tf.raw_ops.SaveV2(prefix=str(tmp_path / "bert_model.ckpt"), tensor_names=list(names),
                      shape_and_slices=[""] * len(names),
                      tensors=[rng.normal(size=s).astype("float32") for s in names.values()])
    config = {"vocab_size": 120, "hidden_size": 16, "num_hidden_layers": 2, "num_attention_heads": 2,
              "intermediate_size": 32}
    (tmp_path / "bert_config.json").write_text(json.dumps(config))
    return tmp_path


@pytest.mark.parametrize("how", ["cut_data", "empty_data", "missing_data", "cut_index", "bad_config"])
def test_damaged_tf1_checkpoint_is_one_line(tf1_folder, how):
    prefix = tf1_folder / "bert_model.ckpt"
    data_file = tf1_folder / "bert_model.ckpt.data-00000-of-00001"
    index = tf1_folder / "bert_model.ckpt.index"
    assert read_checkpoint(tf1_folder)[1]  # Whole, it reads.
    if how == "cut_data":
        data_file.write_bytes(data_file.read_bytes()[:1000])
        path, parts = data_file, ("truncated or damaged: cannot read tensor", f"{data_file.name}: 1000 bytes")
    elif how == "empty_data":
        data_file.write_bytes(b"")
        path, parts = data_file, (f"{data_file.name}: 0 bytes",)
    elif how == "missing_data":
        data_file.unlink()
        path, parts = f"{prefix}.data-*", ("missing data shard (", data_file.name)
    elif how == "cut_index":
        index.write_bytes(index.read_bytes()[:50])
        path, parts = index, ("unreadable TF checkpoint index (", "sstable")
    else:
        (tf1_folder / "bert_config.json").write_bytes(b"")
        path, parts = tf1_folder / "bert_config.json", ("not a valid config (",)
    with pytest.raises(CorruptCheckpointError) as info:
        read_checkpoint(tf1_folder)
    _assert_one_line(info.value, path, *parts)


def test_cli_convert_of_a_truncated_file_prints_one_line_and_exits_2(hf_folder, tmp_path):
    weights = hf_folder / "model.safetensors"
    size = weights.stat().st_size
    weights.write_bytes(weights.read_bytes()[: size // 2])
    result = subprocess.run(
        [sys.executable, "-m", "keras_bert.cli", "convert", "--from", str(hf_folder), "--out",
         str(tmp_path / "out.keras")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"},
    )
    assert result.returncode == 2, result.stderr[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in result.stderr and len(errors) == 1, result.stderr[-3000:]
    assert errors[0] == f"error: {weights}: truncated: {size // 2} of {size} bytes (the data of " + \
        errors[0].split("(the data of ", 1)[1]
    assert errors[0].endswith(f"; {ADVICE}.")
    assert not (tmp_path / "out.keras").exists()
