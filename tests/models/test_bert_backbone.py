"""BertBackbone: shapes, masking, presets, Keras conventions, mixed precision."""

import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from keras_bert import BertBackbone
from keras_bert.presets import PRESETS
from tests.conftest import random_inputs


def test_output_shapes_and_dtypes(tiny_config):
    backbone = BertBackbone(**tiny_config)
    outputs = backbone(random_inputs())
    assert outputs["sequence_output"].shape == (3, 10, 16)
    assert outputs["pooled_output"].shape == (3, 16)
    assert keras.backend.standardize_dtype(outputs["sequence_output"].dtype) == "float32"


def test_padded_positions_do_not_change_real_tokens(tiny_config):
    backbone = BertBackbone(**tiny_config, dropout=0.0)
    inputs = random_inputs()
    changed = {k: v.copy() for k, v in inputs.items()}
    changed["token_ids"][1, 6:] = 77  # only padded-out positions of row 1 change
    a = backbone(inputs)["sequence_output"].numpy()
    b = backbone(changed)["sequence_output"].numpy()
    np.testing.assert_allclose(a[1, :6], b[1, :6], atol=1e-6)
    # ...and the mask matters: unmasking those positions does change the real tokens.
    changed["padding_mask"][1, 6:] = 1
    c = backbone(changed)["sequence_output"].numpy()
    assert np.abs(a[1, :6] - c[1, :6]).max() > 1e-3


# Published totals (Hugging Face bert-base-uncased / bert-large-uncased BertModel, pooler included).
@pytest.mark.parametrize(
    "preset,expected,paper",
    [("base", 109_482_240, 110e6), ("large", 335_141_888, 340e6)],
)
def test_parameter_counts_match_the_paper(preset, expected, paper):
    backbone = BertBackbone.from_preset(preset)
    assert backbone.count_params() == expected
    assert abs(backbone.count_params() - paper) / paper < 0.015


def test_presets_have_the_documented_shapes():
    shapes = {name: (p["config"]["num_layers"], p["config"]["hidden_dim"], p["config"]["num_heads"])
              for name, p in PRESETS.items()}
    assert shapes["tiny"] == (2, 128, 2)
    assert shapes["mini"] == (4, 256, 4)
    assert shapes["small"] == (4, 512, 8)
    assert shapes["medium"] == (8, 512, 8)
    assert shapes["minilm-l6"] == (6, 384, 12)
    with pytest.raises(ValueError, match="Unknown preset 'huge'"):
        BertBackbone.from_preset("huge")


def test_config_round_trip(tiny_config):
    backbone = BertBackbone(**tiny_config, activation="gelu_approximate", dropout=0.2)
    config = backbone.get_config()
    clone = BertBackbone.from_config(config)
    assert clone.get_config() == config
    clone.set_weights(backbone.get_weights())
    inputs = random_inputs()
    np.testing.assert_array_equal(
        backbone(inputs)["pooled_output"].numpy(), clone(inputs)["pooled_output"].numpy()
    )


