"""Small SavedModels with string, int and tf.Example signatures for the server tests."""

from __future__ import annotations

import pathlib

import tensorflow as tf
from keras_bert.export.method_names import CLASSIFY, REGRESS, set_method_names


class ToyModule(tf.Module):
    """`serving_default(text)`: UTF-8 length, upper-cased text, two scores; + pair, ids, classify."""

    def __init__(self, offset: float):
        super().__init__()
        self.offset = tf.Variable(offset)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="text")])
    def default(self, text):
        length = tf.strings.length(text, unit="UTF8_CHAR")
        score = tf.cast(length, tf.float32) + self.offset
        return {
            "length": length,
            "upper": tf.strings.upper(text),
            "scores": tf.stack([score, -score], axis=1),
        }

    @tf.function(
        input_signature=[
            tf.TensorSpec([None], tf.string, name="text"),
            tf.TensorSpec([None], tf.string, name="text_pair"),
        ]
    )
    def pair(self, text, text_pair):
        return {"joined": tf.strings.join([text, text_pair], separator="|")}

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32, name="token_ids")])
    def ids(self, token_ids):
        return {"total": tf.reduce_sum(token_ids, axis=1)}

    def _features(self, examples):
        parsed = tf.io.parse_example(examples, {"x": tf.io.FixedLenFeature([], tf.float32)})
        return parsed["x"] + self.offset

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def classify(self, inputs):
        x = self._features(inputs)
        probs = tf.nn.softmax(tf.stack([x, -x], axis=1))
        classes = tf.tile(tf.constant([["pos", "neg"]]), [tf.shape(x)[0], 1])
        return {"classes": classes, "scores": probs}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
    def regress(self, inputs):
        return {"outputs": 2.0 * self._features(inputs)}


def write_toy_versions(base: pathlib.Path) -> None:
    for version, offset in ((1, 0.0), (2, 100.0)):
        module = ToyModule(offset)
        path = str(base / str(version))
        tf.saved_model.save(
            module,
            path,
            signatures={
                "serving_default": module.default,
                "pair": module.pair,
                "ids": module.ids,
                "classify": module.classify,
                "regress": module.regress,
            },
        )
        set_method_names(path, {"classify": CLASSIFY, "regress": REGRESS})
