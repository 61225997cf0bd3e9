"""Benchmark W2: raw-string classification, MiniLM shape (L6 H384 A12), max length 128.

Batch-1 median latency on short texts and batch-32 throughput on long passages, in one run of
interleaved rounds, each system in a worker process of its own (see `isolated.py`), for:
  * ours: the exported SavedModel's `serving_default` (tokenizer + packer + model + softmax/label
    in-graph), run as TF Serving runs it (the dev server's loader; `--with_tf2_load` adds
    `tf.saved_model.load`), at each `--tf_threads` setting (TF Serving's intra/inter-op flags);
    fp32 and bf16 exports (`--bf16_policy`: bf16-stored weights, or fp32 weights cast per call);
  * Hugging Face: `BertTokenizerFast` + torch `BertForSequenceClassification`, same weights
    (MiniLM backbone + our classifier head copied in), at each `--hf_threads` torch thread count;
  * keras-hub: `BertTextClassifier` with its preprocessor (same shape, its own random weights),
    `predict_on_batch` on strings.
The report lists every setting, then each system at its best setting against Hugging Face at its
best. Not a test. Run: `KERAS_BACKEND=tensorflow .venv/bin/python bench/bench_serving_w2.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
from isolated import run_rounds, start_workers, stop_workers  # noqa: E402

SHORT = [
    "The service was quick and the food was great.",
    "I would not recommend this hotel to anyone.",
    "An average film with a few good moments.",
    "Delivery took three weeks and the box was damaged.",
]
PASSAGE = (
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife. However little known the feelings or views of such a man may be on "
    "his first entering a neighbourhood, this truth is so well fixed in the minds of the surrounding "
    "families, that he is considered the rightful property of some one or other of their daughters. "
    "My dear Mr. Bennet, said his lady to him one day, have you heard that Netherfield Park is let "
    "at last? Mr. Bennet replied that he had not. But it is, returned she; for Mrs. Long has just "
    "been here, and she told me all about it."
)


def long_batch(n: int = 32) -> list[str]:
    words = PASSAGE.split()
    return [" ".join(words[i % 7 :] + words[: i % 7]) for i in range(n)]  # all > 128 tokens


def export_ours(classifier, tokenizer, out_dir: str) -> str:
    from keras_bert.export.writer import export_servable

    from keras_bert.tasks.export import build_servable

    return str(export_servable(build_servable("classification", classifier, tokenizer, sequence_length=128), out_dir))


def build_session(path: str, threads=(0, 0)) -> Callable:
    """As TF Serving runs the export: the dev server's loader (session, restore op, Session.run on
    the SignatureDef tensor names)."""
    from keras_bert.export.server.registry import load_servable

    served = load_servable("w2", 1, path, threads).signature("serving_default").fn
    return lambda texts: served({"text": np.array(texts, dtype=object)}, ["probabilities"])[
        "probabilities"]


def build_tf2_load(path: str, threads=(0, 0)) -> Callable:
    import tensorflow as tf
    import tensorflow_text  # noqa: F401  (registers the tf-text ops)

    tf.config.threading.set_intra_op_parallelism_threads(threads[0])
    tf.config.threading.set_inter_op_parallelism_threads(threads[1])
    loaded = tf.saved_model.load(path).signatures["serving_default"]
    return lambda texts: loaded(text=tf.constant(texts))["probabilities"].numpy()


def build_hf(minilm: str, head_npz: str, threads: int = 0):
    import torch
    from transformers import BertForSequenceClassification, BertTokenizerFast

    head = np.load(head_npz)
    head_kernel, head_bias = head["kernel"], head["bias"]

    torch.set_num_threads(threads or os.cpu_count() or 1)
    tokenizer = BertTokenizerFast.from_pretrained(minilm)
    model = BertForSequenceClassification.from_pretrained(minilm, num_labels=head_kernel.shape[1]).eval()
    with torch.no_grad():
        model.classifier.weight.copy_(torch.from_numpy(head_kernel.T.copy()))
        model.classifier.bias.copy_(torch.from_numpy(head_bias.copy()))

    def run(texts):
        with torch.inference_mode():
            enc = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
            return torch.softmax(model(**enc).logits, -1).numpy()

    return run


def build_keras_hub(vocab: str):
    import keras_hub

    backbone = keras_hub.models.BertBackbone(
        vocabulary_size=30522, num_layers=6, num_heads=12, hidden_dim=384, intermediate_dim=1536,
        max_sequence_length=512,
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(
        keras_hub.models.BertTokenizer(vocabulary=vocab), sequence_length=128
    )
    model = keras_hub.models.BertTextClassifier(backbone, num_classes=2, preprocessor=preprocessor)
    return lambda texts: model.predict_on_batch(np.array(texts))


def timed(fn: Callable, texts: list[str]) -> float:
    start = time.perf_counter()
    fn(texts)
    return time.perf_counter() - start


BUILDERS = {"session": build_session, "tf2-load": build_tf2_load, "huggingface": build_hf,
            "keras-hub": build_keras_hub}


def build_system(kind: str, *build_args):
    """Worker side (see `isolated`): ready = the batch-32 probabilities; run(latency_calls,
    throughput_calls) -> (batch-1 latencies in s, batch-32 seq/s)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    fn = BUILDERS[kind](*build_args)
    batch = long_batch()
    fn(SHORT[:1])

    def run(latency_calls: int, throughput_calls: int):
        latency = [timed(fn, [SHORT[i % len(SHORT)]]) for i in range(latency_calls)]
        return latency, [32 / timed(fn, batch) for _ in range(throughput_calls)]

    return np.asarray(fn(batch), np.float32), run


