"""Original TF1 checkpoints (built here with the original variable names) and keras-hub parity."""

import json

import numpy as np
import pytest
import tensorflow as tf

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from keras_bert import BertBackbone  # noqa: E402
from keras_bert.convert import load_pretrainer  # noqa: E402
from keras_bert.convert.weight_map import backbone_bindings, read_state  # noqa: E402
from tests.conftest import random_inputs  # noqa: E402

TOLERANCE = 1e-4


def _original_names(num_layers: int) -> dict[str, tuple[str, bool]]:
    """Original google-research/bert variable name -> (HF BertForPreTraining name, transpose?)."""
    names = {
        "bert/embeddings/word_embeddings": ("bert.embeddings.word_embeddings.weight", False),
        "bert/embeddings/position_embeddings": ("bert.embeddings.position_embeddings.weight", False),
        "bert/embeddings/token_type_embeddings": ("bert.embeddings.token_type_embeddings.weight", False),
        "bert/embeddings/LayerNorm/gamma": ("bert.embeddings.LayerNorm.weight", False),
        "bert/embeddings/LayerNorm/beta": ("bert.embeddings.LayerNorm.bias", False),
        "bert/pooler/dense/kernel": ("bert.pooler.dense.weight", True),
        "bert/pooler/dense/bias": ("bert.pooler.dense.bias", False),
        "cls/predictions/transform/dense/kernel": ("cls.predictions.transform.dense.weight", True),
        "cls/predictions/transform/dense/bias": ("cls.predictions.transform.dense.bias", False),
        "cls/predictions/transform/LayerNorm/gamma": ("cls.predictions.transform.LayerNorm.weight", False),
        "cls/predictions/transform/LayerNorm/beta": ("cls.predictions.transform.LayerNorm.bias", False),
        "cls/predictions/output_bias": ("cls.predictions.bias", False),
        "cls/seq_relationship/output_weights": ("cls.seq_relationship.weight", False),
        "cls/seq_relationship/output_bias": ("cls.seq_relationship.bias", False),
    }
    for i in range(num_layers):
        tf1, hf = f"bert/encoder/layer_{i}", f"bert.encoder.layer.{i}"
        for part in ("attention/self/query", "attention/self/key", "attention/self/value",
                     "attention/output/dense", "intermediate/dense", "output/dense"):
            names[f"{tf1}/{part}/kernel"] = (f"{hf}.{part.replace('/', '.')}.weight", True)
            names[f"{tf1}/{part}/bias"] = (f"{hf}.{part.replace('/', '.')}.bias", False)
        for part in ("attention/output/LayerNorm", "output/LayerNorm"):
            names[f"{tf1}/{part}/gamma"] = (f"{hf}.{part.replace('/', '.')}.weight", False)
            names[f"{tf1}/{part}/beta"] = (f"{hf}.{part.replace('/', '.')}.bias", False)
    return names


def test_tf1_checkpoint_imports_to_the_same_outputs(tmp_path):
    # google-research/bert computes the tanh GELU: the HF reference is "gelu_new".
    config = transformers.BertConfig(
        vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
        intermediate_size=64, max_position_embeddings=40, hidden_act="gelu_new")
    torch.manual_seed(1)
    reference = transformers.BertForPreTraining(config).eval()
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    names = _original_names(2)
    tensors = [state[hf].T if transpose else state[hf] for hf, transpose in names.values()]
    tensors.append(np.zeros((), np.int64))  # optimizer bookkeeping in real checkpoints is skipped
    prefix = str(tmp_path / "bert_model.ckpt")
    tf.raw_ops.SaveV2(prefix=prefix, tensor_names=[*names, "global_step"],
                      shape_and_slices=[""] * (len(names) + 1), tensors=tensors)
    bert_config = {k: getattr(config, k) for k in (
        "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
        "intermediate_size", "max_position_embeddings", "type_vocab_size", "initializer_range")}
    bert_config["hidden_act"] = "gelu"  # what the original configs say, computed as tanh anyway
    (tmp_path / "bert_config.json").write_text(json.dumps(bert_config))

    pretrainer = load_pretrainer(tmp_path)
    assert pretrainer.backbone.activation == "gelu_approximate"
    ids = np.random.default_rng(0).integers(1, 99, (2, 12)).astype("int32")
    mask = np.ones_like(ids)
    mask[1, 8:] = 0
    positions = np.array([[1, 2, 3], [4, 5, 6]], "int32")
    ours = pretrainer({"token_ids": ids, "segment_ids": 0 * ids, "padding_mask": mask,
                       "mask_positions": positions})
    with torch.no_grad():
        ref = reference(input_ids=torch.tensor(ids).long(), attention_mask=torch.tensor(mask).long())
    mlm_ref = ref.prediction_logits.numpy()[np.arange(2)[:, None], positions]
    assert np.abs(ours["mlm_logits"].numpy() - mlm_ref).max() <= TOLERANCE
    assert np.abs(ours["nsp_logits"].numpy() - ref.seq_relationship_logits.numpy()).max() <= TOLERANCE


