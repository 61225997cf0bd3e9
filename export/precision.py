"""Serving precision: a copy of a task model whose backbone stores its weights in bfloat16.

At batch 1 a MiniLM request is bound by streaming the weights from memory (about 42 MB in fp32 per
request); bf16-stored weights halve that. A `mixed_bfloat16` model does not help here: it keeps
fp32 variables and casts every one of them on every request. LayerNorm and the attention softmax
still compute in fp32 (Keras' `layer_normalization`, our attention block), heads stay float32.
"""

from __future__ import annotations

SERVING_DTYPES = ("float32", "bfloat16")


def with_backbone_dtype(model, dtype: str):
    """`model` itself for "float32"; else a copy whose backbone uses the dtype policy `dtype`.

    Works for task models holding a `backbone` (classifier, tagger, span QA, pretrainer) and for a
    bare `BertBackbone`. The copy has the same weights, cast to the policy's variable dtype.
    """
    if dtype not in SERVING_DTYPES:
        raise ValueError(f"serving dtype must be one of {SERVING_DTYPES}, got {dtype!r}")
    if dtype == "float32":
        return model
    config = model.get_config()
    target = config["backbone"]["config"] if "backbone" in config else config
    target["dtype"] = dtype
    preprocessor = getattr(model, "preprocessor", None)
    config.pop("preprocessor", None)  # the same object is kept (its vocabulary is not in config)
    copy = model.__class__.from_config(config)
    if preprocessor is not None:
        copy.preprocessor = preprocessor
    weights = model.get_weights()
    if len(copy.weights) != len(weights):
        raise ValueError(f"{type(model).__name__}: the {dtype} copy has {len(copy.weights)} weights, "
                         f"the model {len(weights)}")
    copy.set_weights(weights)
    return copy
