"""Shared plumbing for task preprocessors: the tokenizer and the `[CLS] ... [SEP]` packer."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keras_bert.preprocessing.segment_packer import SegmentPacker
    from keras_bert.tokenizers import WordPieceTokenizer


class PackingPreprocessor:
    """Base of preprocessors that tokenize and pack into sequences of `sequence_length` tokens.

    Args:
        tokenizer: a `WordPieceTokenizer`.
        sequence_length: T, tokens per packed sequence.
        packer: a `SegmentPacker`; built from the tokenizer's special ids if None.
    """

    def __init__(
        self,
        tokenizer: WordPieceTokenizer,
        sequence_length: int = 128,
        packer: SegmentPacker | None = None,
    ):
        if packer is None:
            from keras_bert.preprocessing import SegmentPacker

            packer = SegmentPacker(
                sequence_length,
                start_value=tokenizer.cls_token_id,
                end_value=tokenizer.sep_token_id,
                pad_value=tokenizer.pad_token_id,
            )
        self.tokenizer = tokenizer
        self.packer = packer
        self.sequence_length = sequence_length
