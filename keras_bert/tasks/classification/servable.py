"""Classification servable: text [, text_pair] -> label, label_id, probabilities; + Classify API.
A regression head (`BertClassifier(regression=True)`) exports `RegressionServable`: value; + Regress API."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.method_names import CLASSIFY, REGRESS
from keras_bert.export.servable import ServableModule, text_spec, trim_padding


class ClassificationServable(ServableModule):
    """`serving_default(text[, text_pair])` -> `label` string (B,), `label_id` int32 (B,),
    `probabilities` float32 (B, C). `classify` takes serialized tf.Examples (features `text`
    [, `text_pair`], bytes) for TF Serving's Classify API: `classes` (B, C), `scores` (B, C).

    Args:
        model: a `BertClassifier` (logits (B, C)).
        preprocessor: its `ClassificationPreprocessor` (cuts, tokenizes and packs the texts).
        label_names: C names stored in the graph; `LABEL_i` when None.
        pair: whether `serving_default` takes `text_pair` too.
    """

    task = "classification"
    extra_signature_specs = {
        "classify": ("from_examples", (text_spec("inputs"),), CLASSIFY),
    }

    def __init__(self, model, preprocessor, label_names=None, pair: bool = False,
                 chunk_size: int | None = None):
        super().__init__(model, preprocessor, chunk_size)
        num_classes = int(model.outputs[0].shape[-1])
        names = list(label_names or [f"LABEL_{i}" for i in range(num_classes)])
        if len(names) != num_classes:
            raise ValueError(f"{len(names)} label names for {num_classes} classes")
        self.pair = bool(pair)
        self.text_inputs = ("text", "text_pair") if pair else ("text",)
        self.label_names = tf.Variable(names, trainable=False, name="label_names")

    def from_tokens(self, inputs):
        logits = tf.cast(self.run_model(inputs), tf.float32)  # (B, C)
        probabilities = tf.nn.softmax(logits, axis=-1)
        label_id = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "label": tf.gather(self.label_names, label_id),
            "label_id": label_id,
            "probabilities": probabilities,
        }

    def from_text(self, text, text_pair=None):
        packed = self.preprocessor(text, text_pair)  # cut, tokenized, packed as in training
        return self.map_chunks(lambda rows: self.from_tokens(trim_padding(rows)), dict(packed))

    def from_examples(self, inputs):
        features = {"text": tf.io.FixedLenFeature([], tf.string)}
        if self.pair:
            features["text_pair"] = tf.io.FixedLenFeature([], tf.string)
        parsed = tf.io.parse_example(inputs, features)
        out = self.from_text(parsed["text"], parsed.get("text_pair"))
        batch = tf.shape(inputs)[0]
        classes = tf.tile(self.label_names[None, :], [batch, 1])
        return {"classes": classes, "scores": out["probabilities"]}


class RegressionServable(ClassificationServable):
    """A regression head's export: `serving_default(text[, text_pair])` -> `score` float32 (B,),
    the predicted value; `regress` takes serialized tf.Examples (features `text` [, `text_pair`])
    for TF Serving's Regress API: `outputs` (B,). Token-id signatures return `score`.

    Args: as `ClassificationServable` (`label_names` is ignored: one unnamed output).
    """

    extra_signature_specs = {
        "regress": ("from_regress_examples", (text_spec("inputs"),), REGRESS),
    }

    def __init__(self, model, preprocessor, label_names=None, pair: bool = False,
                 chunk_size: int | None = None):
        num_outputs = int(model.outputs[0].shape[-1])
        if num_outputs != 1:
            raise ValueError(f"a regression export needs one output, the model has {num_outputs}")
        super().__init__(model, preprocessor, ["score"], pair, chunk_size)

    def from_tokens(self, inputs):
        return {"score": tf.cast(self.run_model(inputs), tf.float32)[:, 0]}  # (B,)

    def from_regress_examples(self, inputs):
        features = {"text": tf.io.FixedLenFeature([], tf.string)}
        if self.pair:
            features["text_pair"] = tf.io.FixedLenFeature([], tf.string)
        parsed = tf.io.parse_example(inputs, features)
        return {"outputs": self.from_text(parsed["text"], parsed.get("text_pair"))["score"]}
