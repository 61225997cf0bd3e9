"""Shared fixtures. Tests run on the TensorFlow backend with tiny configs unless marked slow."""

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

TINY_CONFIG = {
    "vocabulary_size": 120,
    "num_layers": 2,
    "num_heads": 2,
    "hidden_dim": 16,
    "intermediate_dim": 32,
    "max_sequence_length": 24,
    "num_segments": 2,
}


@pytest.fixture
def tiny_config() -> dict:
    return dict(TINY_CONFIG)


@pytest.fixture(scope="session")
def minilm_dir():
    from keras_bert.presets import minilm_dir as find

    return find()


def random_inputs(batch=3, seq=10, vocab=120, seed=0, pad_from=(None, 6, 3)) -> dict:
    """Token ids with a different amount of padding per row; segment ids 0/1."""
    rng = np.random.default_rng(seed)
    token_ids = rng.integers(5, vocab, (batch, seq)).astype("int32")
    padding_mask = np.ones((batch, seq), "int32")
    for row, start in enumerate(pad_from[:batch]):
        if start is not None:
            padding_mask[row, start:] = 0
    token_ids *= padding_mask
    segment_ids = (np.arange(seq)[None, :] >= seq // 2).astype("int32") * padding_mask
    return {"token_ids": token_ids, "segment_ids": segment_ids, "padding_mask": padding_mask}


def pytest_collection_modifyitems(config, items):
    """The slow end-to-end tests first: on two xdist workers (scripts/test.sh) each takes one while
    the other worker runs the short tests, instead of both finishing the suite alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: otherwise as found
