"""ROUGE with Google's maintained `rouge-score` package, and BERTSum's greedy oracle labels.

Scores are F1 x 100, averaged over examples, with the Porter stemmer (`use_stemmer=True`), as
summarization papers report them (`rougeL` is sentence-level LCS, not `rougeLsum`).

The oracle (`greedy_oracle`) is BERTSum's `greedy_selection` (Liu & Lapata 2019) on rouge-score's
numbers: starting from no sentence, add the sentence that most raises ROUGE-1 F + ROUGE-2 F of the
selection (its sentences joined in document order) against the reference, while the sum improves,
up to `max_sentences` sentences. Each sentence is tokenized once (rouge-score's own tokenizer and
stemmer) and a candidate's tokens are the concatenation of its sentences' tokens in document order,
which is exactly what rouge-score computes on the joined text (tested against `RougeScorer.score`).
"""

from __future__ import annotations

from collections.abc import Sequence

from rouge_score import rouge_scorer, tokenizers

ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")


def rouge_scorer_with_stemmer(types: Sequence[str] = ROUGE_TYPES) -> rouge_scorer.RougeScorer:
    return rouge_scorer.RougeScorer(list(types), use_stemmer=True)


def rouge(predictions: Sequence[str], references: Sequence[str]) -> dict[str, float]:
    """Mean ROUGE-1/2/L F1 x 100 of `predictions` against `references` (one reference each)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions for {len(references)} references")
    scorer = rouge_scorer_with_stemmer()
    totals = dict.fromkeys(ROUGE_TYPES, 0.0)
    for prediction, reference in zip(predictions, references, strict=True):
        scores = scorer.score(reference, prediction)  # (target, prediction)
        for key in ROUGE_TYPES:
            totals[key] += scores[key].fmeasure
    count = max(1, len(predictions))
    return {key: 100.0 * value / count for key, value in totals.items()}


def _ngram_f1(candidate: list[str], reference: list[str], n: int) -> float:
    return rouge_scorer._score_ngrams(  # rouge-score 0.1.2's own n-gram F (pinned version)
        rouge_scorer._create_ngrams(reference, n), rouge_scorer._create_ngrams(candidate, n)
    ).fmeasure


def greedy_oracle(sentences: Sequence[str], summary: str, max_sentences: int = 3) -> list[int]:
    """Indices (ascending) of the sentences BERTSum's greedy selection labels 1.

    Args:
        sentences: the document's sentences, in order.
        summary: the reference summary.
        max_sentences: most sentences selected (BERTSum: 3).
    Returns:
        sorted sentence indices; empty when no sentence shares a word with the summary.
    """
    tokenize = tokenizers.DefaultTokenizer(use_stemmer=True).tokenize
    reference = tokenize(summary)
    tokens = [tokenize(s) for s in sentences]

    def score(indices: list[int]) -> float:
        candidate = [t for i in sorted(indices) for t in tokens[i]]
        return _ngram_f1(candidate, reference, 1) + _ngram_f1(candidate, reference, 2)

    selected: list[int] = []
    best = 0.0
    for _ in range(max_sentences):
        trial = [(score(selected + [i]), i) for i in range(len(sentences)) if i not in selected]
        if not trial:
            break
        value, index = max(trial, key=lambda t: (t[0], -t[1]))  # ties: the earliest sentence
        if value <= best:
            break
        best = value
        selected.append(index)
    return sorted(selected)


def oracle_score(sentences: Sequence[str], summary: str, indices: Sequence[int]) -> float:
    """ROUGE-1 F + ROUGE-2 F (0..2) of the sentences at `indices` joined in document order,
    straight from `RougeScorer.score` (the reference the greedy search is checked against)."""
    scorer = rouge_scorer_with_stemmer(("rouge1", "rouge2"))
    scores = scorer.score(summary, " ".join(sentences[i] for i in sorted(indices)))
    return scores["rouge1"].fmeasure + scores["rouge2"].fmeasure