def test_weights_copied_into_keras_hub_give_equal_outputs(tiny_config):
    keras_hub = pytest.importorskip("keras_hub")
    ours = BertBackbone(**tiny_config, activation="gelu_approximate", dropout=0.0)  # keras-hub: tanh
    hub = keras_hub.models.BertBackbone(
        vocabulary_size=tiny_config["vocabulary_size"], num_layers=2, num_heads=2, hidden_dim=16,
        intermediate_dim=32, max_sequence_length=tiny_config["max_sequence_length"], dropout=0.0)
    state = read_state(backbone_bindings(ours))  # canonical names, HF orientation
    heads, head_dim = 2, 8
    values = {
        "token_embedding/embeddings": state["embeddings.word_embeddings.weight"],
        "position_embedding/embeddings": state["embeddings.position_embeddings.weight"],
        "segment_embedding/embeddings": state["embeddings.token_type_embeddings.weight"],
        "embeddings_layer_norm/gamma": state["embeddings.LayerNorm.weight"],
        "embeddings_layer_norm/beta": state["embeddings.LayerNorm.bias"],
        "pooled_dense/kernel": state["pooler.dense.weight"].T,
        "pooled_dense/bias": state["pooler.dense.bias"],
    }
    for i in range(2):
        hf, hub_prefix = f"encoder.layer.{i}", f"transformer_layer_{i}"
        for part in ("query", "key", "value"):
            w = state[f"{hf}.attention.self.{part}.weight"].T
            values[f"{hub_prefix}/self_attention_layer/{part}/kernel"] = w.reshape(16, heads, head_dim)
            values[f"{hub_prefix}/self_attention_layer/{part}/bias"] = state[
                f"{hf}.attention.self.{part}.bias"].reshape(heads, head_dim)
        values[f"{hub_prefix}/self_attention_layer/attention_output/kernel"] = state[
            f"{hf}.attention.output.dense.weight"].T.reshape(heads, head_dim, 16)
        values[f"{hub_prefix}/self_attention_layer/attention_output/bias"] = state[
            f"{hf}.attention.output.dense.bias"]
        for hub_name, hf_name in (("self_attention_layer_norm", "attention.output.LayerNorm"),
                                  ("feedforward_layer_norm", "output.LayerNorm")):
            values[f"{hub_prefix}/{hub_name}/gamma"] = state[f"{hf}.{hf_name}.weight"]
            values[f"{hub_prefix}/{hub_name}/beta"] = state[f"{hf}.{hf_name}.bias"]
        for hub_name, hf_name in (("feedforward_intermediate_dense", "intermediate.dense"),
                                  ("feedforward_output_dense", "output.dense")):
            values[f"{hub_prefix}/{hub_name}/kernel"] = state[f"{hf}.{hf_name}.weight"].T
            values[f"{hub_prefix}/{hub_name}/bias"] = state[f"{hf}.{hf_name}.bias"]
    assert len(values) == len(hub.weights)
    for weight in hub.weights:
        weight.assign(values[weight.path])
    inputs = random_inputs()
    a, b = ours(inputs), hub(inputs)
    real = inputs["padding_mask"].astype(bool)
    diff = np.abs(a["sequence_output"].numpy() - np.asarray(b["sequence_output"]))[real].max()
    assert diff <= 1e-5
    np.testing.assert_allclose(a["pooled_output"].numpy(), np.asarray(b["pooled_output"]), atol=1e-5)
