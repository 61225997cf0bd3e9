"""Our task models -> Hugging Face folders that `AutoTokenizer` + `AutoModelFor*` load and agree
with; a cased vocabulary end to end; google-research/bert fine-tuned TF1 checkpoints.

Tiny encoders (2 layers, hidden 32) on real vocabularies. Tolerance: 1e-4 on logits (fp32, two
implementations of the same graph; padding positions excluded), 1e-5 on probabilities.
"""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from keras_bert import BertBackbone  # noqa: E402
from keras_bert.convert import load_model_and_task, save_hf  # noqa: E402
from keras_bert.models import (  # noqa: E402
    BertClassifier,
    BertPretrainer,
    BertSpanQA,
    BertTextEmbedder,
    BertTokenTagger,
)
from keras_bert.preprocessing import (  # noqa: E402
    ClassificationPreprocessor,
    NerPreprocessor,
    PretrainingPreprocessor,
    SquadPreprocessor,
    TextPreprocessor,
)
from keras_bert.tokenizers import WordPieceTokenizer  # noqa: E402
from tests.convert.test_tf1_and_keras_hub import _original_names  # noqa: E402

TOLERANCE = 1e-4
CASED_TEXTS = [
    "The Quick brown fox met Élodie in Paris.",
    "BERT was trained by Google in Mountain View; bert is a Muppet.",
    "ÉCOLE Normale Supérieure vs école",
    "Hi!",
]
LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def cased_vocabulary(minilm_dir, tmp_path_factory) -> str:
    """MiniLM's (uncased) vocabulary plus a capitalised copy of its frequent whole-word pieces (the
    first 12,000 ids): a cased vocabulary in which case changes the ids."""
    from keras_bert.tokenizers.vocab_io import read_vocabulary

    tokens = read_vocabulary(str(minilm_dir / "vocab.txt"))
    known = set(tokens)
    extra = [t.capitalize() for t in tokens[:12000] if t.isalpha() and t.islower() and t.capitalize() not in known]
    extra = [t for t in dict.fromkeys(extra + ["BERT", "ÉCOLE", "Élodie", "École"]) if t not in known]
    path = tmp_path_factory.mktemp("cased") / "vocab.txt"
    path.write_text("".join(f"{t}\n" for t in tokens + extra), encoding="utf-8")
    return str(path)


def _backbone(vocabulary_size: int, seed: int) -> BertBackbone:
    keras.utils.set_random_seed(seed)
    return BertBackbone(vocabulary_size=vocabulary_size, num_layers=2, num_heads=2, hidden_dim=32,
                        intermediate_dim=64, max_sequence_length=64)


def _hf_inputs(hf_tokenizer, texts, ours_tokenizer):
    batch = hf_tokenizer(texts, padding=True, return_tensors="pt")
    ours = ours_tokenizer(tf.constant(texts)).to_list()
    for row, ids in enumerate(ours):  # the folder's tokenizer tokenizes as ours
        assert batch["input_ids"][row].tolist()[1:len(ids) + 1] == ids, texts[row]
    x = {"token_ids": batch["input_ids"].numpy().astype("int32"),
         "segment_ids": batch["token_type_ids"].numpy().astype("int32"),
         "padding_mask": batch["attention_mask"].numpy().astype("int32")}
    return batch, x


def test_cased_vocabulary_tokenizes_as_bert_tokenizer_without_lowercasing(cased_vocabulary):
    ours = WordPieceTokenizer(cased_vocabulary, lowercase=False)
    for cls in (transformers.BertTokenizer, transformers.BertTokenizerFast):
        theirs = cls(cased_vocabulary, do_lower_case=False)
        for text in CASED_TEXTS:
            assert ours(tf.constant([text]))[0].numpy().tolist() == theirs(text, add_special_tokens=False)[
                "input_ids"], (cls.__name__, text)
    lower = WordPieceTokenizer(cased_vocabulary, lowercase=True)
    assert ours(tf.constant(["Paris"]))[0].numpy().tolist() != lower(tf.constant(["Paris"]))[0].numpy().tolist()


