"""The bundled corpus: present, real, in the pretraining format, held-out text kept apart."""

from __future__ import annotations

import os

from keras_bert.data.corpus import bundled_corpus_files, heldout_corpus_files, read_documents


def test_bundled_corpus_size_and_format():
    files = bundled_corpus_files()
    assert len(files) == 3 and all(os.path.isfile(f) for f in files)
    total = sum(os.path.getsize(f) for f in files)
    assert 1_000_000 < total < 2_000_000  # ~1.6 MB of text
    documents = list(read_documents(files))
    assert len(documents) == 116  # chapters: 61 + 24 + 31
    sentences = [s for d in documents for s in d]
    assert len(sentences) > 12_000 and all(s == s.strip() and s for s in sentences)
    assert documents[0][0].startswith("It is a truth universally acknowledged")
    text = " ".join(sentences)
    assert "Gutenberg" not in text and "CHAPTER" not in text  # licence text and headings stripped


def test_read_documents_splits_on_blank_lines_and_files(tmp_path):
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("one.\ntwo.\n\n\nthree.\n")
    b.write_text("\nfour.\n")
    assert list(read_documents([str(a), str(b)])) == [["one.", "two."], ["three."], ["four."]]


def test_heldout_text_is_not_in_training_files():
    heldout = [s for d in read_documents(heldout_corpus_files()) for s in d]
    assert len(heldout) > 200
    training = {s for d in read_documents(bundled_corpus_files()) for s in d}
    long_heldout = [s for s in heldout if len(s) > 60]
    assert long_heldout and not training.intersection(long_heldout)
