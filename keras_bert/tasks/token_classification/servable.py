"""Token-classification (NER) servable: text -> entities padded to a fixed maximum."""

from __future__ import annotations

import tensorflow as tf

from keras_bert.export.servable import ServableModule
from keras_bert.preprocessing.ner_postprocessing import continuation_table, decode_entities
from keras_bert.preprocessing.ner_preprocessor import text_inputs


class TokenClassificationServable(ServableModule):
    """`serving_default(text)` -> `entity_text`, `entity_label` string, `entity_start`,
    `entity_end` int32 (character offsets), `entity_score` float32, each (B, max_entities),
    padding "" / -1. Token-id signatures return `tag_ids` int32, `tags` string, `tag_scores`
    float32, each (B, T).

    Args:
        model: a `BertTokenTagger` (logits (B, T, C)).
        preprocessor: the training `NerPreprocessor` (tokenizer, packer, sequence length).
        label_names: the C tag names (BIO).
        max_entities: entities kept per text.
    """

    task = "token-classification"

    def __init__(self, model, preprocessor, label_names, max_entities: int = 16,
                 chunk_size: int | None = None):
        super().__init__(model, preprocessor, chunk_size)
        self.label_list = list(label_names)
        self.tag_names = tf.Variable(self.label_list, trainable=False, name="tag_names")
        self.max_entities = int(max_entities)
        self.continuation = tf.Variable(
            continuation_table(preprocessor.tokenizer.vocabulary), trainable=False, name="continuation"
        )

    def _logits(self, inputs) -> tf.Tensor:
        return tf.cast(self.run_model(inputs), tf.float32)  # (B, T, C)

    def from_tokens(self, inputs):
        probs = tf.nn.softmax(self._logits(inputs), axis=-1)
        tag_ids = tf.argmax(probs, axis=-1, output_type=tf.int32)
        return {
            "tag_ids": tag_ids,
            "tags": tf.gather(self.tag_names, tag_ids),
            "tag_scores": tf.reduce_max(probs, axis=-1),
        }

    def from_text(self, text):
        rows = text_inputs(self.preprocessor, text)  # cut first: offsets into the cut = into text
        rows["text"] = text
        return self.map_chunks(self._entities, rows)

    def _entities(self, rows):
        return decode_entities(
            rows["text"],
            self._logits(rows),
            rows["token_ids"],
            rows["token_start"],
            rows["token_end"],
            self.label_list,
            tf.convert_to_tensor(self.continuation),
            max_entities=self.max_entities,
        )
