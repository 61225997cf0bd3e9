"""Readers for user task files: CSV/TSV/JSONL classification, CoNLL NER, SQuAD JSON (v1.1/v2.0).

Pure Python. Bad rows either raise `ValueError` naming file and line, or (with `strict=False`)
are skipped and counted in the returned `SkipReport`; never silently relabelled.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

from keras_bert.bio_tags import split_tag


@dataclasses.dataclass
class SkipReport:
    """Counts of skipped items by reason, with a few examples each."""

    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    examples: dict[str, list[str]] = dataclasses.field(default_factory=dict)

    def add(self, reason: str, example: str = "") -> None:
        self.counts[reason] = self.counts.get(reason, 0) + 1
        shown = self.examples.setdefault(reason, [])
        if len(shown) < 3 and example:
            shown.append(example[:200])

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def __str__(self) -> str:
        if not self.counts:
            return "no skips"
        return "; ".join(f"{reason}: {n}" for reason, n in sorted(self.counts.items()))


# ---------------------------------------------------------------- classification


def read_classification(
    path: str | Path,
    text_field: str = "text",
    pair_field: str | None = "text_pair",
    label_field: str = "label",
    encoding: str = "utf-8",
) -> list[dict]:
    """CSV (`.csv`), TSV (`.tsv`/`.txt`) with a header row, or JSONL (`.jsonl`/`.json`).

    Returns dicts `text`, `text_pair` (None when the column is absent), `label` (str). A row
    without text or label raises `ValueError` with the line number.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    rows: list[tuple[int, dict]] = []
    with open(path, encoding=encoding, newline="") as f:
        if suffix in (".jsonl", ".json"):
            for number, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append((number, json.loads(line)))
                    except json.JSONDecodeError as error:
                        raise ValueError(f"{path}:{number}: not JSON: {error}") from None
        else:
            delimiter = "," if suffix == ".csv" else "\t"
            reader = csv.DictReader(f, delimiter=delimiter)
            rows = [(number + 2, row) for number, row in enumerate(reader)]
    out = []
    for number, row in rows:
        text, label = row.get(text_field), row.get(label_field)
        if text is None or label is None or str(text).strip() == "" or str(label).strip() == "":
            raise ValueError(
                f"{path}:{number}: needs non-empty {text_field!r} and {label_field!r}, got "
                f"keys {sorted(row)}"
            )
        pair = row.get(pair_field) if pair_field else None
        out.append(
            {
                "text": str(text),
                "text_pair": None if pair is None else str(pair),
                "label": str(label),
            }
        )
    return out


def label_vocabulary(examples: list[dict]) -> list[str]:
    """Sorted label names found in `examples`."""
    return sorted({e["label"] for e in examples})


def encode_labels(examples: list[dict], label_names: list[str]) -> list[int]:
    """Label names -> ids; an unknown name raises `ValueError` naming it."""
    index = {name: i for i, name in enumerate(label_names)}
    ids = []
    for n, e in enumerate(examples):
        if e["label"] not in index:
            raise ValueError(f"example {n}: unknown label {e['label']!r}; known: {label_names}")
        ids.append(index[e["label"]])
    return ids


# ---------------------------------------------------------------- CoNLL


def read_conll(
    path: str | Path,
    token_column: int = 0,
    tag_column: int = -1,
    delimiter: str | None = None,
    strict: bool = True,
    report: SkipReport | None = None,
    encoding: str = "utf-8",
) -> list[tuple[list[str], list[str]]]:
    """CoNLL-style file: one `token ... tag` line per word, blank line between sentences.

    `-DOCSTART-` lines are dropped. `delimiter=None` splits on any whitespace. A line with too few
    columns or a tag that is not `O`/`B-X`/`I-X` raises `ValueError` (file:line) when `strict`,
    else its whole sentence is skipped and counted in `report` ("malformed line").
    Returns (words, tags) per sentence.
    """
    sentences: list[tuple[list[str], list[str]]] = []
    words: list[str] = []
    tags: list[str] = []
    bad = False

    def flush() -> None:
        nonlocal words, tags, bad
        if words and not bad:
            sentences.append((words, tags))
        words, tags, bad = [], [], False

    with open(path, encoding=encoding) as f:
        for number, line in enumerate(f, 1):
            line = line.rstrip("\n").rstrip("\r")
            if not line.strip():
                flush()
                continue
            columns = line.split(delimiter) if delimiter else line.split()
            if columns and columns[0] == "-DOCSTART-":
                flush()
                continue
            problem = None
            if len(columns) < 2:
                problem = f"expected token and tag columns, got {line!r}"
            else:
                try:
                    split_tag(columns[tag_column])
                except ValueError as error:
                    problem = str(error)
            if problem:
                if strict:
                    raise ValueError(f"{path}:{number}: {problem}")
                if report is not None:
                    report.add("malformed line", f"{path}:{number}: {line}")
                bad = True
                continue
            words.append(columns[token_column])
            tags.append(columns[tag_column])
    flush()
    return sentences


def tag_vocabulary(sentences: list[tuple[list[str], list[str]]]) -> list[str]:
    """`O` first, then B-/I- tags of every type seen, sorted by type."""
    types = sorted({split_tag(t)[1] for _, tags in sentences for t in tags} - {""})
    return ["O"] + [f"{p}-{t}" for t in types for p in ("B", "I")]


# ---------------------------------------------------------------- SQuAD


def read_squad(
    path: str | Path, strict: bool = False, report: SkipReport | None = None
) -> list[dict]:
    """SQuAD v1.1 / v2.0 JSON -> examples.

    Each: `id`, `question`, `context`, `answers` (list of {`text`, `answer_start`} in characters),
    `is_impossible`. An answer whose text is not `context[answer_start:][:len(text)]` raises
    `ValueError` when `strict`, else that answer is dropped and counted ("answer text does not
    match answer_start"); a question left with no answer and not marked impossible is skipped.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    examples = []
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context = paragraph["context"]
            for qa in paragraph["qas"]:
                impossible = bool(qa.get("is_impossible", False))
                answers = []
                for answer in qa.get("answers", []):
                    text, start = answer["text"], int(answer["answer_start"])
                    if context[start : start + len(text)] != text:
                        message = (
                            f"question {qa['id']}: answer {text!r} does not match context at "
                            f"answer_start={start} ({context[start : start + len(text)]!r})"
                        )
                        if strict:
                            raise ValueError(f"{path}: {message}")
                        if report is not None:
                            report.add("answer text does not match answer_start", message)
                        continue
                    answers.append({"text": text, "answer_start": start})
                if not answers and not impossible:
                    if report is not None:
                        report.add("question without a usable answer", str(qa["id"]))
                    continue
                examples.append(
                    {
                        "id": str(qa["id"]),
                        "question": qa["question"],
                        "context": context,
                        "answers": [] if impossible else answers,
                        "is_impossible": impossible,
                    }
                )
    return examples


def write_squad(examples: list[dict], path: str | Path, version: str = "v2.0") -> None:
    """Write examples as SQuAD JSON (one article, one paragraph per distinct context)."""
    paragraphs: dict[str, list[dict]] = {}
    for e in examples:
        qa = {"id": e["id"], "question": e["question"], "answers": e["answers"]}
        if version == "v2.0":
            qa["is_impossible"] = e["is_impossible"]
        paragraphs.setdefault(e["context"], []).append(qa)
    data = {
        "version": version,
        "data": [
            {
                "title": "keras-bert",
                "paragraphs": [{"context": c, "qas": qas} for c, qas in paragraphs.items()],
            }
        ],
    }
    Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
