"""BertPretrainer: masked positions only, tied embedding, default compile, save/load."""

import keras
import numpy as np

from keras_bert import BertBackbone, BertPretrainer
from tests.conftest import random_inputs


def _batch(seed=0):
    x = random_inputs(batch=4, seq=12, seed=seed, pad_from=(None, 8, 6, 10))
    x["mask_positions"] = np.array([[1, 2, 0], [3, 4, 5], [1, 0, 0], [2, 7, 9]], "int32")
    weights = np.array([[1, 1, 0], [1, 1, 1], [1, 0, 0], [1, 1, 1]], "float32")
    rows = np.arange(4)[:, None]
    y = {"mlm_logits": x["token_ids"][rows, x["mask_positions"]],
         "nsp_logits": np.array([0, 1, 0, 1], "int32")}
    sample_weight = {"mlm_logits": weights, "nsp_logits": np.ones(4, "float32")}
    return x, y, sample_weight


def test_logits_only_at_masked_positions_with_tied_embedding(tiny_config):
    pretrainer = BertPretrainer(BertBackbone(**tiny_config, dropout=0.0))
    x, _, _ = _batch()
    outputs = pretrainer(x)
    assert outputs["mlm_logits"].shape == (4, 3, tiny_config["vocabulary_size"])
    assert outputs["nsp_logits"].shape == (4, 2)
    # Independent NumPy computation of the head from the sequence output.
    backbone_x = {k: x[k] for k in ("token_ids", "segment_ids", "padding_mask")}
    seq = pretrainer.backbone(backbone_x)["sequence_output"].numpy()
    gathered = seq[np.arange(4)[:, None], x["mask_positions"]]
    head = pretrainer.mlm_head
    h = gathered @ head.transform.kernel.numpy() + head.transform.bias.numpy()
    h = keras.ops.convert_to_numpy(keras.ops.gelu(h, approximate=False))
    h = (h - h.mean(-1, keepdims=True)) / np.sqrt(h.var(-1, keepdims=True) + 1e-12)
    h = h * head.layer_norm.gamma.numpy() + head.layer_norm.beta.numpy()
    logits = h @ pretrainer.backbone.token_embedding.embeddings.numpy().T + head.bias.numpy()
    np.testing.assert_allclose(outputs["mlm_logits"].numpy(), logits, atol=2e-5)
    # Tied: no separate output matrix of shape (hidden, vocab) exists.
    shapes = [tuple(w.shape) for w in pretrainer.weights]
    assert (tiny_config["hidden_dim"], tiny_config["vocabulary_size"]) not in shapes


def test_default_compile_trains_and_loss_matches_definition(tiny_config):
    pretrainer = BertPretrainer(BertBackbone(**tiny_config, dropout=0.0))
    pretrainer.compile(learning_rate=5e-3)
    x, y, sw = _batch()
    # Loss definition: MLM cross-entropy averaged over mask weights + NSP mean cross-entropy.
    out = pretrainer(x)
    mlm = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(
        y["mlm_logits"], out["mlm_logits"], from_logits=True))
    nsp = keras.ops.convert_to_numpy(keras.losses.sparse_categorical_crossentropy(
        y["nsp_logits"], out["nsp_logits"], from_logits=True))
    expected = (mlm * sw["mlm_logits"]).sum() / sw["mlm_logits"].sum() + nsp.mean()
    logs = pretrainer.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    np.testing.assert_allclose(logs["loss"], expected, rtol=1e-4)
    assert {"mlm_logits_accuracy", "nsp_logits_accuracy"} <= set(logs)
    history = pretrainer.fit(x, y, sample_weight=sw, epochs=30, verbose=0).history
    assert history["loss"][-1] < 0.7 * history["loss"][0]


def test_pretrainer_keras_round_trip(tiny_config, tmp_path):
    pretrainer = BertPretrainer(BertBackbone(**tiny_config))
    x, _, _ = _batch()
    expected = pretrainer(x)
    pretrainer.save(tmp_path / "p.keras")
    loaded = keras.saving.load_model(tmp_path / "p.keras")
    got = loaded(x)
    np.testing.assert_array_equal(got["mlm_logits"].numpy(), expected["mlm_logits"].numpy())
    assert loaded.mlm_head.token_embedding is loaded.backbone.token_embedding


def test_default_optimizer_clips_after_all_reduce_and_skips_decay_on_norms_and_biases(tiny_config):
    from keras_bert.training.optimizers import ClipAfterAllReduce  # noqa: PLC0415

    pretrainer = BertPretrainer(BertBackbone(**tiny_config))
    pretrainer.compile()
    optimizer = pretrainer.optimizer
    assert isinstance(optimizer, ClipAfterAllReduce)  # Keras' own clips per replica under mirrored.
    assert optimizer.global_clipnorm == 1.0 and optimizer.weight_decay == 0.01
    decayed = {v.path for v in pretrainer.trainable_variables if optimizer._use_weight_decay(v)}
    assert any(p.endswith("qkv/kernel") for p in decayed)
    assert not any(p.endswith(("bias", "gamma", "beta")) for p in decayed)


def test_default_loss_path_matches_keras_compiled_losses(tiny_config):
    """The default path (`MaskedLMHead.loss`, no logits kept) against Keras' compiled losses and
    metrics on the logits: same loss, same gradients, same logged names and values."""
    import tensorflow as tf  # noqa: PLC0415

    from keras_bert.metrics.top1 import SparseTop1Accuracy  # noqa: PLC0415

    fused = BertPretrainer(BertBackbone(**tiny_config, dropout=0.0))
    reference = BertPretrainer(BertBackbone(**tiny_config, dropout=0.0))
    reference.set_weights(fused.get_weights())
    fused.compile()

    def sce(**kwargs):
        return keras.losses.SparseCategoricalCrossentropy(from_logits=True, **kwargs)

    reference.compile(
        loss={"mlm_logits": sce(reduction="mean_with_sample_weight"), "nsp_logits": sce()},
        weighted_metrics={
            "mlm_logits": [SparseTop1Accuracy()], "nsp_logits": [SparseTop1Accuracy()]
        },
    )
    assert fused._fused_loss and not reference._fused_loss
    x, y, sw = _batch()

    def loss_and_grads(model):
        with tf.GradientTape() as tape:
            loss = model.compute_loss(x, y, model(x, training=True), sw)
        grads = tape.gradient(loss, model.trainable_variables)
        return loss.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]

    (loss, grads), (ref_loss, ref_grads) = loss_and_grads(fused), loss_and_grads(reference)
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-6)
    for got, want in zip(grads, ref_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-7)
    logs = fused.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    ref_logs = reference.evaluate(x, y, sample_weight=sw, verbose=0, return_dict=True)
    assert set(logs) == set(ref_logs)
    for name, value in ref_logs.items():
        np.testing.assert_allclose(logs[name], value, rtol=1e-5, err_msg=name)
