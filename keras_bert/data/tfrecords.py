"""Pretraining TFRecords: sharded writer and the `tf.data` reader `BertPretrainer.fit` takes.

Feature names and types are those of google-research/bert `create_pretraining_data.py`, so files made
by the original script load too: int64 `input_ids`, `input_mask`, `segment_ids` (seq_len,),
`masked_lm_positions`, `masked_lm_ids` (max_predictions,), `next_sentence_labels` (1,) and float
`masked_lm_weights` (max_predictions,).
"""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

import tensorflow as tf

INT_FEATURES = ("input_ids", "input_mask", "segment_ids", "masked_lm_positions", "masked_lm_ids")


def serialize_features(features: dict[str, Sequence]) -> bytes:
    """One `tf.train.Example` (bytes) from feature lists; `masked_lm_weights` float, others int64."""
    feature = {}
    for name, values in features.items():
        if name == "masked_lm_weights":
            feature[name] = tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))
        else:
            feature[name] = tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class ShardedTFRecordWriter:
    """Writes records round-robin over `num_shards` files `{prefix}-{i:05d}-of-{n:05d}.tfrecord`."""

    def __init__(self, out_dir: str, num_shards: int = 1, prefix: str = "pretraining"):
        if num_shards < 1:
            raise ValueError(f"num_shards={num_shards} must be >= 1")
        tf.io.gfile.makedirs(out_dir)
        self.paths = [
            os.path.join(out_dir, f"{prefix}-{i:05d}-of-{num_shards:05d}.tfrecord")
            for i in range(num_shards)
        ]
        self._writers = [tf.io.TFRecordWriter(path) for path in self.paths]
        self.count = 0

    def write(self, record: bytes) -> None:
        self._writers[self.count % len(self._writers)].write(record)
        self.count += 1

    def close(self) -> None:
        for writer in self._writers:
            writer.close()

    def __enter__(self) -> ShardedTFRecordWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def check_tfrecord_framing(path: str) -> int:
    """Walks a TFRecord file's length headers; returns its record count.

    Cheap (reads 12 bytes per record, no payloads, no CRC), and catches truncated files and files
    that are not TFRecords at all, naming the file; bit flips inside a payload are left to the
    reader's CRC check.

    Raises:
        ValueError: the file is not a well-formed TFRecord file.
    """
    size = tf.io.gfile.stat(path).length
    count = offset = 0
    with tf.io.gfile.GFile(path, "rb") as handle:
        while offset < size:
            header = handle.read(12)  # uint64 length + uint32 masked CRC of the length.
            if len(header) < 12:
                break
            (length,) = struct.unpack("<Q", header[:8])
            offset += 12 + length + 4  # + payload + uint32 masked CRC of the payload.
            if offset > size:
                break
            handle.seek(offset)
            count += 1
    if offset != size:
        raise ValueError(
            f"corrupt or truncated TFRecord file {path}: record {count} at byte "
            f"{offset if offset <= size else 'beyond end'} does not fit in the file ({size} bytes)"
        )
    return count


def check_tfrecord_crcs(path: str) -> None:
    """Reads every record of a file (TensorFlow checks each CRC); a bad one raises, naming the file.

    Raises:
        ValueError: a record's length or payload fails its checksum.
    """
    try:
        tf.data.TFRecordDataset(path).reduce(tf.constant(0, tf.int64), lambda n, _: n + 1)
    except tf.errors.DataLossError as error:
        raise ValueError(f"corrupt TFRecord file {path}: {error.message.strip()}") from error


def check_tfrecord_files(files: Sequence[str], mode: str = "auto") -> None:
    """Checks files before a pipeline reads them, so that a bad file is reported by name.

    mode: "headers" walks the record headers (cheap; catches truncated and non-TFRecord files),
    "full" also reads every record to check its CRC, "auto" is "full" up to `_FULL_CHECK_BYTES` of
    files and "headers" beyond, "none" skips the check.
    """
    if mode not in ("auto", "full", "headers", "none"):
        raise ValueError(f"check_files={mode!r}: expected 'auto', 'full', 'headers' or 'none'")
    if mode == "none":
        return
    if mode == "auto":
        total = sum(tf.io.gfile.stat(path).length for path in files)
        mode = "full" if total <= _FULL_CHECK_BYTES else "headers"
    for path in files:
        check_tfrecord_framing(path)
        if mode == "full":
            check_tfrecord_crcs(path)


_FULL_CHECK_BYTES = 512 * 2**20


def check_record_shapes(path: str, seq_len: int, max_predictions: int) -> None:
    """Compares the first record's feature lengths with the requested shapes.

    Raises:
        ValueError: a feature is missing or was written with another length (file and name given).
    """
    for record in tf.data.TFRecordDataset(path).take(1):
        features = tf.train.Example.FromString(record.numpy()).features.feature
        expected = dict.fromkeys(INT_FEATURES[:3], seq_len)
        expected.update(dict.fromkeys((*INT_FEATURES[3:], "masked_lm_weights"), max_predictions))
        expected["next_sentence_labels"] = 1
        for name, length in expected.items():
            if name not in features:
                raise ValueError(f"{path}: feature {name!r} missing: not a pretraining TFRecord")
            kind = features[name].WhichOneof("kind")
            found = len(getattr(features[name], kind).value)
            if found != length:
                raise ValueError(
                    f"{path}: feature {name!r} has {found} values, expected {length} "
                    f"(seq_len={seq_len}, max_predictions={max_predictions}): the file was "
                    "written with other shapes"
                )