def _threads(text: str) -> tuple[int, int]:
    intra, inter = (int(v) for v in text.split(","))
    return intra, inter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--latency_calls", type=int, default=30, help="batch-1 calls per round")
    parser.add_argument("--throughput_calls", type=int, default=1, help="batch-32 calls per round")
    parser.add_argument("--skip_keras_hub", action="store_true")
    parser.add_argument("--with_tf2_load", action="store_true",
                        help="also time the export through tf.saved_model.load")
    parser.add_argument("--bf16_policy", choices=("bfloat16", "mixed_bfloat16", "none"), default="bfloat16",
                        help="dtype policy of the bf16 export's backbone: bfloat16 stores bf16 weights; "
                             "mixed_bfloat16 keeps fp32 weights and casts them on every call")
    parser.add_argument("--tf_threads", nargs="+", type=_threads, default=[(1, 1), (1, 2), (2, 1), (0, 0)],
                        help="INTRA,INTER pairs to time ours with: TF Serving's "
                             "--tensorflow_intra_op_parallelism / --tensorflow_inter_op_parallelism "
                             "(0 = TensorFlow's default)")
    parser.add_argument("--hf_threads", nargs="+", type=int, default=[1, 2],
                        help="torch thread counts to time Hugging Face with")
    args = parser.parse_args()
    from keras_bert.convert import load_backbone
    from keras_bert.models.bert_classifier import BertClassifier
    from keras_bert.presets import minilm_dir
    from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

    minilm = str(minilm_dir())
    tokenizer = WordPieceTokenizer(os.path.join(minilm, "vocab.txt"))
    fp32 = BertClassifier(load_backbone(minilm), 2, dropout=0.0)
    work = tempfile.mkdtemp(prefix="w2_")
    head_npz = os.path.join(work, "head.npz")
    kernel, bias = (np.asarray(w) for w in fp32.get_layer("logits").get_weights())
    np.savez(head_npz, kernel=kernel, bias=bias)
    exports = {"ours fp32": export_ours(fp32, tokenizer, os.path.join(work, "fp32", "1"))}
    if args.bf16_policy != "none":
        if args.bf16_policy == "bfloat16":  # what `keras-bert export --serving-dtype bfloat16` does
            from keras_bert.export.precision import with_backbone_dtype

            bf16 = with_backbone_dtype(fp32, "bfloat16")
        else:
            bf16 = BertClassifier(load_backbone(minilm, dtype=args.bf16_policy), 2, dropout=0.0)
            bf16.get_layer("logits").set_weights([kernel, bias])
        exports["ours bf16"] = export_ours(bf16, tokenizer, os.path.join(work, "bf16", "1"))
    specs: dict[str, tuple[str, tuple]] = {}  # "family | setting" -> (builder, args)
    for family, path in exports.items():
        for threads in args.tf_threads:
            specs[f"{family} | threads {threads[0]},{threads[1]}"] = ("session", (path, threads))
            if args.with_tf2_load:
                specs[f"{family} tf2-load | threads {threads[0]},{threads[1]}"] = (
                    "tf2-load", (path, threads))
    for n in args.hf_threads:
        specs[f"huggingface | threads {n}"] = ("huggingface", (minilm, head_npz, n))
    if not args.skip_keras_hub:
        specs["keras-hub | default"] = ("keras-hub", (os.path.join(minilm, "vocab.txt"),))

    workers = start_workers({name: (build_system, (kind, *build_args))
                             for name, (kind, build_args) in specs.items()})
    hf_probs = next(w[2] for name, w in workers.items() if name.startswith("huggingface"))
    for name in [n for n in specs if n.startswith("ours")]:
        diff = float(np.abs(workers[name][2] - hf_probs).max())
        print(f"max |p_{name} - p_hf| on the batch-32 passages: {diff:.2e}")
    rounds = run_rounds(workers, args.rounds, (args.latency_calls, args.throughput_calls))
    stop_workers(workers)
    latency = {n: statistics.median(t for lat, _ in r for t in lat) for n, r in rounds.items()}
    throughput = {n: statistics.median(v for _, thr in r for v in thr) for n, r in rounds.items()}
    report(latency, throughput)


def report(latency: dict[str, float], throughput: dict[str, float]) -> None:
    """Every setting, then each system at its best setting (per metric) against Hugging Face at its
    best: a thread count is a deployment choice every system gets to make."""
    print(f"\n{'system | threads (intra,inter)':<36} {'batch-1 median ms':>18} {'batch-32 seq/s':>15}")
    for name in latency:
        print(f"{name:<36} {1e3 * latency[name]:>18.2f} {throughput[name]:>15.1f}")
    families: dict[str, list[str]] = {}
    for name in latency:
        families.setdefault(name.split(" | ")[0], []).append(name)
    hf = families["huggingface"]
    hf_lat = min(latency[n] for n in hf)
    hf_thr = max(throughput[n] for n in hf)
    print(f"\n{'best setting of each':<20} {'batch-1 ms':>10} {'vs HF':>7}  {'(setting)':<14} "
          f"{'batch-32 seq/s':>14} {'vs HF':>7}  (setting)")
    for family, names in families.items():
        fastest = min(names, key=lambda n: latency[n])
        busiest = max(names, key=lambda n: throughput[n])
        print(f"{family:<20} {1e3 * latency[fastest]:>10.2f} {hf_lat / latency[fastest]:>6.2f}x  "
              f"{fastest.split(' | ')[1]:<14} {throughput[busiest]:>14.1f} "
              f"{throughput[busiest] / hf_thr:>6.2f}x  {busiest.split(' | ')[1]}")


if __name__ == "__main__":
    main()
