"""Fine-tuned checkpoints <-> task models with their preprocessor.

Import: a Hugging Face `BertFor{SequenceClassification, TokenClassification, QuestionAnswering,
MaskedLM, PreTraining}` folder or a google-research/bert fine-tuned TF1 checkpoint (run_classifier's
`output_weights`/`output_bias`, run_squad's `cls/squad/output_*`, or the pretraining heads) becomes
our task model (`BertClassifier`, `BertTokenTagger`, `BertSpanQA`, `BertPretrainer`) carrying the
preprocessor the checkpoint implies: its vocabulary and casing (`tokenizer_files`), label names
(`id2label`), a sequence length (the tokenizer's `model_max_length`, else the position table, for
QA at most 384 as the pipeline), and for QA whose post-processing: a Hugging Face folder keeps the
pipeline's ("hf-pipeline"), a TF1 checkpoint the original's.
Export (the other way) is `hf_checkpoint.save_hf`.
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from keras_bert.bio_tags import split_tag
from keras_bert.convert.hf_checkpoint import backbone_kwargs_from_hf_config, read_hf_folder
from keras_bert.convert.tf1_checkpoint import read_tf1_checkpoint
from keras_bert.convert.tokenizer_files import TokenizerSettings, read_tokenizer_settings
from keras_bert.convert.weight_map import (
    NSP_HEAD,
    POOLER,
    WeightMismatchError,
    assign_state,
    model_bindings,
)

# Hugging Face architecture -> our task name.
ARCHITECTURE_TASKS = {
    "BertForSequenceClassification": "classification",
    "BertForTokenClassification": "token-classification",
    "BertForQuestionAnswering": "question-answering",
    "BertForMaskedLM": "fill-mask",
    "BertForPreTraining": "fill-mask",
}
TASKS = ("classification", "token-classification", "question-answering", "fill-mask")
# Tokens per example when the checkpoint says nothing (google-research/bert's script defaults).
DEFAULT_SEQUENCE_LENGTH = {"classification": 128, "token-classification": 128,
                           "question-answering": 384, "fill-mask": 128}
QA_PIPELINE_MAX_LENGTH = 384  # the QA pipeline's max_seq_len: min(model_max_length, 384)
QA_PIPELINE_DOC_STRIDE = 128  # the QA pipeline's doc_stride: min(max_seq_len // 2, 128)


@dataclasses.dataclass
class FoundTask:
    """What a checkpoint holds, for the one line `keras-bert convert` prints.

    Attributes:
        task: our task name, or None for a bare encoder.
        architecture: the Hugging Face class (or the google-research script) it corresponds to.
        evidence: how it was found (`architectures` in config.json, or the head tensors).
        detail: labels, regression, ... filled in when the model is built.
    """

    task: str | None
    architecture: str
    evidence: str
    detail: list[str] = dataclasses.field(default_factory=list)

    def describe(self) -> str:
        task = self.task or "encoder only (no task head)"
        extra = f"; {'; '.join(self.detail)}" if self.detail else ""
        return f"found {self.architecture} ({self.evidence}): {task}{extra}"


def read_raw_checkpoint(path: str | os.PathLike, format: str) -> tuple[dict, dict[str, np.ndarray]]:
    """(config, canonical state) of a Hugging Face folder or TF1 checkpoint."""
    if format == "hf":
        return read_hf_folder(path)
    if format == "tf1":
        return read_tf1_checkpoint(path)
    raise ValueError(f"a task checkpoint is a Hugging Face folder or a TF1 checkpoint, not {format!r}")


def detect_task(config: dict, state: dict[str, np.ndarray], format: str) -> FoundTask:
    """The task a checkpoint was fine-tuned for: from `architectures` (Hugging Face), else from the
    head tensors present."""
    architectures = config.get("architectures") or []
    if format == "hf" and architectures:
        name = architectures[0]
        if name in ARCHITECTURE_TASKS:
            return FoundTask(ARCHITECTURE_TASKS[name], name, "architectures in config.json")
        if name == "BertModel":
            return FoundTask(None, name, "architectures in config.json")
        raise ValueError(f"architectures {architectures} in config.json: not a BERT model this package "
                         f"imports (known: BertModel, {', '.join(ARCHITECTURE_TASKS)})")
    script = format == "tf1"
    if "qa_outputs.weight" in state:
        return FoundTask("question-answering", "run_squad.py" if script else "BertForQuestionAnswering",
                         "head tensors cls/squad/output_*" if script else "head tensors qa_outputs.*")
    if "classifier.weight" in state:
        if script:
            return FoundTask("classification", "run_classifier.py", "head tensors output_weights/output_bias")
        # Hugging Face's token classifier has no pooler; its sequence classifier needs one.
        if "pooler.dense.weight" in state:
            return FoundTask("classification", "BertForSequenceClassification",
                             "head tensors classifier.* with a pooler")
        return FoundTask("token-classification", "BertForTokenClassification",
                         "head tensors classifier.* without a pooler")
    if "cls.predictions.bias" in state:
        has_nsp = "cls.seq_relationship.weight" in state
        architecture = "BertForPreTraining" if has_nsp else "BertForMaskedLM"
        if script:
            architecture = "run_pretraining.py"
        return FoundTask("fill-mask", architecture, "head tensors cls/predictions/*" if script
                         else "head tensors cls.predictions.*")
    return FoundTask(None, "bert_model.ckpt" if script else "BertModel", "no task head tensors")


def _label_names(config: dict, count: int) -> list[str]:
    """Label names in id order from `id2label` (keys are strings in config.json); `LABEL_i` when
    absent (google-research/bert checkpoints keep their labels in the script, not the checkpoint)."""
    id2label = {int(k): str(v) for k, v in (config.get("id2label") or {}).items()}
    return [id2label.get(i, f"LABEL_{i}") for i in range(count)]


def _sequence_length(task: str, config: dict, tokenizer: TokenizerSettings, format: str) -> int:
    positions = int(config.get("max_position_embeddings", 512))
    if format == "tf1" or tokenizer.model_max_length is None:
        length = DEFAULT_SEQUENCE_LENGTH[task]
    else:
        length = tokenizer.model_max_length
    if format == "hf" and task == "question-answering":
        length = min(length, QA_PIPELINE_MAX_LENGTH)
    return min(length, positions)


def build_task_model(found: FoundTask, config: dict, state: dict[str, np.ndarray], format: str,
                     tokenizer_settings: TokenizerSettings, source: str, convention: str | None = None):
    """Builds `found.task`'s model with its preprocessor and assigns the checkpoint's weights."""
    from keras_bert.models import (
        BertBackbone,
        BertClassifier,
        BertPretrainer,
        BertSpanQA,
        BertTokenTagger,
    )
    from keras_bert.preprocessing import (
        ClassificationPreprocessor,
        NerPreprocessor,
        PretrainingPreprocessor,
        SquadPreprocessor,
    )

    task = found.task
    if task not in TASKS:
        raise ValueError(f"{source} has no task head to import as a task model ({found.describe()})")
    activation = "gelu_approximate" if format == "tf1" else None
    backbone = BertBackbone(**backbone_kwargs_from_hf_config(config, activation=activation))
    tokenizer = tokenizer_settings.tokenizer()
    if len(tokenizer.vocabulary) != backbone.vocabulary_size:
        raise WeightMismatchError(f"{source}: the vocabulary has {len(tokenizer.vocabulary)} tokens, the "
                                  f"model's embedding {backbone.vocabulary_size} rows")
    length = _sequence_length(task, config, tokenizer_settings, format)
    dropout = config.get("classifier_dropout") or config.get("hidden_dropout_prob", 0.1)
    optional: tuple[str, ...] = ()
    if task == "classification":
        count = _head_rows(state, "classifier.weight", source)
        problem = config.get("problem_type")
        if problem == "multi_label_classification":
            raise ValueError(f"{source}: problem_type multi_label_classification is not supported "
                             "(single-label classification and regression are)")
        regression = problem == "regression" or (problem is None and count == 1 and format == "hf")
        labels = None if regression else _label_names(config, count)
        preprocessor = ClassificationPreprocessor(tokenizer, length, label_names=labels)
        model = BertClassifier(backbone, count, dropout=dropout, label_names=labels,
                               preprocessor=preprocessor, regression=regression)
        found.detail.append("regression (one output)" if regression else f"labels {labels}")
    elif task == "token-classification":
        labels = _label_names(config, _head_rows(state, "classifier.weight", source))
        for label in labels:
            try:
                split_tag(label)
            except ValueError as error:
                raise ValueError(f"{source}: id2label: {error} (entities are decoded from BIO tags)") from None
        model = BertTokenTagger(backbone, len(labels), dropout=dropout, label_names=labels,
                                preprocessor=NerPreprocessor(tokenizer, length))
        optional = POOLER
        found.detail.append(f"tags {labels}")
    elif task == "question-answering":
        from keras_bert.preprocessing.squad_preprocessor import HF_PIPELINE, ORIGINAL

        convention = convention or (HF_PIPELINE if format == "hf" else ORIGINAL)
        stride = min(length // 2, QA_PIPELINE_DOC_STRIDE) if convention == HF_PIPELINE else 128
        preprocessor = SquadPreprocessor(tokenizer, sequence_length=length, doc_stride=stride,
                                         max_query_length=min(64, length // 4), convention=convention)
        model = BertSpanQA(backbone, preprocessor=preprocessor)
        optional = POOLER
        found.detail.append(f"{convention} windowing and scoring (doc_stride {stride})")
    else:
        model = BertPretrainer(backbone, preprocessor=PretrainingPreprocessor(tokenizer, length))
        optional = POOLER + NSP_HEAD
    found.detail.append(f"{tokenizer_settings.describe()}, sequence length {length}")
    assign_state(model_bindings(model), state, source=f"{format} checkpoint {source}", optional=optional)
    return model


def _head_rows(state: dict[str, np.ndarray], name: str, source: str) -> int:
    if name not in state or np.ndim(state[name]) != 2:
        raise WeightMismatchError(f"{source}: no 2-D head tensor {name!r}")
    return int(np.shape(state[name])[0])


def load_task(path: str | os.PathLike, format: str, task: str | None = None,
              convention: str | None = None):
    """(task model with its preprocessor, `FoundTask`) from a fine-tuned checkpoint.

    Args:
        path: a Hugging Face folder or a TF1 checkpoint (folder or prefix).
        format: "hf" or "tf1".
        task: the task to build; None: the one the checkpoint holds. A task other than the
            checkpoint's raises ValueError.
        convention: QA windowing and scoring; None: "hf-pipeline" for Hugging Face folders,
            "original" for TF1 checkpoints.
    """
    config, state = read_raw_checkpoint(path, format)
    found = detect_task(config, state, format)
    if task is not None and task != found.task:
        raise ValueError(f"{path} holds {found.task or 'no task head'} ({found.describe()}), not {task}")
    settings = read_tokenizer_settings(path, format)
    return build_task_model(found, config, state, format, settings, str(path), convention), found
