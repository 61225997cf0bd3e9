"""Preprocessing layers for `tf.data.map` and serving graphs."""

from keras_bert.preprocessing.mlm_masker import MlmMasker as MlmMasker
from keras_bert.preprocessing.segment_packer import SegmentPacker

__all__ = ["SegmentPacker"]
