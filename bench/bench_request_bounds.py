"""What one request costs a server: time and peak memory of `keras-bert serve` per request.

Replays the requests that took the server down before exports were bounded, against MiniLM
(L6 H384 A12) exports served by `keras-bert serve` (TF Serving's loading path), one server process
per export and variant, requests sent over gRPC:
  * question answering (sequence 384, doc stride 128) on one context of 10k, 50k and 200k
    characters (the bundled Austen novels), then 8 contexts of 200k characters in one request;
  * classification (sequence 128) of 4,000 strings of 16 KB in one request.
Variants: `after`, the export as `keras-bert export` writes it (texts cut before tokenizing, the
model run `chunk_size` rows at a time, QA's `max_context_bytes`), and `before`, the same code with
those bounds off (texts tokenized whole, every window/row in one model run, no limit), which is
what exports did before. Peak memory is the server's VmHWM (peak resident set) minus its resident
set once loaded and warmed up (the peak so far: requests run in increasing size, so each peak
belongs to the largest request yet). `before` requests whose predicted peak exceeds the machine's free memory are skipped
(`--before-max-chars`). Not a test. Run:

    KERAS_BACKEND=tensorflow .venv/bin/python bench/bench_request_bounds.py
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import cpu_flags

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parents[1]
QUESTION = "Who was handsome, clever, and rich?"
MB = 1024 * 1024




def corpus_text(chars: int, offset: int = 0) -> str:
    folder = ROOT / "keras_bert" / "resources" / "corpus"
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.txt")))
    text = " ".join(text.split())
    start = offset % max(1, len(text) - chars)
    return text[start : start + chars]


def export_models(out: Path) -> dict[str, Path]:
    """MiniLM QA and classification exports, bounded (`after`) and unbounded (`before`)."""
    from keras_bert.export.writer import export_servable

    import keras_bert
    from keras_bert.convert import load_backbone
    from keras_bert.models.bert_classifier import BertClassifier
    from keras_bert.models.bert_span_qa import BertSpanQA
    from keras_bert.presets import minilm_dir
    from keras_bert.tasks.export import build_servable
    from keras_bert.tokenizers import WordPieceTokenizer

    del keras_bert
    tokenizer = WordPieceTokenizer(str(minilm_dir() / "vocab.txt"))
    models = {
        "question-answering": (BertSpanQA(load_backbone(minilm_dir())), dict(sequence_length=384)),
        "classification": (BertClassifier(load_backbone(minilm_dir()), 2), dict(sequence_length=128)),
    }
    paths = {}
    for task, (model, options) in models.items():
        for variant in ("after", "before"):
            extra = {} if variant == "after" else dict(chunk_size=10**9)
            if variant == "before" and task == "question-answering":
                extra["max_context_bytes"] = 2**62
            servable = build_servable(task, model, tokenizer, **options, **extra)
            if variant == "before":  # texts tokenized whole, as before
                servable.preprocessor.cut = lambda text, max_tokens=None: text
            name = f"{task}-{variant}"
            paths[name] = export_servable(servable, out / name / "1")
    return paths


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory(pid: int) -> dict[str, int]:
    values = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) * 1024
    return values


class Server:
    """`keras-bert serve` in its own process for one model."""

    def __init__(self, name: str, base: Path):
        self.port = free_port()
        command = [str(Path(sys.executable).parent / "keras-bert"), "serve", "--port", str(self.port),
                   "--model_name", name, "--model_base_path", str(base),
                   "--file_system_poll_wait_seconds", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                        text=True)
        for line in self.process.stdout:
            if line.startswith("gRPC on"):
                break
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc

        options = [("grpc.max_send_message_length", 128 * MB), ("grpc.max_receive_message_length", 128 * MB)]
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}", options=options)
        grpc.channel_ready_future(self.channel).result(timeout=300)
        self.stub = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.name = name
        self.loaded_rss = memory(self.process.pid)["VmRSS"]  # loaded and warmed up

    def predict(self, inputs: dict[str, list[str]]) -> tuple[float, int, str]:
        """(seconds, peak resident set in bytes over the loaded server so far, status)."""
        import grpc
        import tensorflow as tf
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = self.name
        for key, values in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(values, dtype=tf.string))
        started = time.perf_counter()
        try:
            self.stub.Predict(request, timeout=3600)
            status = "answered"
        except grpc.RpcError as error:
            if self.process.poll() is not None:
                status = f"server died (exit {self.process.returncode})"
            else:
                status = f"{error.code().name}: {error.details().splitlines()[0][:90]}"
        seconds = time.perf_counter() - started
        peak = memory(self.process.pid)["VmHWM"] if self.process.poll() is None else 0
        return seconds, peak - self.loaded_rss, status

    def stop(self) -> None:
        self.channel.close()
        self.process.terminate()
        self.process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 200_000],
                        help="QA context sizes in characters")
    parser.add_argument("--before-max-chars", type=int, default=200_000,
                        help="largest QA request sent to the unbounded export (8 x 200k OOMs)")
    parser.add_argument("--skip-before-classification", action="store_true")
    args = parser.parse_args()

    print(f"CPU flags: {cpu_flags()}; {os.cpu_count()} cores; TF default threads")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        paths = export_models(Path(tmp))
        for variant in ("after", "before"):
            name = f"question-answering-{variant}"
            server = Server(name, paths[name].parent)
            for chars in [*args.sizes, None]:
                contexts = [corpus_text(chars)] if chars else [corpus_text(200_000, k * 97_001) for k in range(8)]
                total = sum(len(c) for c in contexts)
                label = f"QA, 1 x {chars // 1000}k chars" if chars else "QA, 8 x 200k chars"
                if variant == "before" and total > args.before_max_chars:
                    rows.append((label, variant, None, None, "not run (unbounded: OOM risk)"))
                    continue
                seconds, growth, status = server.predict(
                    {"question": [QUESTION] * len(contexts), "context": contexts})
                rows.append((label, variant, seconds, growth, status))
                print(rows[-1], flush=True)
            server.stop()
            if variant == "before" and args.skip_before_classification:
                continue
            name = f"classification-{variant}"
            server = Server(name, paths[name].parent)
            texts = [corpus_text(16 * 1024, k * 7_919) for k in range(4000)]
            seconds, growth, status = server.predict({"text": texts})
            rows.append(("classification, 4000 x 16 KB", variant, seconds, growth, status))
            print(rows[-1], flush=True)
            server.stop()

    print("\n| request | export | seconds | server peak growth | result |")
    print("|---|---|---|---|---|")
    for label, variant, seconds, growth, status in rows:
        s = "-" if seconds is None else f"{seconds:.1f}"
        g = "-" if growth is None else f"{growth / MB:,.0f} MB"
        print(f"| {label} | {variant} | {s} | {g} | {status} |")


if __name__ == "__main__":
    main()
