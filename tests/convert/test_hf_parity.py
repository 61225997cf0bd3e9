"""Parity with Hugging Face (torch CPU) on real MiniLM weights and random-init pretraining heads."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from keras_bert import BertBackbone  # noqa: E402
from keras_bert.convert import load_backbone, load_pretrainer, save_hf  # noqa: E402
from keras_bert.convert.safetensors_io import read_safetensors  # noqa: E402

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "It is a truth universally acknowledged, that a single man in possession of a good fortune, "
    "must be in want of a wife.",
    "Hi!",
    "Tensor Processing Units accelerate the matrix multiplications at the heart of BERT.",
]
TOLERANCE = 1e-4  # max abs difference, fp32, padded positions excluded


def _hf_batch(minilm_dir, pairs=False):
    tokenizer = transformers.BertTokenizerFast.from_pretrained(str(minilm_dir))
    if pairs:
        batch = tokenizer(SENTENCES, SENTENCES[::-1], padding=True, return_tensors="np")
    else:
        batch = tokenizer(SENTENCES, padding=True, return_tensors="np")
    ours = {"token_ids": batch["input_ids"].astype("int32"),
            "segment_ids": batch["token_type_ids"].astype("int32"),
            "padding_mask": batch["attention_mask"].astype("int32")}
    theirs = {k: torch.tensor(v).long() for k, v in batch.items()}
    return ours, theirs


@pytest.fixture(scope="module")
def minilm(minilm_dir):
    return load_backbone(minilm_dir), transformers.BertModel.from_pretrained(str(minilm_dir)).eval()


@pytest.mark.parametrize("pairs", [False, True])
def test_real_minilm_matches_hugging_face(minilm, minilm_dir, pairs):
    ours_model, hf_model = minilm
    ours_in, hf_in = _hf_batch(minilm_dir, pairs)
    assert len(set(ours_in["padding_mask"].sum(1))) >= 2  # different lengths, real padding
    assert ours_in["padding_mask"].min() == 0
    ours = ours_model(ours_in)
    with torch.no_grad():
        ref = hf_model(**hf_in)
    real = ours_in["padding_mask"].astype(bool)
    seq_diff = np.abs(ours["sequence_output"].numpy() - ref.last_hidden_state.numpy())[real].max()
    pooled_diff = np.abs(ours["pooled_output"].numpy() - ref.pooler_output.numpy()).max()
    print(f"MiniLM parity: sequence_output max|d|={seq_diff:.2e}, pooled max|d|={pooled_diff:.2e}")
    assert seq_diff <= TOLERANCE
    assert pooled_diff <= TOLERANCE


def _tiny_hf_config(hidden_act="gelu"):
    return transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=40, type_vocab_size=2, hidden_act=hidden_act,
    )


@pytest.fixture(scope="module")
def hf_pretraining(tmp_path_factory):
    torch.manual_seed(0)
    model = transformers.BertForPreTraining(_tiny_hf_config()).eval()
    folder = tmp_path_factory.mktemp("hf_pretraining")
    model.save_pretrained(folder, safe_serialization=True)
    return model, folder


def _pretraining_batch(seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 99, (3, 16)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 11:] = 0
    mask[2, 7:] = 0
    segments = (np.arange(16)[None] >= 5).astype("int32") * mask
    positions = np.array([[1, 4, 9], [2, 3, 10], [1, 5, 6]], "int32")
    return {"token_ids": ids * mask, "segment_ids": segments, "padding_mask": mask,
            "mask_positions": positions}


def _hf_pretraining_logits(model, x):
    with torch.no_grad():
        out = model(input_ids=torch.tensor(x["token_ids"]).long(),
                    token_type_ids=torch.tensor(x["segment_ids"]).long(),
                    attention_mask=torch.tensor(x["padding_mask"]).long())
    mlm = out.prediction_logits.numpy()[np.arange(3)[:, None], x["mask_positions"]]
    return mlm, out.seq_relationship_logits.numpy()


def test_pretraining_heads_match_hugging_face(hf_pretraining):
    hf_model, folder = hf_pretraining
    pretrainer = load_pretrainer(folder)
    x = _pretraining_batch()
    ours = pretrainer(x)
    mlm_ref, nsp_ref = _hf_pretraining_logits(hf_model, x)
    mlm_diff = np.abs(ours["mlm_logits"].numpy() - mlm_ref).max()
    nsp_diff = np.abs(ours["nsp_logits"].numpy() - nsp_ref).max()
    print(f"Pretraining heads parity: MLM max|d|={mlm_diff:.2e}, NSP max|d|={nsp_diff:.2e}")
    assert mlm_diff <= TOLERANCE and nsp_diff <= TOLERANCE


def test_hugging_face_round_trip_is_lossless(hf_pretraining, tmp_path):
    hf_model, folder = hf_pretraining
    pretrainer = load_pretrainer(folder)
    save_hf(pretrainer, tmp_path / "out")
    original, written = read_safetensors(folder / "model.safetensors"), read_safetensors(
        tmp_path / "out" / "model.safetensors")
    for name, array in written.items():
        if name in original:
            np.testing.assert_array_equal(array, original[name], err_msg=name)
    assert {n for n in original if "position_ids" not in n and "decoder.weight" not in n} <= set(written)
    # Hugging Face itself loads what we wrote and computes the same logits.
    reloaded = transformers.BertForPreTraining.from_pretrained(tmp_path / "out").eval()
    x = _pretraining_batch(1)
    for a, b in zip(_hf_pretraining_logits(reloaded, x), _hf_pretraining_logits(hf_model, x), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_backbone_written_as_hf_bertmodel_loads_in_transformers(tmp_path, tiny_config):
    backbone = BertBackbone(**tiny_config)
    save_hf(backbone, tmp_path)
    hf_model = transformers.BertModel.from_pretrained(tmp_path).eval()
    x = _pretraining_batch()
    x = {k: np.minimum(v, tiny_config["vocabulary_size"] - 1) for k, v in x.items() if k != "mask_positions"}
    with torch.no_grad():
        ref = hf_model(input_ids=torch.tensor(x["token_ids"]).long(),
                       token_type_ids=torch.tensor(x["segment_ids"]).long(),
                       attention_mask=torch.tensor(x["padding_mask"]).long())
    real = x["padding_mask"].astype(bool)
    diff = np.abs(backbone(x)["sequence_output"].numpy() - ref.last_hidden_state.numpy())[real]
    assert diff.max() <= TOLERANCE
