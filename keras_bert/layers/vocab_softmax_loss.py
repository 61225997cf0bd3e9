"""Cross-entropy over a tied output vocabulary, without materialising the logits more than once.

The MLM loss `mean_w(logsumexp(x E^T + b) - (x E^T + b)[label])` over a 30k vocabulary is
memory-bound on CPU when written the usual way: the (N, V) logits are written by the matmul, then read and
rewritten by the bias add, the max, the exp-sum, the softmax gradient, both gradient matmuls and
the bias gradient, each a pass over DRAM (640 x 30522 fp32 = 78 MB in a BERT-base-style batch).
Here the vocabulary is taken in chunks: each chunk's raw scores stay in cache while they are
reduced (online log-sum-exp), and in a second sweep each chunk's softmax gradient is formed and
consumed by both gradient matmuls while it is still in cache. The gradients are computed in the
forward pass (the loss is a scalar, so the backward pass only scales them by the upstream
gradient); when no gradient is asked for, the compiler drops that work.
"""

from __future__ import annotations

from keras import ops

DEFAULT_CHUNK = 4096


def _chunks(vocabulary_size: int, chunk_size: int) -> list[tuple[int, int]]:
    return [
        (start, min(start + chunk_size, vocabulary_size))
        for start in range(0, vocabulary_size, chunk_size)
    ]


def vocab_softmax_cross_entropy(
    features, embeddings, bias, labels, weights, chunk_size: int = DEFAULT_CHUNK
):
    """Weighted-mean softmax cross-entropy of logits `features @ embeddings.T + bias`.

    Same value as Keras' `SparseCategoricalCrossentropy(from_logits=True,
    reduction="mean_with_sample_weight")` on those logits, and top-1 correctness as
    `SparseTop1Accuracy` scores it (the label's logit equals the row maximum), from one set of
    chunked passes.

    The matmuls run in the features' dtype (bfloat16 under `mixed_bfloat16`), the softmax in
    float32. float16 features are scored in float32: the gradients are formed before the loss
    scale is known, and float16 would underflow them.

    Args:
        features: (N, H) float rows to score.
        embeddings: (V, H) output embedding (tied with the input embedding).
        bias: (V,) output bias.
        labels: (N,) int label ids in [0, V); any other id in a row of nonzero weight makes the
            loss NaN (rows of weight 0 are ignored whatever their label, e.g. -100).
        weights: (N,) float weights (0 for padded prediction slots).
        chunk_size: vocabulary entries per chunk.

    Returns:
        loss: () float32, sum(weights * per-row loss) / sum(weights) (0 when all weights are 0).
        correct: (N,) float32, 1.0 where the label's logit is the row maximum. Not differentiable.
    """
    labels = ops.cast(labels, "int32")
    weights = ops.cast(weights, "float32")
    vocabulary_size = int(embeddings.shape[0])
    spans = _chunks(vocabulary_size, int(chunk_size))
    dtype = "float32" if features.dtype == "float16" else features.dtype
    # Tensors, not variables, go into the custom gradient (it differentiates its arguments).
    features, embeddings = ops.cast(features, dtype), ops.cast(embeddings, dtype)
    bias = ops.cast(bias, "float32")

    def forward(features, embeddings, bias):
        # Sweep 1: raw scores per chunk, online log-sum-exp, the label's logit and the row max.
        scores, row_max, row_sum, label_logit = [], None, None, ops.zeros_like(weights)
        for start, stop in spans:
            product = ops.matmul(features, ops.transpose(embeddings[start:stop]))  # (N, chunk)
            logits = ops.cast(product, "float32") + bias[start:stop]
            scores.append(logits)
            chunk_max = ops.max(logits, axis=-1)
            new_max = chunk_max if row_max is None else ops.maximum(row_max, chunk_max)
            chunk_sum = ops.sum(ops.exp(logits - new_max[:, None]), axis=-1)
            if row_sum is not None:
                chunk_sum = chunk_sum + row_sum * ops.exp(row_max - new_max)
            row_sum = chunk_sum
            row_max = new_max
            local = labels - start
            inside = ops.logical_and(local >= 0, local < stop - start)
            index = ops.clip(local, 0, stop - start - 1)[:, None]
            picked = ops.take_along_axis(logits, index, axis=-1)[:, 0]
            label_logit = label_logit + ops.where(inside, picked, 0.0)
        log_normaliser = row_max + ops.log(row_sum)  # (N,)
        total_weight = ops.sum(weights)
        scale = weights / ops.maximum(total_weight, 1e-12)  # (N,) d loss / d per-row loss
        # A weighted label outside [0, V) (ids from another vocabulary) makes the loss NaN, as
        # Keras' loss does under XLA, rather than a finite loss with no label term.
        in_vocabulary = ops.logical_and(labels >= 0, labels < vocabulary_size)
        row_loss = ops.where(in_vocabulary, log_normaliser - label_logit, float("nan"))
        loss = ops.sum(ops.where(scale != 0, scale * row_loss, 0.0))
        correct = ops.cast(label_logit >= row_max, "float32")

        # Sweep 2: softmax gradient per chunk, consumed by both gradient matmuls while in cache.
        d_features, d_embeddings, d_bias = None, [], []
        for (start, stop), logits in zip(spans, scores, strict=True):
            columns = ops.arange(stop - start, dtype="int32")[None, :]
            onehot = ops.cast(ops.equal(labels[:, None] - start, columns), "float32")
            d_logits = (ops.exp(logits - log_normaliser[:, None]) - onehot) * scale[:, None]
            d_bias.append(ops.sum(d_logits, axis=0))
            d_logits = ops.cast(d_logits, dtype)
            part = ops.matmul(d_logits, embeddings[start:stop])  # (N, H)
            d_features = part if d_features is None else d_features + part
            d_embeddings.append(ops.matmul(ops.transpose(d_logits), features))  # (chunk, H)
        d_embeddings = ops.concatenate(d_embeddings, axis=0)
        d_bias = ops.concatenate(d_bias, axis=0)

        def grad(*args, upstream=None):
            if upstream is None:
                upstream = args[0]
            if isinstance(upstream, (tuple, list)):  # JAX passes the cotangents as one tuple
                upstream = upstream[0]
            upstream = ops.cast(upstream, "float32")
            return (
                ops.cast(upstream, dtype) * d_features,
                ops.cast(upstream, dtype) * d_embeddings,
                upstream * d_bias,
            )

        return (loss, correct), grad

    return ops.custom_gradient(forward)(features, embeddings, bias)