def test_cased_classifier_trains_exports_and_round_trips_to_hugging_face(cased_vocabulary, tmp_path):
    tokenizer = WordPieceTokenizer(cased_vocabulary, lowercase=False)
    backbone = _backbone(tokenizer.vocabulary_size, 0)
    model = BertClassifier(backbone, 3, label_names=LABELS, dropout=0.0,
                           preprocessor=ClassificationPreprocessor(tokenizer, 32, label_names=LABELS))
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    before = model.get_layer("logits").kernel.numpy().copy()
    history = model.fit(CASED_TEXTS, ["positive", "negative", "neutral", "positive"], batch_size=4, epochs=1,
                        verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, model.get_layer("logits").kernel.numpy())  # one step taken

    folder = save_hf(model, tmp_path / "hf")
    assert {p.name for p in folder.iterdir()} >= {"config.json", "model.safetensors", "vocab.txt",
                                                  "tokenizer_config.json", "special_tokens_map.json"}
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    assert hf_tokenizer.is_fast and not hf_tokenizer.do_lower_case
    hf_model = transformers.AutoModelForSequenceClassification.from_pretrained(folder).eval()
    assert type(hf_model).__name__ == "BertForSequenceClassification"
    assert [hf_model.config.id2label[i] for i in range(3)] == LABELS
    assert hf_model.config.problem_type == "single_label_classification"
    batch, x = _hf_inputs(hf_tokenizer, CASED_TEXTS, tokenizer)
    with torch.no_grad():
        reference = hf_model(**batch).logits.numpy()
    np.testing.assert_allclose(model.predict(CASED_TEXTS, verbose=0), reference, atol=TOLERANCE)

    # The export graph (cased tokenizer in-graph) gives the pipeline's probabilities.
    from keras_bert.tasks.export import build_servable

    servable = build_servable("classification", model)
    out = tf.function(servable.from_text)(tf.constant(CASED_TEXTS))
    pipe = transformers.pipeline("text-classification", model=hf_model, tokenizer=hf_tokenizer, top_k=None)
    for row, ranked in enumerate(pipe(CASED_TEXTS)):
        for entry in ranked:
            ours = float(out["probabilities"][row, LABELS.index(entry["label"])])
            assert abs(ours - entry["score"]) <= 1e-5

    # And back: the folder imports as the same task model with the same tokenizer.
    again, found = load_model_and_task(folder)
    assert found.task == "classification" and again.label_names == LABELS
    assert again.preprocessor.tokenizer.lowercase is False
    assert again.preprocessor.sequence_length == 32  # model_max_length written from the preprocessor
    np.testing.assert_allclose(again.predict(CASED_TEXTS, verbose=0), reference, atol=TOLERANCE)


@pytest.mark.parametrize("kind", ["regression", "token-classification", "question-answering",
                                  "pretraining", "embedding"])
