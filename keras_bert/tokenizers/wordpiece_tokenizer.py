"""`WordPieceTokenizer`: in-graph BERT WordPiece with exact google-research/bert parity."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence

import keras
import tensorflow as tf

from keras_bert.tokenizers import normalization
from keras_bert.tokenizers.core_wordpiece import CoreWordPiece
from keras_bert.tokenizers.vocab_io import read_vocabulary, write_vocabulary

_SUFFIX = "##"
VOCABULARY_ASSET = "vocabulary.txt"
# Stands for an over-long word in `tokenize`: private use, so cleaning removes it from any input.
_LONG_WORD = "\ue000"
# Which ops run the tokenizer: tensorflow-text's (NFD, FastWordpiece) or core TensorFlow's only.
BACKENDS = ("tf_text", "core")


@keras.saving.register_keras_serializable(package="keras_bert")
class WordPieceTokenizer(keras.layers.Layer):
    """BERT WordPiece tokenizer running in the TF graph, token-for-token equal to google-research/bert.

    Normalisation (the original `BasicTokenizer`) runs in TF ops with character classes built from
    Python's `unicodedata` (see `normalization`); WordPiece (greedy longest-match-first, `##`) is
    `tf_text.FastWordpieceTokenizer` with no normalisation of its own (`backend="tf_text"`), or
    `CoreWordPiece` (`backend="core"`: core TensorFlow ops only, so a SavedModel holding the
    tokenizer loads wherever TensorFlow runs, without tensorflow-text; same ids and offsets).
    - `__call__`/`tokenize`: whole-string regex normalisation, then FastWordpiece splits the
      normalised text itself (fast path).
    - `tokenize_with_offsets`: per code point (table lookups), so each piece maps back to bytes of
      the original string. Both paths give the same ids (tested on every code point).
    Known limits: TF's ICU (Unicode 13) does not lower-case 41 capitals added in Unicode 14
    (Vithkuqi, U+2C2F, U+A7C0/D0/D6/D8); ids differ only for a vocabulary holding their lower-case
    forms. The vocabulary may not contain U+E000 (used internally for over-long words).

    Args:
        vocabulary: path to a `vocab.txt` or a list of tokens (index = id).
        lowercase: lower-case (uncased vocabularies); False keeps case.
        strip_accents: NFD and drop accents (category Mn); None (default) follows `lowercase`, as
            Hugging Face's `BertTokenizer` and the original (which strips exactly when uncased).
        tokenize_chinese_chars: CJK ideographs are words of their own (the original); False keeps
            them inside the surrounding word.
        backend: "tf_text" (default: tensorflow-text's FastWordpiece and NFD ops, fastest) or
            "core" (core TensorFlow ops only: portable exports; same ids and offsets).
        max_input_chars_per_word: longer words (in characters) become the unknown token.
        unk_token, cls_token, sep_token, pad_token, mask_token: special tokens, looked up by name.

    Call arguments:
        inputs: `tf.string` tensor, shape `(batch,)` or scalar `()`.

    Returns:
        `tf.RaggedTensor` int32 `(batch, None)` of token ids (a dense `(None,)` for a scalar),
        without `[CLS]`/`[SEP]`. Text never produces special-token ids.

    Examples:
    >>> tok = WordPieceTokenizer(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "qu", "##ick"])
    >>> tok(tf.constant(["The quick"])).to_list()
    [[5, 6, 7]]
    """

    def __init__(
        self,
        vocabulary: str | os.PathLike | Sequence[str] | None,
        lowercase: bool = True,
        max_input_chars_per_word: int = 100,
        unk_token: str = "[UNK]",
        cls_token: str = "[CLS]",
        sep_token: str = "[SEP]",
        pad_token: str = "[PAD]",
        mask_token: str = "[MASK]",
        strip_accents: bool | None = None,
        tokenize_chinese_chars: bool = True,
        backend: str = "tf_text",
        **kwargs,
    ):
        kwargs.setdefault("dtype", "int32")
        super().__init__(trainable=False, **kwargs)
        self._convert_input_args = False  # keep tf.string tensors as they are
        self._allow_non_tensor_positional_args = True

        if backend not in BACKENDS:
            raise ValueError(
                f"WordPieceTokenizer: backend must be one of {', '.join(BACKENDS)}, got {backend!r}."
            )
        self.backend = backend
        self.lowercase = bool(lowercase)
        self.strip_accents = None if strip_accents is None else bool(strip_accents)
        self.tokenize_chinese_chars = bool(tokenize_chinese_chars)
        self.max_input_chars_per_word = int(max_input_chars_per_word)
        self.unk_token, self.cls_token, self.sep_token = unk_token, cls_token, sep_token
        self.pad_token, self.mask_token = pad_token, mask_token
        self._vocab: list[str] | None = None
        if vocabulary is not None:  # None: set later (`load_assets` when a saved model loads)
            self.set_vocabulary(vocabulary)
        self.built = True

    def set_vocabulary(self, vocabulary: str | os.PathLike | Sequence[str]) -> None:
        """Builds the lookup tables from a `vocab.txt` path or a token list (index = id)."""
        if isinstance(vocabulary, (str, os.PathLike)):
            vocab_path = os.fspath(vocabulary)
            tokens = read_vocabulary(vocab_path)
        else:
            vocab_path = None
            tokens = [str(t) for t in vocabulary]
        if not tokens:
            raise ValueError("WordPieceTokenizer: the vocabulary is empty.")
        self._vocab = tokens
        self._token_to_id = {}
        for i, t in enumerate(tokens):
            self._token_to_id.setdefault(t, i)  # first occurrence wins
        specials = [self.unk_token, self.cls_token, self.sep_token, self.pad_token, self.mask_token]
        missing = [t for t in specials if t not in self._token_to_id]
        if missing:
            raise ValueError(
                f"WordPieceTokenizer: special token(s) {missing} missing from the vocabulary "
                f"({len(tokens)} tokens{', ' + vocab_path if vocab_path else ''})."
            )

        # The vocabulary file travels with a SavedModel as an asset (it backs id -> token).
        if vocab_path is None or read_vocabulary(vocab_path) != _raw_lines(vocab_path):
            vocab_path = os.path.join(tempfile.mkdtemp(prefix="keras_bert_vocab_"), "vocab.txt")
            write_vocabulary(tokens, vocab_path)
        self._vocab_asset = tf.saved_model.Asset(vocab_path)
        self._id_to_token_table = tf.lookup.StaticHashTable(
            tf.lookup.TextFileInitializer(
                self._vocab_asset,
                key_dtype=tf.int64,
                key_index=tf.lookup.TextFileIndex.LINE_NUMBER,
                value_dtype=tf.string,
                value_index=tf.lookup.TextFileIndex.WHOLE_LINE,
            ),
            default_value=self.unk_token,
        )
        if _LONG_WORD in self._token_to_id:
            raise ValueError("WordPieceTokenizer: the vocabulary may not contain U+E000.")
        if self.backend == "core":
            self._core_wordpiece = CoreWordPiece(
                tokens, self.unk_token, self.max_input_chars_per_word
            )
            self._core_graphs = _CoreGraphs(self._tokenize_batch, self._core_wordpiece)
        else:
            self._build_fast_wordpiece(tokens)
        keys, starts, lengths, values = normalization.decomposition_table()
        self._decompositions = (
            tf.constant(keys, tf.int32),
            tf.constant(starts, tf.int64),
            tf.constant(lengths, tf.int64),
            tf.constant(values, tf.int32),
        )
        self._dotted_capital_i = (  # lower-casing without stripping: "İ" -> "i" U+0307
            tf.constant([0x130], tf.int32),
            tf.constant([0], tf.int64),
            tf.constant([2], tf.int64),
            tf.constant([0x69, 0x307], tf.int32),
        )
        run_starts, run_codes = normalization.class_code_runs()
        self._class_runs = (tf.constant(run_starts, tf.int32), tf.constant(run_codes, tf.int32))
        # Direct table for the BMP (64K entries): one gather instead of a binary search.
        self._bmp_classes = tf.constant(normalization.bmp_class_codes(), tf.int32)

    def _build_fast_wordpiece(self, tokens: list[str]) -> None:
        import tensorflow_text as tf_text  # noqa: PLC0415 (only this backend needs it)

        # Normalisation is ours; FastWordpiece only splits single words. Words over the character
        # limit are replaced by the unknown token first, so the byte limit never triggers.
        self._wordpiece = tf_text.FastWordpieceTokenizer(
            vocab=tokens,
            suffix_indicator=_SUFFIX,
            max_bytes_per_word=4 * self.max_input_chars_per_word + 4,
            token_out_type=tf.int64,
            unknown_token=self.unk_token,
            no_pretokenization=True,
        )
        # `__call__`: the same model splitting whitespace-separated text itself (its pre-tokenizer
        # splits on a superset of our punctuation only at characters our cleaning drops first).
        self._wordpiece_text = tf_text.FastWordpieceTokenizer(
            vocab=tokens,
            suffix_indicator=_SUFFIX,
            max_bytes_per_word=4 * self.max_input_chars_per_word + 4,
            token_out_type=tf.int64,
            unknown_token=self.unk_token,
            no_pretokenization=False,
        )

    @property
    def _strip(self) -> bool:
        """Whether accents are stripped (`strip_accents`, None meaning `lowercase`)."""
        return self.lowercase if self.strip_accents is None else self.strip_accents

    def with_backend(self, backend: str) -> WordPieceTokenizer:
        """A tokenizer with this one's vocabulary and settings running on `backend` (same ids)."""
        other = WordPieceTokenizer.from_config({**self.get_config(), "backend": backend})
        other.set_vocabulary(self.vocabulary)
        return other

    # ----------------------------------------------------------------------------- vocabulary
    @property
    def vocabulary(self) -> list[str]:
        if self._vocab is None:
            raise ValueError("WordPieceTokenizer: no vocabulary set (pass one, or load a saved model).")
        return list(self._vocab)

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def get_vocabulary(self) -> list[str]:
        return self.vocabulary

    def token_to_id(self, token: str) -> int:
        if token not in self._token_to_id:
            raise KeyError(f"Token {token!r} is not in the vocabulary.")
        return self._token_to_id[token]

    def id_to_token(self, id: int) -> str:
        if not 0 <= int(id) < len(self._vocab):
            raise IndexError(f"Id {id} is outside the vocabulary (size {len(self._vocab)}).")
        return self._vocab[int(id)]

    @property
    def unk_token_id(self) -> int:
        return self._token_to_id[self.unk_token]

    @property
    def cls_token_id(self) -> int:
        return self._token_to_id[self.cls_token]

    @property
    def sep_token_id(self) -> int:
        return self._token_to_id[self.sep_token]

    @property
    def pad_token_id(self) -> int:
        return self._token_to_id[self.pad_token]

    @property
    def mask_token_id(self) -> int:
        return self._token_to_id[self.mask_token]

    # ----------------------------------------------------------------------------- tokenizing
    def call(self, inputs) -> tf.RaggedTensor:
        return self.tokenize(inputs)

    def tokenize(self, inputs) -> tf.RaggedTensor:
        """`tf.string` (batch,) -> ragged int32 (batch, None) ids (whole-string normalisation)."""
        if self.backend == "core":
            x, scalar = _as_batch(inputs)
            ids = self._core_graphs.tokenize(x)
            return ids[0] if scalar else ids
        return self._tokenize_batch(inputs)

    def _tokenize_batch(self, inputs) -> tf.RaggedTensor:
        x, scalar = _as_batch(inputs)
        text = normalization.normalize_text(
            x,
            self.lowercase,
            self.strip_accents,
            self.tokenize_chinese_chars,
            self.backend,
            self._decompositions,
        )  # words split by ASCII spaces
        if self.backend == "core":  # over-long words: CoreWordPiece gives the unknown token
            words = tf.strings.split(text)
            pieces = self._core_wordpiece.tokenize(words.flat_values)  # (inside a tf.function)
            ids = tf.cast(words.with_flat_values(pieces).merge_dims(1, 2), tf.int32)
            return ids[0] if scalar else ids
        # Words over the character limit -> a placeholder that can only give the unknown token.
        text = tf.strings.regex_replace(
            text, f"[^ \\t\\n\\r]{{{self.max_input_chars_per_word + 1},}}", f" {_LONG_WORD} "
        )
        if self.tokenize_chinese_chars:
            ids = self._wordpiece_text.tokenize(text)  # (batch, pieces)
        else:  # FastWordpiece's own pre-tokenizer would split CJK ideographs: split here
            words = tf.strings.split(text)
            ids = words.with_flat_values(self._wordpiece.tokenize(words.flat_values)).merge_dims(1, 2)
        ids = tf.cast(ids, tf.int32)
        return ids[0] if scalar else ids

    def tokenize_with_offsets(self, inputs):
        """`tf.string` (batch,) -> (ids, start, end), ragged (batch, None) int32/int64/int64.

        `start`/`end` are byte offsets into the original strings: `tf.strings.substr(x, start,
        end - start)` is the text the piece came from (for a `##` piece, the part of the word it
        covers; a piece ends after any accents that normalisation stripped from its last letter).
        Pieces inside one character (e.g. a Hangul syllable split into jamo) map to that character.
        """
        x, scalar = _as_batch(inputs)
        batch = tf.shape(x, out_type=tf.int64)[0]
        # Work on code points (int32) so classification is a table lookup, not a regex per char.
        cps, starts = tf.strings.unicode_decode_with_offsets(
            x, "UTF-8", errors="replace", replacement_char=0xFFFD
        )  # invalid bytes -> U+FFFD, which is dropped
        cp, row, start = cps.flat_values, cps.value_rowids(), starts.flat_values  # (n,) each
        code = self._class_of(cp)
        keep = tf.where(tf.not_equal(code, normalization.DROPPED))[:, 0]
        cp, row, start, code = (tf.gather(t, keep) for t in (cp, row, start, code))
        end = start + _utf8_length(cp)
        is_sep = tf.equal(code, normalization.SEPARATOR)
        is_cjk = tf.logical_and(tf.equal(code, normalization.CJK), self.tokenize_chinese_chars)
        n = tf.shape(cp, out_type=tf.int64)[0]

        # Normalised code points per character: norm (n, None); separators get none.
        strip = self._strip
        low = cp
        if self.lowercase:
            # Lower-case the cleaned text as a whole (final sigma needs context), one character
            # in -> one out. "İ" is the only character whose lower case is longer ("i̇"); "I"
            # gives the same result once accents are stripped.
            # ASCII letters are lowered arithmetically; only rows with a non-ASCII character are
            # joined and lowered by ICU.
            upper = tf.logical_and(cp >= 65, cp <= 90)
            low = tf.where(upper, cp + 32, cp)
            row_wide = tf.math.unsorted_segment_max(tf.cast(cp >= 128, tf.int32), row, batch) > 0
            in_wide_row = tf.where(tf.gather(row_wide, row))[:, 0]  # (m,) characters
            wide_row_index = tf.cumsum(tf.cast(row_wide, tf.int64)) - 1  # row -> its wide-row id
            sub = tf.gather(cp, in_wide_row)
            context = tf.where(
                tf.gather(is_sep, in_wide_row), 32, tf.where(tf.equal(sub, 0x130), 0x49, sub)
            )
            joined = tf.strings.unicode_encode(
                tf.RaggedTensor.from_value_rowids(
                    context,
                    tf.gather(wide_row_index, tf.gather(row, in_wide_row)),
                    nrows=tf.reduce_sum(tf.cast(row_wide, tf.int64)),
                ),
                "UTF-8",
            )
            lowered = tf.strings.unicode_decode(
                tf.strings.lower(joined, encoding="utf-8"), "UTF-8"
            ).flat_values
            low = tf.tensor_scatter_nd_update(low, in_wide_row[:, None], lowered)
            if not strip:  # "İ" lowers to "i̇" (two characters): expanded by the table below
                low = tf.where(tf.equal(cp, 0x130), cp, low)
        if strip or self.lowercase:
            # NFD + strip Mn (or only "İ" -> "i̇") per character from a table: (n,) -> ragged.
            keys, starts_, lengths_, values_ = (
                self._decompositions if strip else self._dotted_capital_i
            )
            # Only non-ASCII characters can change; look those up.
            wide = tf.where(tf.logical_and(low >= 128, tf.logical_not(is_sep)))[:, 0]
            wide_low = tf.gather(low, wide)
            index = tf.minimum(tf.searchsorted(keys, wide_low, side="left"), tf.size(keys) - 1)
            found = tf.where(tf.equal(tf.gather(keys, index), wide_low))[:, 0]
            hit = tf.gather(wide, found)  # (hits,) characters the table changes
            hit_index = tf.gather(index, found)
            lengths = tf.where(is_sep, tf.zeros_like(row), tf.ones_like(row))
            lengths = tf.tensor_scatter_nd_update(
                lengths, hit[:, None], tf.gather(lengths_, hit_index)
            )
            splits = tf.concat([[0], tf.cumsum(lengths)], axis=0)
            changed = (
                tf.scatter_nd(
                    hit[:, None], tf.ones_like(hit, tf.int32), tf.shape(row, out_type=tf.int64)
                )
                > 0
            )
            same = tf.where(tf.logical_and(tf.logical_not(changed), tf.logical_not(is_sep)))[:, 0]
            hit_start = tf.gather(starts_, hit_index)  # (hits,) into the table
            source = tf.ragged.range(hit_start, hit_start + tf.gather(lengths, hit))  # (hits, None)
            owner = source.value_rowids()
            target = tf.gather(tf.gather(splits, hit), owner) + (
                source.flat_values - tf.gather(hit_start, owner)
            )  # where each decomposed code point goes in `values`
            values = tf.scatter_nd(
                tf.concat([tf.gather(splits, same), target], axis=0)[:, None],
                tf.concat([tf.gather(low, same), tf.gather(values_, source.flat_values)], axis=0),
                shape=splits[-1:],
            )
            norm = tf.RaggedTensor.from_row_splits(tf.reshape(values, [-1]), splits)
        else:
            lengths = tf.where(is_sep, tf.constant(0, tf.int64), tf.ones_like(row))
            norm = tf.RaggedTensor.from_row_lengths(
                tf.boolean_mask(low, tf.logical_not(is_sep)), lengths
            )
        norm_len = tf.reduce_sum(tf.ragged.map_flat_values(_utf8_length, norm), axis=1)
        # Punctuation is decided after normalisation (U+1FEF -> "`"); it is always one character.
        single = tf.equal(norm.row_lengths(), 1)
        head = tf.gather(
            norm.flat_values,
            tf.minimum(norm.row_starts(), tf.size(norm.flat_values, out_type=tf.int64) - 1),
        )
        is_punct = tf.logical_and(single, tf.equal(self._class_of(head), normalization.PUNCTUATION))
        is_iso = tf.logical_or(is_punct, is_cjk)

        # Words: runs of non-separator characters; punctuation and CJK are words of their own.
        first_in_row = tf.concat([[True], tf.not_equal(row[1:], row[:-1])], axis=0)[:n]
        boundary = tf.logical_or(is_sep, is_iso)
        after_boundary = tf.concat([[True], boundary[:-1]], axis=0)[:n]
        in_word = tf.logical_not(is_sep)
        word_start = tf.logical_and(
            in_word, tf.reduce_any(tf.stack([is_iso, after_boundary, first_in_row]), axis=0)
        )
        word_of_char = tf.cumsum(tf.cast(word_start, tf.int64)) - 1
        num_words = tf.reduce_sum(tf.cast(word_start, tf.int64))
        words = tf.strings.unicode_encode(
            tf.RaggedTensor.from_value_rowids(
                norm.flat_values, tf.gather(word_of_char, norm.value_rowids()), nrows=num_words
            ),
            "UTF-8",
        )  # (words,) normalised text
        first_char = tf.where(word_start)[:, 0]
        word_row = tf.gather(row, first_char)
        # Global position in normalised bytes; a separator takes one position and each row starts
        # one further on, so positions never tie across word or row boundaries.
        pos_len = norm_len + tf.cast(is_sep, tf.int64)
        norm_start = tf.cumsum(pos_len, exclusive=True) + tf.cumsum(tf.cast(first_in_row, tf.int64))
        word_pos = tf.gather(norm_start, first_char)
        nonempty = tf.strings.length(words) > 0  # a word of stripped accents only vanishes
        words, word_row, word_pos = (
            tf.boolean_mask(t, nonempty) for t in (words, word_row, word_pos)
        )

        too_long = tf.strings.length(words, unit="UTF8_CHAR") > self.max_input_chars_per_word
        if self.backend == "core":
            pieces, p_start, p_end = self._core_graphs.pieces(words)
        else:
            pieces, p_start, p_end = self._wordpiece.tokenize_with_offsets(
                tf.where(too_long, self.unk_token, words)
            )  # (words, pieces)
        piece_word = pieces.value_rowids()
        p_start = p_start.flat_values
        p_end = tf.where(
            tf.gather(too_long, piece_word),
            tf.cast(tf.gather(tf.strings.length(words), piece_word), tf.int64),
            p_end.flat_values,
        )
        # Map normalised positions back to characters, then to original bytes.
        g_start = tf.gather(word_pos, piece_word) + p_start
        g_end = tf.gather(word_pos, piece_word) + p_end
        first = tf.searchsorted(norm_start + pos_len, g_start, side="right")
        # Characters emptied by accent stripping sort just before the next position, so a piece
        # ending there takes them along; separators and the next piece's letters do not.
        emptied = tf.logical_and(in_word, tf.equal(norm_len, 0))
        end_key = 2 * norm_start - tf.cast(emptied, tf.int64)
        last = tf.searchsorted(end_key, 2 * g_end, side="left") - 1
        out_start = tf.gather(start, first)
        out_end = tf.gather(end, last)

        def regroup(values):
            per_word = pieces.with_flat_values(values)
            return tf.RaggedTensor.from_value_rowids(per_word, word_row, nrows=batch).merge_dims(
                1, 2
            )

        ids = regroup(tf.cast(pieces.flat_values, tf.int32))
        out_start, out_end = regroup(out_start), regroup(out_end)
        if scalar:
            return ids[0], out_start[0], out_end[0]
        return ids, out_start, out_end

    def _class_of(self, cp: tf.Tensor) -> tf.Tensor:
        """int32 code points (n,) -> int32 class codes (n,) (`normalization.DROPPED`, ...)."""
        run_starts, run_codes = self._class_runs
        code = tf.gather(self._bmp_classes, tf.minimum(cp, 0xFFFF))
        astral = tf.where(cp > 0xFFFF)  # (k, 1), rare
        astral_cp = tf.gather_nd(cp, astral)
        astral_code = tf.gather(run_codes, tf.searchsorted(run_starts, astral_cp, side="right") - 1)
        return tf.tensor_scatter_nd_update(code, astral, astral_code)

    def detokenize(self, inputs) -> tf.Tensor:
        """Ids (batch, None) ragged or dense -> `tf.string` (batch,): tokens joined, `##` glued."""
        ids = inputs
        if not isinstance(ids, tf.RaggedTensor):
            ids = tf.convert_to_tensor(ids)
        scalar = ids.shape.rank == 1
        if scalar:
            ids = ids[tf.newaxis]
        tokens = tf.ragged.map_flat_values(self._id_to_token_table.lookup, tf.cast(ids, tf.int64))
        text = tf.strings.reduce_join(tokens, axis=-1, separator=" ")
        text = tf.strings.regex_replace(text, " " + _SUFFIX, "")
        return text[0] if scalar else text

    def compute_output_spec(self, inputs):
        return keras.KerasTensor((None, None), dtype="int32", ragged=True)

    def save_assets(self, dir_path: str) -> None:
        """Keras saving: the vocabulary travels as `vocabulary.txt` in the `.keras` archive."""
        write_vocabulary(self.vocabulary, os.path.join(dir_path, VOCABULARY_ASSET))

    def load_assets(self, dir_path: str) -> None:
        self.set_vocabulary(read_vocabulary(os.path.join(dir_path, VOCABULARY_ASSET)))

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            {
                "vocabulary": None,  # an asset: `save_assets` / `load_assets`
                "lowercase": self.lowercase,
                "strip_accents": self.strip_accents,
                "tokenize_chinese_chars": self.tokenize_chinese_chars,
                "backend": self.backend,
                "max_input_chars_per_word": self.max_input_chars_per_word,
                "unk_token": self.unk_token,
                "cls_token": self.cls_token,
                "sep_token": self.sep_token,
                "pad_token": self.pad_token,
                "mask_token": self.mask_token,
            }
        )
        config.pop("trainable", None)
        return config


