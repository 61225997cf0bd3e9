"""Shared plumbing for task models: backbone and preprocessor (de)serialisation, raw-input
`fit` / `evaluate` / `predict`, and the dropout + dense head."""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from keras_bert.models.bert_backbone import BertBackbone


def serialize_backbone(backbone: keras.Model) -> dict:
    return keras.saving.serialize_keras_object(backbone)


def serialize_preprocessor(preprocessor) -> dict | None:
    return None if preprocessor is None else keras.saving.serialize_keras_object(preprocessor)


def backbone_from_config(config: dict) -> dict:
    """Return `config` with its serialized `backbone` / `preprocessor` entries turned back into
    objects."""
    config = dict(config)
    for key in ("backbone", "preprocessor"):
        if isinstance(config.get(key), dict):
            config[key] = keras.saving.deserialize_keras_object(config[key])
    return config


def _is_text(value) -> bool:
    """Whether `value` (or its first leaf) holds strings: raw text for the preprocessor."""
    leaves = tf.nest.flatten(value)
    leaf = leaves[0] if leaves else None
    if isinstance(leaf, tf.TensorSpec | tf.RaggedTensorSpec | tf.Tensor | tf.RaggedTensor):
        return leaf.dtype == tf.string
    if isinstance(leaf, str | bytes):
        return True
    if isinstance(leaf, np.ndarray):
        return leaf.dtype.kind in "OUS"
    return False


class TaskModel:
    """Mixin for task models: a `backbone`, an optional `preprocessor`, and their config.

    With a preprocessor, `fit`, `evaluate` and `predict` take raw inputs (strings, `(text,
    text_pair)` tuples, word lists, or a `tf.data.Dataset` of those, optionally with labels) and run
    them through `preprocessor.map_batch` in a `tf.data` pipeline, as keras-hub's `Task` does;
    token-id dicts go straight to the model. `get_config` saves the backbone and the preprocessor
    plus the subclass's `task_config()`.
    """

    preprocessor = None

    def task_config(self) -> dict:
        """The subclass's own constructor arguments (besides backbone and preprocessor)."""
        return {}

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "trainable": self.trainable,
            "backbone": serialize_backbone(self.backbone),
            **self.task_config(),
            "preprocessor": serialize_preprocessor(self.preprocessor),
        }

    @classmethod
    def from_config(cls, config: dict):
        return cls(**backbone_from_config(config))

    def _raw_dataset(self, x, y=None, sample_weight=None, batch_size=None, shuffle=False):
        """A batched, preprocessed `tf.data.Dataset` when `x` is raw input; else None."""
        if self.preprocessor is None:
            return None
        if isinstance(x, tf.data.Dataset):  # Keras' convention: elements (x[, y[, sample_weight]])
            if not _is_text(x.element_spec):
                return None

            def preprocess(*element):
                batch = element[0] if len(element) == 1 else element
                return self.preprocessor.map_batch(*keras.utils.unpack_x_y_sample_weight(batch))

            return x.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
        if not _is_text(x):
            return None
        columns = {"x": _ragged_or_tensor(x)}  # a dict: tf.data never splits it into arguments
        if y is not None:
            columns["y"] = _ragged_or_tensor(y)
        if sample_weight is not None:
            columns["sample_weight"] = _ragged_or_tensor(sample_weight)
        ds = tf.data.Dataset.from_tensor_slices(columns)
        if shuffle:  # what Keras' `fit(shuffle=True)` does for in-memory arrays
            ds = ds.shuffle(int(ds.cardinality()), reshuffle_each_iteration=True)
        ds = ds.batch(batch_size or 32)

        def preprocess(batch):
            return self.preprocessor.map_batch(batch["x"], batch.get("y"), batch.get("sample_weight"))

        return ds.map(preprocess, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)

    def fit(self, x=None, y=None, batch_size=None, sample_weight=None, validation_data=None,
            shuffle=True, **kwargs):
        ds = self._raw_dataset(x, y, sample_weight, batch_size, shuffle)
        if validation_data is not None:
            validation = keras.utils.unpack_x_y_sample_weight(validation_data) if isinstance(
                validation_data, tuple) else (validation_data, None, None)
            raw_validation = self._raw_dataset(*validation, batch_size)
            if raw_validation is not None:
                validation_data = raw_validation
        if ds is None:
            return super().fit(x, y, batch_size=batch_size, sample_weight=sample_weight,
                               validation_data=validation_data, shuffle=shuffle, **kwargs)
        return super().fit(ds, validation_data=validation_data, shuffle=False, **kwargs)

    def evaluate(self, x=None, y=None, batch_size=None, sample_weight=None, **kwargs):
        ds = self._raw_dataset(x, y, sample_weight, batch_size)
        if ds is None:
            return super().evaluate(x, y, batch_size=batch_size, sample_weight=sample_weight, **kwargs)
        return super().evaluate(ds, **kwargs)

    def predict(self, x, batch_size=None, **kwargs):
        ds = self._raw_dataset(x, batch_size=batch_size)
        if ds is None:
            return super().predict(x, batch_size=batch_size, **kwargs)
        return super().predict(ds.map(lambda *b: b[0] if isinstance(b[0], dict) else b), **kwargs)


def _ragged_or_tensor(x):
    """Python lists of word lists -> ragged string tensors; other inputs -> tensors (per leaf)."""
    if isinstance(x, tf.Tensor | tf.RaggedTensor):
        return x
    if isinstance(x, tuple):
        return tuple(_ragged_or_tensor(v) for v in x)
    if isinstance(x, list) and x and isinstance(x[0], list | tuple):
        return tf.ragged.constant(x)
    return tf.convert_to_tensor(x)


class DenseHeadModel(TaskModel, keras.Model):
    """Base of task models with a dropout + dense `logits` head on one backbone output.

    Subclasses set `features` (the backbone output the head reads) and `dropout_name` (the
    dropout layer's name); the head layer is always named `logits` (weight import relies on it).

    Args:
        backbone: a `BertBackbone` (functional model, dict inputs).
        num_classes: number of labels.
        dropout: dropout rate before the head.
        label_names: optional label vocabulary kept with the model (index -> name).
        preprocessor: the task's preprocessor layer (saved with the model); with it, `fit`,
            `evaluate` and `predict` take raw inputs.
    """

    features: str
    dropout_name: str

    def __init__(
        self,
        backbone: keras.Model,
        num_classes: int,
        dropout: float = 0.1,
        label_names: list[str] | None = None,
        preprocessor=None,
        **kwargs,
    ):
        inputs = backbone.input
        if self.features == "pooled_output" and isinstance(backbone, BertBackbone):
            # No sequence positions wanted: the last block runs at [CLS] only.
            none = keras.ops.zeros_like(inputs["token_ids"][:, :0])  # (B, 0)
            features = backbone(inputs, output_positions=none)[self.features]
        else:
            features = backbone(inputs)[self.features]
        features = keras.layers.Dropout(dropout, name=self.dropout_name)(features)
        logits = keras.layers.Dense(
            num_classes,
            kernel_initializer=keras.initializers.TruncatedNormal(stddev=0.02),
            name="logits",
        )(features)
        super().__init__(inputs=inputs, outputs=logits, **kwargs)
        self.backbone = backbone
        self.num_classes = num_classes
        self.dropout = dropout
        self.label_names = list(label_names) if label_names is not None else None
        self.preprocessor = preprocessor

    def task_config(self) -> dict:
        return {"num_classes": self.num_classes, "dropout": self.dropout,
                "label_names": self.label_names}