def test_task_model_round_trips_through_auto_classes(minilm_dir, tmp_path, kind):
    tokenizer = WordPieceTokenizer(str(minilm_dir / "vocab.txt"))
    backbone = _backbone(tokenizer.vocabulary_size, 1)
    texts = ["The quick brown fox jumps over the lazy dog.", "Where is Paris?"]
    if kind == "regression":
        model = BertClassifier(backbone, 1, regression=True,
                               preprocessor=ClassificationPreprocessor(tokenizer, 32))
        auto = transformers.AutoModelForSequenceClassification
    elif kind == "token-classification":
        tags = ["O", "B-LOC", "I-LOC"]
        model = BertTokenTagger(backbone, 3, label_names=tags, preprocessor=NerPreprocessor(tokenizer, 32))
        auto = transformers.AutoModelForTokenClassification
    elif kind == "question-answering":
        model = BertSpanQA(backbone, preprocessor=SquadPreprocessor(tokenizer, sequence_length=48, doc_stride=16,
                                                                    max_query_length=8))
        auto = transformers.AutoModelForQuestionAnswering
    elif kind == "pretraining":
        model = BertPretrainer(backbone, preprocessor=PretrainingPreprocessor(tokenizer, 32))
        auto = transformers.AutoModelForPreTraining
    else:
        model = BertTextEmbedder(backbone, preprocessor=TextPreprocessor(tokenizer, 32))
        auto = transformers.AutoModel
    folder = save_hf(model, tmp_path / kind)
    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    hf_model = auto.from_pretrained(folder).eval()
    batch, x = _hf_inputs(hf_tokenizer, texts, tokenizer)
    real = x["padding_mask"].astype(bool)
    with torch.no_grad():
        theirs = hf_model(**batch)
    if kind == "regression":
        assert hf_model.config.problem_type == "regression" and hf_model.config.num_labels == 1
        np.testing.assert_allclose(model(x).numpy(), theirs.logits.numpy(), atol=TOLERANCE)
    elif kind == "token-classification":
        assert [hf_model.config.id2label[i] for i in range(3)] == tags
        assert np.abs(model(x).numpy() - theirs.logits.numpy())[real].max() <= TOLERANCE
    elif kind == "question-answering":
        out = model(x)
        for name in ("start_logits", "end_logits"):
            assert np.abs(out[name].numpy() - getattr(theirs, name).numpy())[real].max() <= TOLERANCE
    elif kind == "pretraining":
        positions = np.array([[1, 2, 3], [1, 2, 3]], "int32")
        out = model({**x, "mask_positions": positions})
        mlm = theirs.prediction_logits.numpy()[np.arange(2)[:, None], positions]
        assert np.abs(out["mlm_logits"].numpy() - mlm).max() <= TOLERANCE
        np.testing.assert_allclose(out["nsp_logits"].numpy(), theirs.seq_relationship_logits.numpy(),
                                   atol=TOLERANCE)
    else:
        out = backbone(x)
        assert np.abs(out["sequence_output"].numpy() - theirs.last_hidden_state.numpy())[real].max() <= TOLERANCE
    assert type(hf_model).__name__ == json.loads((folder / "config.json").read_text())["architectures"][0] \
        or kind == "embedding"


# ---------------------------------------------------------------- google-research/bert TF1

TF1_VOCABULARY = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "fox", "dog", "quick", "brown",
                  "jumps", "over", "lazy", "where", "is", "paris", "?", ".", "##s", "city", "in", "france"]


def _tf1_folder(tmp_path, head: str):
    """A google-research/bert fine-tuned checkpoint written with the original variable names (and
    an optimizer slot and global_step, which real ones carry), made from a Hugging Face model of the
    same weights; returns (HF model, its folder, TF1 folder)."""
    config = transformers.BertConfig(
        vocab_size=len(TF1_VOCABULARY), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=64, hidden_act="gelu_new", num_labels=3 if head == "classifier" else 2)
    torch.manual_seed(4)
    cls = transformers.BertForSequenceClassification if head == "classifier" else transformers.BertForQuestionAnswering
    reference = cls(config).eval()
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    names = {k: v for k, v in _original_names(2).items() if k.startswith("bert/") and v[0] in state}
    if head == "classifier":  # run_classifier.py: output_weights (num_labels, H), output_bias
        names.update(output_weights=("classifier.weight", False), output_bias=("classifier.bias", False))
    else:  # run_squad.py: cls/squad/output_weights (2, H), output_bias
        names.update({"cls/squad/output_weights": ("qa_outputs.weight", False),
                      "cls/squad/output_bias": ("qa_outputs.bias", False)})
    tensors = [state[hf].T if transpose else state[hf] for hf, transpose in names.values()]
    extra = {"global_step": np.zeros((), np.int64),
             "bert/pooler/dense/kernel/adam_m": np.zeros((32, 32), np.float32)}
    tf1 = tmp_path / "tf1"
    tf1.mkdir()
    tf.raw_ops.SaveV2(prefix=str(tf1 / "model.ckpt-1000"), tensor_names=[*names, *extra],
                      shape_and_slices=[""] * (len(names) + len(extra)), tensors=[*tensors, *extra.values()])
    (tf1 / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-1000"\n')
    bert_config = {k: getattr(config, k) for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
        "max_position_embeddings", "type_vocab_size", "initializer_range")}
    (tf1 / "bert_config.json").write_text(json.dumps({**bert_config, "hidden_act": "gelu"}))
    (tf1 / "vocab.txt").write_text("".join(f"{t}\n" for t in TF1_VOCABULARY))
    hf = tmp_path / "hf"
    reference.save_pretrained(hf, safe_serialization=True)
    (hf / "vocab.txt").write_text("".join(f"{t}\n" for t in TF1_VOCABULARY))
    return reference, hf, tf1