class _CoreGraphs:
    """The core backend's tokenizing and WordPiece steps as `tf.function`s on (batch,) strings:
    traced once, then called (one op) wherever the tokenizer runs, so an export that tokenizes in
    several places holds their graph once (smaller, faster to build and load). Not tracked: a
    SavedModel keeps them as library functions of the signatures that call them."""

    def __init__(self, tokenize, wordpiece: CoreWordPiece):
        spec = [tf.TensorSpec([None], tf.string)]
        self.tokenize = tf.function(tokenize, input_signature=spec, autograph=False)
        self.pieces = tf.function(wordpiece.tokenize_with_offsets, input_signature=spec, autograph=False)


def _raw_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def _utf8_length(cp: tf.Tensor) -> tf.Tensor:
    """int32 code points -> int64 UTF-8 byte lengths."""
    thresholds = [0x80, 0x800, 0x10000]
    return 1 + tf.add_n([tf.cast(cp >= t, tf.int64) for t in thresholds])


def _as_batch(inputs) -> tuple[tf.Tensor, bool]:
    x = tf.convert_to_tensor(inputs, dtype=tf.string)
    if x.shape.rank == 0:
        return x[tf.newaxis], True
    if x.shape.rank != 1:
        raise ValueError(
            f"WordPieceTokenizer expects a tf.string tensor of shape (batch,), got {x.shape}."
        )
    return x, False