def test_keras_save_and_load_in_a_fresh_process(tiny_config, tmp_path):
    backbone = BertBackbone(**tiny_config)
    inputs = random_inputs()
    expected = backbone(inputs)["sequence_output"].numpy()
    path = tmp_path / "backbone.keras"
    backbone.save(path)
    np.savez(tmp_path / "inputs.npz", **inputs)
    script = textwrap.dedent(f"""
        import numpy as np, keras, keras_bert
        model = keras.saving.load_model({str(path)!r})
        assert type(model).__name__ == "BertBackbone", type(model)
        inputs = dict(np.load({str(tmp_path / 'inputs.npz')!r}))
        np.save({str(tmp_path / 'out.npy')!r}, model(inputs)["sequence_output"].numpy())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=240)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), expected)


def test_mixed_bfloat16_policy(tiny_config):
    reference = BertBackbone(**tiny_config)
    inputs = random_inputs()
    expected = reference(inputs)["sequence_output"].numpy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        backbone = BertBackbone(**tiny_config)
        backbone.set_weights(reference.get_weights())
        outputs = backbone(inputs)["sequence_output"]
        assert keras.backend.standardize_dtype(outputs.dtype) == "bfloat16"
        assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in backbone.weights)  # fp32 master weights
        got = keras.ops.convert_to_numpy(keras.ops.cast(outputs, "float32"))
        real = inputs["padding_mask"].astype(bool)
        # bf16 keeps ~3 significant digits; LayerNorm outputs are O(1).
        np.testing.assert_allclose(got[real], expected[real], atol=0.1)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_mixed_bfloat16_as_constructor_dtype(tiny_config):
    reference = BertBackbone(**tiny_config)
    backbone = BertBackbone(**tiny_config, dtype="mixed_bfloat16")  # no global policy
    backbone.set_weights(reference.get_weights())
    inputs = random_inputs()
    got = backbone(inputs)["sequence_output"]
    assert keras.backend.standardize_dtype(got.dtype) == "bfloat16"
    real = inputs["padding_mask"].astype(bool)
    got = keras.ops.convert_to_numpy(keras.ops.cast(got, "float32"))
    expected = reference(inputs)["sequence_output"].numpy()
    np.testing.assert_allclose(got[real], expected[real], atol=0.1)


def test_output_positions_match_the_full_sequence_values_and_gradients(tiny_config):
    """`output_positions` (last block at [CLS] + those positions only) against gathering the full
    output: same values and the same gradients for every weight (padding, repeats, position 0)."""
    import tensorflow as tf  # noqa: PLC0415

    backbone = BertBackbone(**tiny_config, dropout=0.0)
    inputs = random_inputs()
    positions = np.array([[1, 4, 4], [0, 5, 2], [2, 1, 9]], "int32")  # row 2: 9 is padding
    rng = np.random.default_rng(1)
    w_seq = rng.normal(size=(3, 3, 16)).astype("float32")
    w_pool = rng.normal(size=(3, 16)).astype("float32")

    def run(pruned: bool):
        with tf.GradientTape() as tape:
            if pruned:
                out = backbone(inputs, output_positions=positions, training=True)
                seq = out["sequence_output"]
            else:
                out = backbone(inputs, training=True)
                seq = tf.gather(out["sequence_output"], positions, batch_dims=1)
            loss = tf.reduce_sum(seq * w_seq) + tf.reduce_sum(out["pooled_output"] * w_pool)
        grads = tape.gradient(loss, backbone.trainable_variables)
        return seq.numpy(), out["pooled_output"].numpy(), [tf.convert_to_tensor(g) for g in grads]

    seq, pooled, grads = run(pruned=True)
    ref_seq, ref_pooled, ref_grads = run(pruned=False)
    assert seq.shape == (3, 3, 16)
    np.testing.assert_allclose(seq, ref_seq, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(pooled, ref_pooled, rtol=1e-5, atol=1e-6)
    for variable, got, want in zip(backbone.trainable_variables, grads, ref_grads, strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-4, atol=1e-5,
                                   err_msg=variable.path)


def test_output_positions_under_mixed_bfloat16(tiny_config):
    backbone = BertBackbone(**tiny_config, dropout=0.0, dtype="mixed_bfloat16")
    inputs = random_inputs()
    positions = np.array([[1, 2], [3, 0], [2, 2]], "int32")
    pruned = keras.ops.convert_to_numpy(
        keras.ops.cast(backbone(inputs, output_positions=positions)["sequence_output"], "float32")
    )
    full = keras.ops.convert_to_numpy(
        keras.ops.cast(backbone(inputs)["sequence_output"], "float32")
    )
    assert pruned.shape == (3, 2, 16)
    np.testing.assert_allclose(pruned, full[np.arange(3)[:, None], positions], atol=0.1)