def _resolve_files(file_pattern: str | Sequence[str]) -> list[str]:
    patterns = [file_pattern] if isinstance(file_pattern, str) else list(file_pattern)
    files: list[str] = []
    for pattern in patterns:
        matched = sorted(tf.io.gfile.glob(pattern))
        if not matched:
            raise FileNotFoundError(f"no TFRecord files match {pattern!r}")
        files.extend(matched)
    return files


def parse_pretraining_batch(serialized: tf.Tensor, seq_len: int, max_predictions: int):
    """(batch,) serialized Examples -> `(x, y, sample_weight)` as `BertPretrainer.fit` takes."""
    spec = {name: tf.io.FixedLenFeature([seq_len], tf.int64) for name in INT_FEATURES[:3]}
    spec.update(
        {name: tf.io.FixedLenFeature([max_predictions], tf.int64) for name in INT_FEATURES[3:]}
    )
    spec["masked_lm_weights"] = tf.io.FixedLenFeature([max_predictions], tf.float32)
    spec["next_sentence_labels"] = tf.io.FixedLenFeature([1], tf.int64)
    features = tf.io.parse_example(serialized, spec)
    x = {
        "token_ids": tf.cast(features["input_ids"], tf.int32),  # (batch, seq_len)
        "segment_ids": tf.cast(features["segment_ids"], tf.int32),  # (batch, seq_len)
        "padding_mask": tf.cast(features["input_mask"], tf.int32),  # (batch, seq_len)
        "mask_positions": tf.cast(features["masked_lm_positions"], tf.int32),  # (batch, P)
    }
    labels = tf.cast(features["next_sentence_labels"][:, 0], tf.int32)  # (batch,)
    y = {"mlm_logits": tf.cast(features["masked_lm_ids"], tf.int32), "nsp_logits": labels}
    sample_weight = {
        "mlm_logits": features["masked_lm_weights"],  # (batch, P) float32
        "nsp_logits": tf.ones_like(labels, dtype=tf.float32),  # (batch,)
    }
    return x, y, sample_weight


def pretraining_dataset(
    file_pattern: str | Sequence[str],
    batch_size: int,
    seq_len: int,
    max_predictions: int,
    shuffle: bool = True,
    repeat: bool = True,
    input_context: tf.distribute.InputContext | None = None,
    seed: int | None = None,
    shuffle_buffer: int = 10_000,
    drop_remainder: bool = True,
    check_files: str = "auto",
    vocabulary_size: int | None = None,
) -> tf.data.Dataset:
    """Batches of pretraining TFRecords for `BertPretrainer.fit`.

    Args:
        file_pattern: a glob, a file, or a list of them.
        batch_size: global batch size; with `input_context` each pipeline yields the per-replica size.
        seq_len, max_predictions: the shapes the files were written with.
        shuffle, repeat: shuffle files and records (seeded by `seed`); loop forever.
        input_context: from `strategy.distribute_datasets_from_function`: files are sharded by input
            pipeline (records, if there are fewer files than pipelines).
        check_files: check the files first so that a corrupt one fails here, by name: "auto" (CRC
            of every record up to 512 MB of files, record headers only beyond), "full",
            "headers", "none" (see `check_tfrecord_files`). Corruption found later, while
            training, raises TensorFlow's `DataLossError`, which does not name the file.
        vocabulary_size: the model's; each batch is checked to hold token and label ids below
            it (files written with a larger vocabulary raise `InvalidArgumentError` saying so).

    Returns:
        `(x, y, sample_weight)`: x = {`token_ids`, `segment_ids`, `padding_mask` (batch, seq_len),
        `mask_positions` (batch, P)} int32; y = {`mlm_logits` (batch, P), `nsp_logits` (batch,)}
        int32; sample_weight = {`mlm_logits` (batch, P), `nsp_logits` (batch,)} float32.
    """
    files = _resolve_files(file_pattern)
    check_tfrecord_files(files, check_files)
    if check_files != "none":
        check_record_shapes(files[0], seq_len, max_predictions)
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    dataset = tf.data.Dataset.from_tensor_slices(files)
    shard_records = False
    if input_context is not None and input_context.num_input_pipelines > 1:
        if len(files) >= input_context.num_input_pipelines:
            dataset = dataset.shard(
                input_context.num_input_pipelines, input_context.input_pipeline_id
            )
        else:
            shard_records = True
    if shuffle:
        dataset = dataset.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        dataset = dataset.repeat()
    dataset = dataset.interleave(
        tf.data.TFRecordDataset,
        cycle_length=min(len(files), 8),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=not shuffle,
    )
    if shard_records:
        dataset = dataset.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    if shuffle:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size, drop_remainder=drop_remainder)
    dataset = dataset.map(
        lambda records: parse_pretraining_batch(records, seq_len, max_predictions),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    if vocabulary_size is not None:
        dataset = dataset.map(lambda x, y, w: (*_check_ids(x, y, vocabulary_size), w))
    return dataset.prefetch(tf.data.AUTOTUNE)


def _check_ids(x: dict, y: dict, vocabulary_size: int) -> tuple[dict, dict]:
    """Fails with a message naming the problem when a batch holds ids outside the vocabulary."""
    checks = [
        tf.debugging.assert_less(
            ids, vocabulary_size, summarize=4,
            message=f"{name} outside the model vocabulary of {vocabulary_size} ids: were these "
            "records written with another vocabulary?",
        )
        for name, ids in (("token_ids", x["token_ids"]), ("masked label ids", y["mlm_logits"]))
    ]
    with tf.control_dependencies(checks):
        return {k: tf.identity(v) for k, v in x.items()}, {k: tf.identity(v) for k, v in y.items()}
