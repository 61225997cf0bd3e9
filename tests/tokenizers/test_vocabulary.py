"""Vocabulary building: specials first, few [UNK] on its own corpus, clear errors, the CLI."""

from __future__ import annotations

import logging

import pytest
import tensorflow as tf

from keras_bert.tokenizers import WordPieceTokenizer, build_vocabulary, read_vocabulary

TEXT = (
    """The quick brown fox jumps over the lazy dog. Café au lait, s'il vous plaît!

Emma Woodhouse, handsome, clever, and rich, with a comfortable home and happy disposition,
seemed to unite some of the best blessings of existence; 中文 text and ＦＵＬＬ width.
She was the youngest of the two daughters of a most affectionate, indulgent father.
"""
    * 3
)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    path.write_text(TEXT, encoding="utf-8")
    return path


def test_built_vocabulary_has_specials_first_and_covers_its_corpus(corpus, caplog):
    with caplog.at_level(logging.INFO, logger="keras_bert"):
        vocab = build_vocabulary([corpus], size=300)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert len(vocab) <= 300 and len(set(vocab)) == len(vocab)
    assert any(t.startswith("##") for t in vocab)
    assert "the" in vocab and "中" in vocab
    assert all(t == t.lower() for t in vocab[5:]) and "é" not in vocab  # uncased: no accents
    assert any("counted" in r.getMessage() for r in caplog.records)  # progress is logged
    tokenizer = WordPieceTokenizer(vocab)
    ids = tokenizer(tf.constant(TEXT.splitlines())).flat_values.numpy()
    assert (tokenizer.cls_token_id, tokenizer.mask_token_id) == (2, 4)
    assert ids.size > 100 and (ids == tokenizer.unk_token_id).mean() < 0.01


def test_empty_corpus_and_missing_file_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n  \n\n", encoding="utf-8")
    with pytest.raises(ValueError, match="corpus is empty"):
        build_vocabulary([empty], size=100)
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        build_vocabulary([tmp_path / "nope.txt"], size=100)


def test_cli_writes_vocab_and_reports_empty_corpus(corpus, tmp_path, capsys, caplog):
    import ast
    import inspect

    from keras_bert.cli import main
    from keras_bert.commands import vocab as command

    top_level = ast.parse(inspect.getsource(command)).body
    imported = [a.name for n in top_level if isinstance(n, ast.Import) for a in n.names]
    imported += [n.module for n in top_level if isinstance(n, ast.ImportFrom)]
    assert not [m for m in imported if m and m.startswith(("tensorflow", "keras_bert"))]
    out = tmp_path / "vocab.txt"
    with caplog.at_level(logging.INFO, logger="keras_bert"):
        assert main(["vocab", "--corpus", str(corpus), "--size", "200", "--out", str(out)]) == 0
    assert "Wrote" in capsys.readouterr().out and any(
        "lines" in r.getMessage() for r in caplog.records
    )
    assert read_vocabulary(out)[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    empty = tmp_path / "empty.txt"
    empty.write_text("", encoding="utf-8")
    assert main(["vocab", "--corpus", str(empty), "--size", "200", "--out", str(out)]) == 2
    assert "corpus is empty" in capsys.readouterr().err
