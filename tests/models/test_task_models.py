"""Task models on a tiny backbone: shapes, config round trip, `.keras` save/load, default compile."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from keras_bert.models.bert_backbone import BertBackbone
from keras_bert.models.bert_classifier import BertClassifier
from keras_bert.models.bert_span_qa import BertSpanQA
from keras_bert.models.bert_token_tagger import BertTokenTagger

SEQ = 12


def tiny_backbone() -> BertBackbone:
    return BertBackbone(
        vocabulary_size=50, num_layers=1, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=SEQ, dropout=0.0,
    )


def inputs(batch: int = 3) -> dict:
    rng = np.random.default_rng(0)
    ids = rng.integers(4, 50, size=(batch, SEQ)).astype("int32")
    mask = np.ones_like(ids)
    mask[:, 9:] = 0
    ids[mask == 0] = 0
    return {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": mask}


BUILDERS = {
    "classifier": lambda: BertClassifier(tiny_backbone(), num_classes=3, label_names=["a", "b", "c"]),
    "tagger": lambda: BertTokenTagger(tiny_backbone(), num_classes=5, dropout=0.0),
    "span_qa": lambda: BertSpanQA(tiny_backbone()),
}


def flatten(outputs) -> list[np.ndarray]:
    if isinstance(outputs, dict):
        return [np.asarray(outputs[k]) for k in sorted(outputs)]
    return [np.asarray(outputs)]


def test_output_shapes():
    x = inputs()
    assert BUILDERS["classifier"]()(x).shape == (3, 3)
    assert BUILDERS["tagger"]()(x).shape == (3, SEQ, 5)
    qa = BUILDERS["span_qa"]()(x)
    assert qa["start_logits"].shape == (3, SEQ) and qa["end_logits"].shape == (3, SEQ)
    # Padding positions can never be chosen as answer boundaries.
    assert np.all(np.asarray(qa["start_logits"])[:, 9:] < -1e3)


def test_models_share_backbone_input():
    model = BUILDERS["classifier"]()
    assert model.input is model.backbone.input or set(model.input) == set(model.backbone.input)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_config_round_trip_and_keras_save_load(name, tmp_path):
    model = BUILDERS[name]()
    x = inputs()
    expected = flatten(model(x, training=False))
    clone = model.__class__.from_config(model.get_config())
    assert clone.get_config()["backbone"]["config"] == model.get_config()["backbone"]["config"]
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    for got, want in zip(flatten(restored(x, training=False)), expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    if name == "classifier":
        assert restored.label_names == ["a", "b", "c"]


def test_default_compile_trains_classifier_and_tagger():
    x = inputs(8)
    model = BUILDERS["classifier"]()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    y = np.arange(8) % 3
    before = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    model.fit(x, y, epochs=15, verbose=0)
    after = model.evaluate(x, y, verbose=0, return_dict=True)["loss"]
    assert after < before * 0.5

    tagger = BUILDERS["tagger"]()
    tagger.compile()
    labels = np.ones((8, SEQ), "int32")
    weights = np.asarray(x["padding_mask"], "float32")
    history = tagger.fit(x, labels, sample_weight=weights, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_span_qa_default_compile_fits():
    x = inputs(4)
    model = BUILDERS["span_qa"]()
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    y = {"start_logits": np.array([1, 2, 3, 0]), "end_logits": np.array([2, 2, 5, 0])}
    first = model.fit(x, y, epochs=1, verbose=0).history["loss"][0]
    last = model.fit(x, y, epochs=20, verbose=0).history["loss"][-1]
    assert last < first


def test_classifier_logits_and_gradients_match_the_full_backbone():
    """The classifier runs the last block at [CLS] only: same logits and gradients as the head on
    the full backbone's pooled output."""
    import tensorflow as tf  # noqa: PLC0415

    backbone = BertBackbone(
        vocabulary_size=50, num_layers=2, num_heads=2, hidden_dim=16, intermediate_dim=32,
        max_sequence_length=SEQ, dropout=0.0,
    )
    model = BertClassifier(backbone, num_classes=3, dropout=0.0)
    head = model.get_layer("logits")
    x = inputs()

    def run(pruned: bool):
        with tf.GradientTape() as tape:
            if pruned:
                logits = model(x, training=True)
            else:
                logits = head(backbone(x, training=True)["pooled_output"])
            loss = tf.reduce_sum(logits * tf.constant([[1.0, -2.0, 0.5]]))
        grads = tape.gradient(loss, model.trainable_variables)
        return logits.numpy(), [tf.convert_to_tensor(g).numpy() for g in grads]

    (logits, grads), (ref_logits, ref_grads) = run(True), run(False)
    np.testing.assert_allclose(logits, ref_logits, rtol=1e-5, atol=1e-6)
    for variable, got, want in zip(model.trainable_variables, grads, ref_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6, err_msg=variable.path)