@pytest.mark.parametrize("head", ["classifier", "squad"])
def test_google_research_fine_tuned_checkpoint_gives_the_hf_folders_logits(tmp_path, head):
    reference, hf_folder, tf1_folder = _tf1_folder(tmp_path, head)
    model, found = load_model_and_task(tf1_folder)
    hf_model, hf_found = load_model_and_task(hf_folder, format="hf") if head == "squad" else (None, None)
    ids = np.array([[2, 5, 9, 10, 7, 11, 12, 5, 13, 8, 18, 3], [2, 14, 15, 16, 17, 3, 16, 15, 6, 20, 3, 0]], "int32")
    mask = (ids > 0).astype("int32")
    segments = np.array([[0] * 12, [0] * 6 + [1] * 5 + [0]], "int32")
    x = {"token_ids": ids, "segment_ids": segments, "padding_mask": mask}
    with torch.no_grad():
        theirs = reference(input_ids=torch.tensor(ids).long(), token_type_ids=torch.tensor(segments).long(),
                           attention_mask=torch.tensor(mask).long())
    if head == "classifier":
        assert (found.task, found.architecture) == ("classification", "run_classifier.py")
        assert model.label_names == ["LABEL_0", "LABEL_1", "LABEL_2"]
        np.testing.assert_allclose(model(x).numpy(), theirs.logits.numpy(), atol=TOLERANCE)
    else:
        assert (found.task, found.architecture) == ("question-answering", "run_squad.py")
        assert model.preprocessor.convention == "original"  # google-research/bert's post-processing
        assert hf_model.preprocessor.convention == "hf-pipeline"  # the HF folder keeps the pipeline's
        out = model(x)
        for name in ("start_logits", "end_logits"):
            assert np.abs(out[name].numpy() - getattr(theirs, name).numpy())[mask.astype(bool)].max() <= TOLERANCE
    assert model.backbone.activation == "gelu_approximate"
    assert model.preprocessor.tokenizer.lowercase  # an all-lower-case vocabulary: uncased


def test_convert_command_names_what_it_found(tmp_path, capsys):
    from keras_bert.cli import main

    _, _, tf1_folder = _tf1_folder(tmp_path, "squad")
    assert main(["convert", "--from", str(tf1_folder), "--out", str(tmp_path / "qa.keras")]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("found run_squad.py (head tensors cls/squad/output_*): question-answering")
    assert "original windowing and scoring" in printed[0] and "uncased" in printed[0]
    loaded = keras.saving.load_model(tmp_path / "qa.keras", compile=False)
    assert type(loaded).__name__ == "BertSpanQA" and loaded.preprocessor.convention == "original"
    assert main(["convert", "--from", str(tmp_path / "qa.keras"), "--to", "hf", "--out", str(tmp_path / "hf")]) == 0
    assert transformers.AutoModelForQuestionAnswering.from_pretrained(tmp_path / "hf") is not None
    assert main(["convert", "--from", str(tf1_folder / "vocab.txt"), "--out", str(tmp_path / "x.keras")]) == 2
    # export names the task a folder does not hold: one line, exit 2, nothing written
    assert main(["export", "classification", "--model", str(tf1_folder), "--out", str(tmp_path / "m" / "1")]) == 2
    assert "holds question-answering" in capsys.readouterr().err and not (tmp_path / "m").exists()


def test_qa_convention_override_is_recorded_in_export_info(tmp_path):
    from keras_bert.export.writer import export_info

    from keras_bert.tasks.export import build_servable

    _, hf_folder, _ = _tf1_folder(tmp_path, "squad")
    model, _ = load_model_and_task(hf_folder)
    info = export_info(build_servable("question-answering", model))
    assert info["preprocessing"]["convention"] == "hf-pipeline" and info["overrides"] == []
    info = export_info(build_servable("question-answering", model, convention="original"))
    assert info["preprocessing"]["convention"] == "original"
    assert info["overrides"] == ["convention: hf-pipeline -> original"]
