"""Keras 3 layers (math in keras.ops): embeddings, encoder block, heads."""

from keras_bert.layers.activations import get_activation
from keras_bert.layers.gather_positions import gather_positions
from keras_bert.layers.hash_dropout import HashDropout
from keras_bert.layers.masked_lm_head import MaskedLMHead
from keras_bert.layers.position_embedding import PositionEmbedding
from keras_bert.layers.transformer_encoder_block import TransformerEncoderBlock

__all__ = [
    "HashDropout",
    "MaskedLMHead",
    "PositionEmbedding",
    "TransformerEncoderBlock",
    "gather_positions",
    "get_activation",
]
