"""keras-bert: BERT in Keras 3, from raw text to a TF Serving endpoint."""

from keras_bert.models import BertBackbone, BertPretrainer
from keras_bert.presets import PRESETS, minilm_dir

__version__ = "0.1.0"

__all__ = ["PRESETS", "BertBackbone", "BertPretrainer", "minilm_dir"]
