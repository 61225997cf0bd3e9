"""Bindings between our variables and canonical (Hugging Face BertModel-style) tensor names.

Canonical names are Hugging Face's without the `bert.` prefix (`embeddings.word_embeddings.weight`,
`encoder.layer.0.attention.self.query.weight`, ...) plus `cls.*` for the pretraining heads and the
task heads under Hugging Face's names (`classifier.*` for sequence and token classification,
`qa_outputs.*` for span QA); arrays are in Hugging Face orientation (dense weights are (out, in)). Every importer translates its format
into this one dict, so validation and assignment live here once.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)


class WeightMismatchError(ValueError):
    """A checkpoint does not fit the model: names every missing or mis-shaped tensor."""


@dataclass(frozen=True)
class Binding:
    """One canonical tensor <-> (a column slice of) one of our variables."""

    name: str
    variable: object  # keras.Variable
    transpose: bool = False  # canonical is (out, in), ours (in, out)
    columns: tuple[int, int] | None = None  # slice of our last axis (fused QKV)

    def read(self) -> np.ndarray:
        value = np.asarray(self.variable.numpy(), dtype=np.float32)
        if self.columns is not None:
            value = value[..., self.columns[0] : self.columns[1]]
        return value.T if self.transpose else value

    def expected_shape(self) -> tuple[int, ...]:
        shape = list(self.variable.shape)
        if self.columns is not None:
            shape[-1] = self.columns[1] - self.columns[0]
        return tuple(reversed(shape)) if self.transpose else tuple(shape)


def _dense(name: str, layer) -> list[Binding]:
    return [Binding(f"{name}.weight", layer.kernel, True), Binding(f"{name}.bias", layer.bias)]


def _layer_norm(name: str, layer) -> list[Binding]:
    return [Binding(f"{name}.weight", layer.gamma), Binding(f"{name}.bias", layer.beta)]


def backbone_bindings(backbone) -> list[Binding]:
    """Bindings for every variable of a `BertBackbone`."""
    hidden = backbone.hidden_dim
    bindings = [
        Binding("embeddings.word_embeddings.weight", backbone.token_embedding.embeddings),
        Binding("embeddings.position_embeddings.weight", backbone.position_embedding.embeddings),
        Binding("embeddings.token_type_embeddings.weight", backbone.segment_embedding.embeddings),
        *_layer_norm("embeddings.LayerNorm", backbone.embeddings_layer_norm),
    ]
    for i, block in enumerate(backbone.transformer_layers):
        prefix = f"encoder.layer.{i}"
        for j, part in enumerate(("query", "key", "value")):
            columns = (j * hidden, (j + 1) * hidden)
            name = f"{prefix}.attention.self.{part}"
            bindings.append(Binding(f"{name}.weight", block.qkv.kernel, True, columns))
            bindings.append(Binding(f"{name}.bias", block.qkv.bias, False, columns))
        bindings += _dense(f"{prefix}.attention.output.dense", block.attention_output)
        bindings += _layer_norm(f"{prefix}.attention.output.LayerNorm", block.attention_layer_norm)
        bindings += _dense(f"{prefix}.intermediate.dense", block.intermediate)
        bindings += _dense(f"{prefix}.output.dense", block.output_dense)
        bindings += _layer_norm(f"{prefix}.output.LayerNorm", block.output_layer_norm)
    bindings += _dense("pooler.dense", backbone.pooler)
    return bindings


def pretrainer_bindings(pretrainer) -> list[Binding]:
    """Bindings for a `BertPretrainer`: the backbone plus `cls.predictions.*`, `cls.seq_relationship.*`."""
    head = pretrainer.mlm_head
    return [
        *backbone_bindings(pretrainer.backbone),
        *_dense("cls.predictions.transform.dense", head.transform),
        *_layer_norm("cls.predictions.transform.LayerNorm", head.layer_norm),
        Binding("cls.predictions.bias", head.bias),
        *_dense("cls.seq_relationship", pretrainer.nsp_head),
    ]


# Task head layer (ours) -> canonical (Hugging Face) head name.
TASK_HEADS = {"logits": "classifier", "span_logits": "qa_outputs"}
POOLER = ("pooler.dense.weight", "pooler.dense.bias")
NSP_HEAD = ("cls.seq_relationship.weight", "cls.seq_relationship.bias")


def task_head_bindings(model) -> list[Binding]:
    """Bindings of a task model's own head (`logits` of BertClassifier / BertTokenTagger,
    `span_logits` of BertSpanQA: column 0 start, 1 end, as Hugging Face's `qa_outputs`); none for a
    model without a head (BertTextEmbedder)."""
    for layer_name, canonical in TASK_HEADS.items():
        try:
            layer = model.get_layer(layer_name)
        except ValueError:
            continue
        return _dense(canonical, layer)
    return []


def model_bindings(model) -> list[Binding]:
    """Bindings for a backbone, a pretrainer or a task model with a dense head."""
    if hasattr(model, "mlm_head"):
        return pretrainer_bindings(model)
    if hasattr(model, "backbone"):  # BertClassifier, BertTokenTagger, BertSpanQA, BertTextEmbedder
        return [*backbone_bindings(model.backbone), *task_head_bindings(model)]
    return backbone_bindings(model)


def read_state(bindings: list[Binding]) -> dict[str, np.ndarray]:
    """Our weights as a canonical state dict."""
    return {binding.name: binding.read() for binding in bindings}


def assign_state(
    bindings: list[Binding],
    state: dict[str, np.ndarray],
    source: str = "checkpoint",
    optional: tuple[str, ...] = (),
) -> list[str]:
    """Checks that `state` covers every binding with the right shape, then assigns all of it.

    Nothing is assigned unless everything fits. Returns the names in `state` that were not used.
    Names in `optional` may be missing (those variables keep their initial values: Hugging Face's
    token-classification, QA and masked-LM models have no pooler, masked-LM no NSP head).

    Raises:
        WeightMismatchError: naming each missing tensor and each shape mismatch (both shapes).
    """
    bindings = [b for b in bindings if b.name in state or b.name not in optional]
    problems = []
    for binding in bindings:
        if binding.name not in state:
            problems.append(f"missing tensor {binding.name!r} (model expects {binding.expected_shape()})")
            continue
        got = tuple(np.shape(state[binding.name]))
        if got != binding.expected_shape():
            problems.append(
                f"tensor {binding.name!r} has shape {got} in the {source}, "
                f"but the model expects {binding.expected_shape()}"
            )
    if problems:
        raise WeightMismatchError(
            f"{source} does not match the model ({len(problems)} problem(s)); nothing was loaded:\n  "
            + "\n  ".join(problems)
        )

    grouped = defaultdict(list)
    for binding in bindings:
        grouped[id(binding.variable)].append(binding)
    for group in grouped.values():
        variable = group[0].variable
        value = np.array(variable.numpy(), dtype=np.float32)
        for binding in group:
            tensor = np.asarray(state[binding.name], dtype=np.float32)
            tensor = tensor.T if binding.transpose else tensor
            if binding.columns is None:
                value = tensor
            else:
                value[..., binding.columns[0] : binding.columns[1]] = tensor
        variable.assign(value.astype(variable.dtype))
    used = {binding.name for binding in bindings}
    unused = sorted(set(state) - used)
    if unused:
        logger.info("Ignored %d tensor(s) not used by the model: %s", len(unused), unused[:8])
    return unused
