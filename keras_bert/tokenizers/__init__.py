"""Tokenizers: in-graph WordPiece with google-research/bert parity, vocabulary building."""

from keras_bert.tokenizers.vocab_io import read_vocabulary, write_vocabulary
from keras_bert.tokenizers.vocabulary import build_vocabulary
from keras_bert.tokenizers.wordpiece_tokenizer import WordPieceTokenizer

__all__ = ["WordPieceTokenizer", "build_vocabulary", "read_vocabulary", "write_vocabulary"]
