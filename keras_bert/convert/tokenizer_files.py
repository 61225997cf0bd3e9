"""The tokenizer half of a checkpoint folder: read its settings, write Hugging Face's files.

Reading: Hugging Face folders keep the vocabulary in `vocab.txt` (or only in `tokenizer.json`) and
the casing in `tokenizer_config.json` (`do_lower_case`, `strip_accents`, `tokenize_chinese_chars`,
special tokens, `model_max_length`); original google-research/bert folders ship `vocab.txt` only,
and whether a model is cased is a property of its vocabulary (cased vocabularies hold capitals).
Writing: `vocab.txt`, `tokenizer_config.json` and `special_tokens_map.json` that `AutoTokenizer`
loads as a `BertTokenizerFast` tokenizing as ours does.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
from pathlib import Path

from keras_bert.convert.integrity import write_atomically
from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

SPECIAL_TOKENS = ("unk_token", "sep_token", "pad_token", "cls_token", "mask_token")
# Hugging Face's "no limit" model_max_length (int(1e30)) and similar placeholders.
_NO_LIMIT = 1_000_000


@dataclasses.dataclass(frozen=True)
class TokenizerSettings:
    """What a checkpoint folder says about its tokenizer.

    Attributes:
        vocabulary: the tokens (index = id).
        lowercase: `do_lower_case`.
        strip_accents: None (follows `lowercase`, Hugging Face's and our default) or a bool.
        tokenize_chinese_chars: spaces around CJK characters.
        special_tokens: `unk_token`, ... -> the token text.
        model_max_length: the tokenizer's length limit (None when the folder gives none).
        source: where the casing came from, for the one-line summary.
    """

    vocabulary: list[str]
    lowercase: bool
    strip_accents: bool | None = None
    tokenize_chinese_chars: bool = True
    special_tokens: dict[str, str] = dataclasses.field(default_factory=dict)
    model_max_length: int | None = None
    source: str = ""

    def tokenizer(self) -> WordPieceTokenizer:
        """A `WordPieceTokenizer` with these settings; ValueError (one line) for a setting ours
        cannot honour."""
        options = {"lowercase": self.lowercase, **self.special_tokens}
        accepted = inspect.signature(WordPieceTokenizer).parameters
        for name, value, default in (("strip_accents", self.strip_accents, None),
                                     ("tokenize_chinese_chars", self.tokenize_chinese_chars, True)):
            if name in accepted:
                options[name] = value
            elif value != default and not (name == "strip_accents" and value == self.lowercase):
                raise ValueError(f"the checkpoint's tokenizer sets {name}={value}, which this "
                                 "WordPieceTokenizer cannot do")
        return WordPieceTokenizer(self.vocabulary, **options)

    def describe(self) -> str:
        casing = "uncased" if self.lowercase else "cased"
        extra = []
        if self.strip_accents is not None and self.strip_accents != self.lowercase:
            extra.append(f"strip_accents={self.strip_accents}")
        if not self.tokenize_chinese_chars:
            extra.append("tokenize_chinese_chars=False")
        more = f", {', '.join(extra)}" if extra else ""
        return f"{casing} ({self.source}{more}), {len(self.vocabulary)} tokens"


def _read_json(path: Path) -> dict:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise ValueError(f"{path}: not a valid JSON file ({error})") from error
    if not isinstance(value, dict):
        raise ValueError(f"{path}: a JSON {type(value).__name__}, not an object")
    return value


def _special_token(value) -> str | None:
    """A special token as tokenizer_config.json writes it: a string or an AddedToken dict."""
    if isinstance(value, dict):
        value = value.get("content")
    return value if isinstance(value, str) else None


def vocabulary_is_cased(vocabulary: list[str]) -> bool:
    """Whether a vocabulary holds upper-case word pieces (google-research/bert's cased models do,
    uncased ones were built from lower-cased text); special tokens like `[CLS]` do not count."""
    return any(t.lower() != t for t in vocabulary if not (t.startswith("[") and t.endswith("]")))


def read_tokenizer_settings(folder: str | os.PathLike, format: str = "hf") -> TokenizerSettings:
    """The tokenizer of a Hugging Face (`format="hf"`) or google-research/bert (`"tf1"`) folder."""
    folder = Path(folder)
    if not folder.is_dir():
        folder = folder.parent  # a TF1 checkpoint prefix
    config_path, fast_path = folder / "tokenizer_config.json", folder / "tokenizer.json"
    config = _read_json(config_path) if config_path.is_file() else {}
    fast = _read_json(fast_path) if fast_path.is_file() else {}
    if (folder / "vocab.txt").is_file():
        from keras_bert.tokenizers.vocab_io import read_vocabulary

        vocabulary = read_vocabulary(str(folder / "vocab.txt"))
    elif isinstance(fast.get("model", {}).get("vocab"), dict):
        if fast["model"].get("type") not in (None, "WordPiece"):
            raise ValueError(f"{fast_path}: a {fast['model'].get('type')} tokenizer, not WordPiece")
        by_id = sorted(fast["model"]["vocab"].items(), key=lambda item: item[1])
        vocabulary = [token for token, _ in by_id]
    else:
        raise FileNotFoundError(f"{folder} has no vocab.txt (nor a WordPiece tokenizer.json)")
    if config.get("tokenizer_class") not in (None, "BertTokenizer", "BertTokenizerFast"):
        raise ValueError(f"{config_path}: tokenizer_class {config['tokenizer_class']!r} is not "
                         "BERT's WordPiece tokenizer")
    normalizer = fast.get("normalizer") or {}
    if config or normalizer.get("type") == "BertNormalizer":
        # tokenizer_config.json first; tokenizer.json's normalizer otherwise; BertTokenizer's defaults.
        source_keys = {"do_lower_case": "lowercase", "strip_accents": "strip_accents",
                       "tokenize_chinese_chars": "handle_chinese_chars"}
        settings = {}
        for ours, theirs in source_keys.items():
            if ours in config:
                settings[ours] = config[ours]
            elif theirs in normalizer:
                settings[ours] = normalizer[theirs]
        lowercase = bool(settings.get("do_lower_case", True))
        strip_accents = settings.get("strip_accents")
        chinese = bool(settings.get("tokenize_chinese_chars", True))
        source = "do_lower_case in tokenizer_config.json" if "do_lower_case" in config else (
            "tokenizer.json" if "do_lower_case" in settings else "BertTokenizer's default")
        if config.get("do_basic_tokenize") is False:
            raise ValueError(f"{config_path}: do_basic_tokenize=False is not supported (ours always "
                             "splits on whitespace and punctuation first)")
    else:
        lowercase = not vocabulary_is_cased(vocabulary)
        strip_accents, chinese = None, True
        source = "from the vocabulary" if format == "tf1" else "no tokenizer_config.json: from the vocabulary"
    special = {}
    special_map = folder / "special_tokens_map.json"
    specials = {**(_read_json(special_map) if special_map.is_file() else {}), **config}
    for key in SPECIAL_TOKENS:
        token = _special_token(specials.get(key))
        if token is not None:
            special[key] = token
    max_length = config.get("model_max_length")
    max_length = int(max_length) if isinstance(max_length, int | float) and 0 < max_length < _NO_LIMIT else None
    return TokenizerSettings(vocabulary, lowercase, None if strip_accents is None else bool(strip_accents),
                             chinese, special, max_length, source)


def write_tokenizer_files(tokenizer, folder: str | os.PathLike, model_max_length: int | None = None) -> None:
    """`vocab.txt`, `tokenizer_config.json` and `special_tokens_map.json` for `tokenizer` (a
    `WordPieceTokenizer`): what `AutoTokenizer.from_pretrained(folder)` reads."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_text = "".join(f"{token}\n" for token in tokenizer.vocabulary).encode("utf-8")
    write_atomically(folder / "vocab.txt", lambda f: f.write(vocab_text))
    special = {key: getattr(tokenizer, key) for key in SPECIAL_TOKENS}
    config = {
        "tokenizer_class": "BertTokenizer",
        "do_lower_case": tokenizer.lowercase,
        "strip_accents": getattr(tokenizer, "strip_accents", None),
        "tokenize_chinese_chars": getattr(tokenizer, "tokenize_chinese_chars", True),
        "do_basic_tokenize": True,
        "never_split": None,
        **special,
        "clean_up_tokenization_spaces": False,
    }
    if model_max_length:
        config["model_max_length"] = int(model_max_length)
    for name, value in (("tokenizer_config.json", config), ("special_tokens_map.json", special)):
        text = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        write_atomically(folder / name, lambda f, text=text: f.write(text))
