"""Fine-tuned Hugging Face folders become our task models with their preprocessor, and the export
graph answers as Hugging Face's own pipelines do on the same checkpoint.

Checkpoints are built here from the bundled MiniLM encoder (2 or 6 layers) with seeded task
heads (scaled up so that the outputs are peaked, not ~uniform) and saved as safetensors with the
MiniLM tokenizer files. The export graph is the servable's `serving_default` signature, run in process (`test_hf_qa_pipeline`
serves one over gRPC).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from keras_bert.convert import load_model_and_task  # noqa: E402
from keras_bert.tasks.export import build_servable  # noqa: E402

TEXTS = [
    "The quick brown fox jumps over the lazy dog near Paris.",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife.",
    "Hi!",
    "Elizabeth Bennet met Mr. Darcy at the Netherfield ball in Hertfordshire.",
    "Tensor Processing Units accelerate the matrix multiplications at the heart of BERT, "
    "said the engineers from Mountain View.",
]
TAGS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG", "I-ORG"]


def _hf_folder(minilm_dir, tmp_path_factory, cls, name, head: str | None, scale: float, seed: int,
               layers: int = 2, **config):
    """A `cls` checkpoint from the MiniLM encoder's first `layers` layers with a seeded head (`head`
    weights times `scale`), saved as safetensors with the MiniLM tokenizer files; returns (model,
    folder). Heads on the pooled [CLS] vector take all 6 layers: after 2 it hardly varies."""
    torch.manual_seed(seed)
    model = cls.from_pretrained(str(minilm_dir), num_hidden_layers=layers, **config).eval()
    if head is not None:
        with torch.no_grad():
            layer = getattr(model, head)
            layer.weight.mul_(scale)
            layer.bias.normal_(0.0, 0.5)
    folder = tmp_path_factory.mktemp(name)
    model.save_pretrained(folder, safe_serialization=True)
    transformers.AutoTokenizer.from_pretrained(str(minilm_dir)).save_pretrained(folder)
    return model, folder


def _serve(task, model, texts, **options):
    """The export's raw-text graph (`serving_default`'s function) on `texts`."""
    servable = build_servable(task, model, **options)
    out = tf.function(servable.from_text)(tf.constant(texts))
    return {k: v.numpy() for k, v in out.items()}


def test_sequence_classification_matches_the_text_classification_pipeline(minilm_dir, tmp_path_factory):
    labels = {0: "negative", 1: "neutral", 2: "positive"}
    hf_model, folder = _hf_folder(
        minilm_dir, tmp_path_factory, transformers.BertForSequenceClassification, "cls",
        "classifier", 300.0, 0, layers=6, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    model, found = load_model_and_task(folder)
    assert found.task == "classification" and "architectures" in found.evidence
    assert model.label_names == ["negative", "neutral", "positive"]
    assert model.preprocessor.tokenizer.lowercase  # do_lower_case from tokenizer_config.json
    ours = _serve("classification", model, TEXTS)
    pipe = transformers.pipeline("text-classification", model=hf_model,
                                 tokenizer=transformers.AutoTokenizer.from_pretrained(folder), top_k=None)
    for row, ranked in enumerate(pipe(TEXTS)):
        theirs = {entry["label"]: entry["score"] for entry in ranked}
        assert sorted(theirs) == sorted(model.label_names)
        probabilities = dict(zip(model.label_names, ours["probabilities"][row].tolist(), strict=True))
        for label, score in theirs.items():
            assert abs(probabilities[label] - score) <= 1e-5, (row, label, probabilities[label], score)
        assert ours["label"][row].decode() == ranked[0]["label"]
    assert max(ours["probabilities"].max(axis=1)) > 0.8  # peaked: the comparison is not of ~1/3s


def test_regression_head_imports_and_exports_a_regress_signature(minilm_dir, tmp_path_factory):
    hf_model, folder = _hf_folder(
        minilm_dir, tmp_path_factory, transformers.BertForSequenceClassification, "reg",
        "classifier", 100.0, 1, layers=6, num_labels=1, problem_type="regression")
    model, found = load_model_and_task(folder)
    assert model.regression and "regression" in found.describe()
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    with torch.no_grad():
        reference = hf_model(**tokenizer(TEXTS, padding=True, return_tensors="pt")).logits[:, 0].numpy()
    servable = build_servable("classification", model)
    assert servable.signature_methods() == {"regress": "tensorflow/serving/regress"}
    examples = [tf.train.Example(features=tf.train.Features(feature={"text": tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[text.encode()]))})).SerializeToString() for text in TEXTS]
    regressed = tf.function(servable.from_regress_examples)(tf.constant(examples))["outputs"].numpy()
    np.testing.assert_allclose(regressed, reference, atol=1e-4)  # the Regress API's graph
    assert np.ptp(reference) > 0.5  # values that differ between texts


def test_token_classification_matches_the_pipeline_with_first_aggregation(minilm_dir, tmp_path_factory):
    hf_model, folder = _hf_folder(
        minilm_dir, tmp_path_factory, transformers.BertForTokenClassification, "ner", "classifier",
        60.0, 2, num_labels=len(TAGS), id2label=dict(enumerate(TAGS)),
        label2id={t: i for i, t in enumerate(TAGS)})
    assert not any(k.startswith("bert.pooler") for k in hf_model.state_dict())  # no pooler: optional
    model, found = load_model_and_task(folder)
    assert found.task == "token-classification" and model.label_names == TAGS
    ours = _serve("token-classification", model, TEXTS, max_entities=64)
    pipe = transformers.pipeline("token-classification", model=hf_model,
                                 tokenizer=transformers.AutoTokenizer.from_pretrained(folder),
                                 aggregation_strategy="first")
    total = 0
    for row, (text, entities) in enumerate(zip(TEXTS, pipe(TEXTS), strict=True)):
        present = ours["entity_start"][row] >= 0
        mine = [(label.decode(), int(s), int(e), t.decode()) for label, s, e, t in zip(
            ours["entity_label"][row][present], ours["entity_start"][row][present],
            ours["entity_end"][row][present], ours["entity_text"][row][present], strict=True)]
        theirs = [(x["entity_group"], x["start"], x["end"], text[x["start"]:x["end"]]) for x in entities]
        assert mine == theirs, (text, mine, theirs)
        np.testing.assert_allclose(ours["entity_score"][row][present], [x["score"] for x in entities],
                                   atol=1e-4)
        total += len(theirs)
    assert total >= 10  # enough entities for the comparison to mean something


def test_fill_mask_top5_matches_the_pipeline(minilm_dir, tmp_path_factory):
    hf_model, folder = _hf_folder(
        minilm_dir, tmp_path_factory, transformers.BertForMaskedLM, "mlm", None, 1.0, 3)
    model, found = load_model_and_task(folder)
    assert found.architecture == "BertForMaskedLM" and found.task == "fill-mask"
    texts = ["The capital of France is [MASK].", "She opened the [MASK] and walked into the garden.",
             "[MASK] is a programming language.", "He drank a cup of [MASK] every morning."]
    ours = _serve("fill-mask", model, texts, top_k=5, max_masks=1)
    pipe = transformers.pipeline("fill-mask", model=hf_model,
                                 tokenizer=transformers.AutoTokenizer.from_pretrained(folder))
    vocabulary = model.preprocessor.tokenizer.vocabulary
    for row, candidates in enumerate(pipe(texts, top_k=5)):
        assert [t.decode() for t in ours["tokens"][row, 0]] == [vocabulary[c["token"]] for c in candidates]
        np.testing.assert_allclose(ours["scores"][row, 0], [c["score"] for c in candidates], atol=1e-5)


def test_unsupported_checkpoints_fail_with_one_clear_line(minilm_dir, tmp_path):
    config = json.loads((minilm_dir / "config.json").read_text())
    folder = tmp_path / "multi"
    folder.mkdir()
    torch.manual_seed(0)
    model = transformers.BertForSequenceClassification(transformers.BertConfig(
        vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, num_labels=2, problem_type="multi_label_classification"))
    model.save_pretrained(folder, safe_serialization=True)
    transformers.AutoTokenizer.from_pretrained(str(minilm_dir)).save_pretrained(folder)
    with pytest.raises(ValueError, match="multi_label_classification is not supported"):
        load_model_and_task(folder)
    settings = json.loads((folder / "tokenizer_config.json").read_text())
    settings.update(problem_type=None, tokenize_chinese_chars=False, strip_accents=True, do_lower_case=False)
    (folder / "tokenizer_config.json").write_text(json.dumps(settings))
    from keras_bert.convert import read_tokenizer_settings

    read = read_tokenizer_settings(folder)
    assert (read.lowercase, read.strip_accents, read.tokenize_chinese_chars) == (False, True, False)
    tokenizer = read.tokenizer()  # the tokenizer honours all three
    assert (tokenizer.lowercase, tokenizer.strip_accents, tokenizer.tokenize_chinese_chars) == (False, True, False)
    assert config["architectures"] == ["BertModel"]


def test_hf_pipeline_windows_are_the_tokenizers_overflowing_windows(minilm_dir):
    """With the "hf-pipeline" convention `doc_stride` is the overlap: the windows equal the fast
    tokenizer's `return_overflowing_tokens` windows with `stride=doc_stride`, as the QA pipeline
    builds them (`truncation="only_second"`)."""
    from keras_bert.preprocessing import SquadPreprocessor
    from keras_bert.tokenizers import WordPieceTokenizer

    hf_tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_dir))
    words = " ".join(TEXTS * 12)  # ~330 tokens
    cases = [("Who met Mr. Darcy?", words), ("What do Tensor Processing Units accelerate?", words[:900]),
             ("Hi?", "Short context."), ("Where?", words + " " + words)]
    pre = SquadPreprocessor(WordPieceTokenizer(str(minilm_dir / "vocab.txt")), sequence_length=96,
                            doc_stride=32, max_query_length=16, convention="hf-pipeline")
    out = pre.windows(tf.constant([q for q, _ in cases]), tf.constant([c for _, c in cases]))
    ours = [[int(i) for i, m in zip(ids, mask, strict=True) if m]
            for ids, mask in zip(out["token_ids"].numpy(), out["padding_mask"].numpy(), strict=True)]
    theirs = []
    for question, context in cases:
        encoded = hf_tokenizer(question, context, truncation="only_second", max_length=96, stride=32,
                               return_overflowing_tokens=True)
        theirs += encoded["input_ids"]
    assert ours == theirs
    assert out["example_index"].numpy().tolist().count(3) > 4  # a long context: many windows


def test_vocabulary_and_casing_read_from_tokenizer_json_alone(minilm_dir, tmp_path):
    """A folder with only the fast tokenizer's `tokenizer.json` (no vocab.txt, no
    tokenizer_config.json): vocabulary from its WordPiece model, casing from its BertNormalizer."""
    from keras_bert.convert import read_tokenizer_settings
    from keras_bert.tokenizers.vocab_io import read_vocabulary

    fast = json.loads((minilm_dir / "tokenizer.json").read_text())
    (tmp_path / "tokenizer.json").write_text(json.dumps(fast))
    settings = read_tokenizer_settings(tmp_path)
    assert settings.vocabulary == read_vocabulary(str(minilm_dir / "vocab.txt"))
    assert settings.lowercase and settings.source == "tokenizer.json"
    fast["normalizer"]["lowercase"] = False
    (tmp_path / "tokenizer.json").write_text(json.dumps(fast))
    assert not read_tokenizer_settings(tmp_path).lowercase
