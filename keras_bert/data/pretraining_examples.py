"""MLM + NSP pretraining examples from token ids: the google-research/bert recipe, re-implemented.

Pure Python on token-id lists (no TensorFlow): `create_pairs_from_document` makes the NSP segment
pairs (shared by the static and the dynamic path), `mask_tokens` does the static masking, and
`PretrainingExampleBuilder` runs both over a chunk of documents, `dupe_factor` times.

Conventions kept from the original `create_pretraining_data.py`:
- a pair fills up to `seq_len - 3` tokens (`short_seq_prob` of the time a shorter random target);
- segment B is the actual continuation 50% of the time, else a run of sentences from a random other
  document (label 1 = random, 0 = actual next);
- over-long pairs are trimmed longest-first, from the front or the back at random;
- `num_to_predict = min(max_predictions, max(1, round(len(tokens) * masked_lm_prob)))` over the
  whole sequence incl. [CLS]/[SEP]; [CLS]/[SEP] are never picked; each picked token becomes [MASK]
  80%, a uniformly random vocabulary id 10%, itself 10%;
- whole-word masking picks `##` pieces together with the word they continue and never splits a word
  (a deliberate difference: a `##` piece right after [CLS]/[SEP], left by trimming, starts its own
  word instead of joining the last word of the other segment).

The other deliberate difference: the NSP coin is tossed for every pair, and a one-sentence chunk
that draws "actual next" borrows the document's following sentence as B. The original always gives
such a chunk a random B; since its short target length holds for a whole document, short-target
documents then yield mostly random pairs and the labels skew (measured on the bundled corpus at
seq_len 128: 54-59% random instead of 50%). Only a one-sentence chunk at a document's end still takes
a random B.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

Document = Sequence[Sequence[int]]  # A document: its sentences, each a sequence of token ids.


@dataclass(frozen=True)
class PretrainingConfig:
    """Knobs of the recipe (names follow `create_pretraining_data.py` where they exist)."""

    seq_len: int = 128
    max_predictions: int = 20
    masked_lm_prob: float = 0.15
    short_seq_prob: float = 0.1
    dupe_factor: int = 10
    whole_word_mask: bool = False

    def __post_init__(self):
        if self.seq_len < 5:
            raise ValueError(
                f"seq_len={self.seq_len} is too small: a pair needs [CLS] A [SEP] B [SEP], "
                "i.e. at least 5 tokens"
            )
        if self.max_predictions < 1:
            raise ValueError(f"max_predictions={self.max_predictions} must be >= 1")
        if not 0.0 < self.masked_lm_prob < 1.0:
            raise ValueError(f"masked_lm_prob={self.masked_lm_prob} must be in (0, 1)")
        if not 0.0 <= self.short_seq_prob <= 1.0:
            raise ValueError(f"short_seq_prob={self.short_seq_prob} must be in [0, 1]")
        if self.dupe_factor < 1:
            raise ValueError(f"dupe_factor={self.dupe_factor} must be >= 1")


@dataclass(frozen=True)
class SpecialTokens:
    """Ids the recipe needs, looked up from the tokenizer (never hard-coded)."""

    cls_id: int
    sep_id: int
    mask_id: int
    pad_id: int
    vocabulary_size: int
    # (vocabulary_size,) bool: True for `##` continuation pieces (whole-word masking).
    continuation: np.ndarray | None = None

    @classmethod
    def from_tokenizer(cls, tokenizer) -> SpecialTokens:
        """From a `WordPieceTokenizer` (or anything with the same id attributes and `vocabulary`)."""
        return cls(
            cls_id=int(tokenizer.cls_token_id),
            sep_id=int(tokenizer.sep_token_id),
            mask_id=int(tokenizer.mask_token_id),
            pad_id=int(tokenizer.pad_token_id),
            vocabulary_size=int(tokenizer.vocabulary_size),
            continuation=continuation_mask(tokenizer.vocabulary),
        )


def continuation_mask(vocabulary: Sequence[str]) -> np.ndarray:
    """(vocabulary_size,) bool: True where the token is a `##` word continuation piece."""
    return np.array([token.startswith("##") for token in vocabulary], dtype=bool)


@dataclass
class PretrainingInstance:
    """One example before padding. `token_ids` is `[CLS] A [SEP] B [SEP]` after masking."""

    token_ids: list[int]
    segment_ids: list[int]
    is_random_next: bool
    masked_lm_positions: list[int]  # ascending
    masked_lm_ids: list[int]  # the original ids at those positions


def truncate_pair(tokens_a: list, tokens_b: list, max_num_tokens: int, rng: random.Random) -> None:
    """Trims the longer list by one token (front or back at random) until both fit, in place."""
    while len(tokens_a) + len(tokens_b) > max_num_tokens:
        longer = tokens_a if len(tokens_a) > len(tokens_b) else tokens_b
        if rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()


def create_pairs_from_document(
    documents: Sequence[Document],
    document_index: int,
    seq_len: int,
    short_seq_prob: float,
    rng: random.Random,
) -> list[tuple[list[int], list[int], bool]]:
    """NSP pairs `(tokens_a, tokens_b, is_random_next)` from one document, trimmed to `seq_len - 3`.

    `documents` is the pool random B segments are drawn from (the current chunk of the corpus).
    """
    document = documents[document_index]
    max_num_tokens = seq_len - 3
    target_length = max_num_tokens
    if rng.random() < short_seq_prob:
        target_length = rng.randint(2, max_num_tokens)

    pairs = []
    chunk: list[Sequence[int]] = []
    chunk_length = 0
    i = 0
    while i < len(document):
        chunk.append(document[i])
        chunk_length += len(document[i])
        if i == len(document) - 1 or chunk_length >= target_length:
            is_random_next = rng.random() < 0.5
            if len(chunk) == 1 and not is_random_next:
                if i + 1 < len(document):  # Borrow the next sentence as the actual-next B.
                    i += 1
                    chunk.append(document[i])
                else:
                    is_random_next = True
            # A = the first `a_end` sentences of the chunk.
            a_end = rng.randint(1, len(chunk) - 1) if len(chunk) >= 2 else 1
            tokens_a = [int(t) for sentence in chunk[:a_end] for t in sentence]
            tokens_b: list[int] = []
            if is_random_next:
                target_b_length = target_length - len(tokens_a)
                # Ten tries to land on another document (a one-document pool reuses its own).
                for _ in range(10):
                    random_index = rng.randint(0, len(documents) - 1)
                    if random_index != document_index:
                        break
                random_document = documents[random_index]
                for sentence in random_document[rng.randint(0, len(random_document) - 1) :]:
                    tokens_b.extend(int(t) for t in sentence)
                    if len(tokens_b) >= target_b_length:
                        break
                # The unused sentences of this chunk go back for the next pair.
                i -= len(chunk) - a_end
            else:
                is_random_next = False
                tokens_b = [int(t) for sentence in chunk[a_end:] for t in sentence]
            truncate_pair(tokens_a, tokens_b, max_num_tokens, rng)
            if tokens_a and tokens_b:
                pairs.append((tokens_a, tokens_b, is_random_next))
            chunk, chunk_length = [], 0
        i += 1
    return pairs


def word_candidates(
    token_ids: Sequence[int], special: SpecialTokens, whole_word: bool
) -> list[list[int]]:
    """Groups maskable positions: one list per word (whole-word) or per token; [CLS]/[SEP] left out."""
    candidates: list[list[int]] = []
    previous_special = True
    for position, token in enumerate(token_ids):
        if token in (special.cls_id, special.sep_id, special.pad_id):
            previous_special = True
            continue
        continues_word = (
            whole_word
            and not previous_special
            and special.continuation is not None
            and bool(special.continuation[token])
        )
        if continues_word:
            candidates[-1].append(position)
        else:
            candidates.append([position])
        previous_special = False
    return candidates


def mask_tokens(
    token_ids: Sequence[int],
    config: PretrainingConfig,
    special: SpecialTokens,
    rng: random.Random,
) -> tuple[list[int], list[int], list[int]]:
    """Static MLM masking. Returns (masked token ids, positions ascending, original ids there)."""
    candidates = word_candidates(token_ids, special, config.whole_word_mask)
    rng.shuffle(candidates)
    num_to_predict = min(
        config.max_predictions, max(1, int(round(len(token_ids) * config.masked_lm_prob)))
    )
    output = list(token_ids)
    chosen: list[int] = []
    for word in candidates:
        if len(chosen) >= num_to_predict:
            break
        if len(chosen) + len(word) > num_to_predict:
            continue  # The whole word does not fit: try a shorter one.
        for position in word:
            if rng.random() < 0.8:
                output[position] = special.mask_id
            elif rng.random() < 0.5:
                output[position] = token_ids[position]
            else:
                output[position] = rng.randint(0, special.vocabulary_size - 1)
            chosen.append(position)
    chosen.sort()
    return output, chosen, [int(token_ids[p]) for p in chosen]


def pack_pair(
    tokens_a: list[int], tokens_b: list[int], special: SpecialTokens
) -> tuple[list[int], list[int]]:
    """`[CLS] A [SEP] B [SEP]` and its segment ids (0 for [CLS] A [SEP], 1 for B [SEP])."""
    token_ids = [special.cls_id, *tokens_a, special.sep_id, *tokens_b, special.sep_id]
    segment_ids = [0] * (len(tokens_a) + 2) + [1] * (len(tokens_b) + 1)
    return token_ids, segment_ids


class PretrainingExampleBuilder:
    """Turns chunks of tokenized documents into shuffled `PretrainingInstance`s.

    Args:
        config: the recipe's knobs.
        special: special-token ids (and `##` pieces for whole-word masking).
        seed: seeds one `random.Random` that every call draws from, so a run is reproducible.
    """

    def __init__(self, config: PretrainingConfig, special: SpecialTokens, seed: int = 12345):
        if config.whole_word_mask and special.continuation is None:
            raise ValueError("whole-word masking needs `special.continuation` (the ## pieces)")
        self.config = config
        self.special = special
        self.rng = random.Random(seed)

    def instances(self, documents: list[Document]) -> list[PretrainingInstance]:
        """All instances of one chunk of documents (each used `dupe_factor` times), shuffled."""
        documents = [doc for doc in documents if len(doc) > 0]
        self.rng.shuffle(documents)
        instances = []
        for _ in range(self.config.dupe_factor):
            for index in range(len(documents)):
                pairs = create_pairs_from_document(
                    documents, index, self.config.seq_len, self.config.short_seq_prob, self.rng
                )
                for tokens_a, tokens_b, is_random_next in pairs:
                    token_ids, segment_ids = pack_pair(tokens_a, tokens_b, self.special)
                    masked, positions, ids = mask_tokens(
                        token_ids, self.config, self.special, self.rng
                    )
                    instances.append(
                        PretrainingInstance(masked, segment_ids, is_random_next, positions, ids)
                    )
        self.rng.shuffle(instances)
        return instances


def instance_to_features(
    instance: PretrainingInstance, seq_len: int, max_predictions: int, pad_id: int = 0
) -> dict[str, list[int] | list[float]]:
    """Padded feature lists under the original TFRecord names (`masked_lm_weights` float)."""
    length = len(instance.token_ids)
    if length > seq_len:
        raise ValueError(f"instance of {length} tokens exceeds seq_len={seq_len}")
    num_masked = len(instance.masked_lm_positions)
    if num_masked > max_predictions:
        raise ValueError(f"{num_masked} predictions exceed max_predictions={max_predictions}")
    padding = seq_len - length
    unused = max_predictions - num_masked
    return {
        "input_ids": list(instance.token_ids) + [pad_id] * padding,
        "input_mask": [1] * length + [0] * padding,
        "segment_ids": list(instance.segment_ids) + [0] * padding,
        "masked_lm_positions": list(instance.masked_lm_positions) + [0] * unused,
        "masked_lm_ids": list(instance.masked_lm_ids) + [0] * unused,
        "masked_lm_weights": [1.0] * num_masked + [0.0] * unused,
        "next_sentence_labels": [1 if instance.is_random_next else 0],
    }


def chunked(iterable, size: int) -> Iterator[list]:
    """Consecutive lists of up to `size` items."""
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
