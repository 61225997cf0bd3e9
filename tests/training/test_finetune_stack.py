"""Fine-tuning runs on pretraining's training stack: clipping after the all-reduce, the
multi-worker fix, loss scaling and dtype policies, resumable state, curves over the global step.

Tiny classifier (1 block, hidden 8, no dropout) on 16 synthetic rows; `run_finetune` is driven
with synthetic inputs, so no dataset or tokenizer work is involved.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_bert import BertBackbone
from keras_bert.models.bert_classifier import BertClassifier
from keras_bert.tasks import common
from keras_bert.training.callbacks import StepCounter, ThroughputAndLearningRate, curves_figure
from keras_bert.training.checkpoints import STATE_FILE, read_metadata
from tests.training._subprocess import ROOT, env, finish_workers, kill_workers, start_workers

TINY = dict(vocabulary_size=32, num_layers=1, num_heads=2, hidden_dim=8, intermediate_dim=16,
            max_sequence_length=16, dropout=0.0)
ROWS, SEQ, BATCH = 16, 8, 4  # 4 steps per epoch
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"w{i}" for i in range(27)]


def tiny_init(folder) -> str:
    """A saved tiny backbone with its vocab.txt: what `--init` gets (`.keras` file)."""
    folder.mkdir(parents=True, exist_ok=True)
    keras.utils.set_random_seed(7)
    BertBackbone(**TINY).save(folder / "backbone.keras")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return str(folder / "backbone.keras")


def _rows(n: int, seed: int):
    rng = np.random.RandomState(seed)
    ids = rng.randint(5, 32, (n, SEQ)).astype("int32")
    x = {"token_ids": ids, "segment_ids": np.zeros_like(ids), "padding_mask": np.ones_like(ids)}
    return x, (ids[:, 1] % 2).astype("int32")


def _build_model(backbone):
    model = BertClassifier(backbone, 2, dropout=0.0)
    head = model.get_layer("logits")  # Deterministic head: no dependence on RNG state.
    head.kernel.assign(np.linspace(-0.5, 0.5, 16, dtype="float32").reshape(8, 2))
    return model


def _build_inputs(tokenizer):
    x, y = _rows(ROWS, seed=0)
    ds = tf.data.Dataset.from_tensor_slices((x, y))
    ds = ds.shuffle(ROWS, seed=3, reshuffle_each_iteration=True).batch(BATCH)
    return None, ds, ROWS


class Interrupted(Exception):
    pass


def run_tiny(init: str, model_dir: str, *, epochs: int = 2, strategy: str = "default",
             stop_at_eval: int | None = None, precision: str = "float32") -> dict:
    """`run_finetune` of the tiny classifier. `stop_at_eval`: raise `Interrupted` from that
    (1-based) evaluation, i.e. die at the end of that epoch before its state is saved."""
    evals = []
    x_eval, y_eval = _rows(8, seed=1)

    def evaluate(model, preprocessor):
        evals.append(1)
        if stop_at_eval is not None and len(evals) == stop_at_eval:
            raise Interrupted
        predicted = model.predict(x_eval, batch_size=8, verbose=0).argmax(-1)
        return {"accuracy": float(np.mean(predicted == y_eval))}

    config = common.RunConfig(
        init=init, model_dir=model_dir, batch_size=BATCH, learning_rate=1e-2, epochs=epochs,
        warmup_fraction=0.25, strategy=strategy, jit_compile=False, verbose=0, seed=0,
        precision=precision,
    )
    return common.run_finetune(
        "classify", config, list(range(ROWS)), list(range(8)), build_model=_build_model,
        build_inputs=_build_inputs, evaluate=evaluate, metric="accuracy",
    )


def _state(model_dir):
    path = model_dir / "backup" / STATE_FILE
    with np.load(path) as data:
        weights = [data[k] for k in sorted((k for k in data.files if k.startswith("model_")),
                                           key=lambda k: int(k.split("_")[1]))]
    return read_metadata(path), weights


# --- Resume -------------------------------------------------------------------------------------


def test_finetune_resumes_after_interruption_and_matches_uninterrupted(tmp_path):
    init = tiny_init(tmp_path / "init")
    run_tiny(init, str(tmp_path / "reference"), epochs=3)
    meta_ref, reference = _state(tmp_path / "reference")
    assert meta_ref["step"] == 12

    killed = tmp_path / "killed"
    with pytest.raises(Interrupted):  # Dies at the end of epoch 3, after 12 steps, unsaved.
        run_tiny(init, str(killed), epochs=3, stop_at_eval=3)
    assert _state(killed)[0]["step"] == 8

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        result = run_tiny(init, str(killed), epochs=3)
    assert out.getvalue().splitlines()[0] == f"continuing {killed} from step 8"
    meta, resumed = _state(killed)
    assert meta["step"] == 12
    # Same data position (seeded shuffle, 8 batches skipped), optimizer state and schedule
    # position: the weights equal the uninterrupted run's (same process, no dropout, no XLA).
    # Tolerance: atol 1e-6.
    assert len(resumed) == len(reference)
    for got, want in zip(resumed, reference, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert [h["epoch"] for h in meta["eval_history"]] == [1, 2, 3]  # Evaluations continue.
    assert result["epoch"] in (1, 2, 3)
    assert json.loads((killed / "eval_history.json").read_text())[-1]["step"] == 12

    # The curves cover the whole run over the global step, across the resume.
    steps = [h["step"] for h in meta["curves"]]
    assert steps == [4.0, 8.0, 12.0]
    fig = curves_figure(meta["curves"])
    loss_line = next(line for line in fig.axes[0].lines if line.get_label() == "loss")
    np.testing.assert_array_equal(loss_line.get_xdata(), [4, 8, 12])
    assert (killed / "training_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # The same command with more epochs continues the finished run instead of starting over.
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run_tiny(init, str(killed), epochs=4)
    assert out.getvalue().splitlines()[0] == f"continuing {killed} from step 12"
    assert _state(killed)[0]["step"] == 16


# --- Curves ---------------------------------------------------------------------------------------


def test_curves_run_over_global_steps_without_epoch_resets():
    # Keras logs running means that restart each epoch; the recorder must recover the per-step
    # values and average them over each recording interval of global steps, across epochs.
    losses = np.arange(1.0, 11.0)  # Per-step loss of 2 epochs x 5 steps.
    counter = StepCounter(initial_step=100)  # A resumed run: global steps 101..110.
    recorder = ThroughputAndLearningRate(8, counter, record_every=3)
    optimizer = keras.optimizers.SGD(0.5)
    recorder.set_model(type("M", (), {"optimizer": optimizer})())
    for epoch in range(2):
        counter.on_epoch_begin(epoch)
        recorder.on_epoch_begin(epoch)
        for batch in range(5):
            step_losses = losses[epoch * 5: epoch * 5 + batch + 1]
            logs = {"loss": float(np.mean(step_losses))}
            recorder.on_train_batch_begin(batch, logs)
            counter.on_train_batch_end(batch, logs)
            recorder.on_train_batch_end(batch, logs)
    steps = [h["step"] for h in recorder.history]
    assert steps == [102.0, 105.0, 108.0]  # Global steps divisible by 3.
    # Intervals: steps 101-102, 103-105 and 106-108 (the last one spans the epoch boundary).
    np.testing.assert_allclose([h["loss"] for h in recorder.history],
                               [np.mean(losses[0:2]), np.mean(losses[2:5]), np.mean(losses[5:8])],
                               rtol=1e-9)
    assert all(h["learning_rate"] == 0.5 for h in recorder.history)


# --- Precision ------------------------------------------------------------------------------------


def test_mixed_float16_wraps_the_optimizer_in_loss_scaling():
    from keras_bert.training.optimizers import LossScaleOptimizer
    from keras_bert.training.precision import apply_policy
    from keras_bert.training.pretrain import PretrainConfig, build_pretrainer

    config = common.RunConfig(learning_rate=1e-3)
    model = BertClassifier(BertBackbone(**TINY), 2)
    assert not isinstance(common.make_optimizer(config, 10, model),
                          keras.optimizers.LossScaleOptimizer)
    apply_policy(model.backbone, "mixed_float16")  # What run_finetune does with --precision.
    optimizer = common.make_optimizer(config, 10, model)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer, LossScaleOptimizer)  # Overflow check across replicas.
    model.compile(optimizer=optimizer)
    x, y = _rows(4, seed=0)
    logs = model.train_on_batch(x, y, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert int(optimizer.iterations) == 1  # A real (not skipped) update under loss scaling.

    pretrainer = build_pretrainer(PretrainConfig(
        model_dir="unused", preset=None, model_config=TINY, precision="mixed_float16", steps=2,
        jit_compile=False,
    ), tf.distribute.get_strategy())
    assert isinstance(pretrainer.optimizer, keras.optimizers.LossScaleOptimizer)
    assert pretrainer.dtype_policy.name == "mixed_float16"


def test_mixed_policy_survives_keras_save_load(tmp_path):
    x, _ = _rows(2, seed=0)
    backbone = BertBackbone(**TINY, dtype="mixed_bfloat16")
    backbone.save(tmp_path / "backbone.keras")
    loaded = keras.saving.load_model(tmp_path / "backbone.keras")
    assert loaded.get_config()["dtype"]["config"]["name"] == "mixed_bfloat16"
    assert {layer.dtype_policy.name for layer in loaded.transformer_layers} == {"mixed_bfloat16"}
    assert loaded(x)["sequence_output"].dtype == "bfloat16"

    task = BertClassifier(backbone, 2, dropout=0.0)
    before = keras.ops.convert_to_numpy(task(x))
    task.save(tmp_path / "task.keras")
    reloaded = keras.saving.load_model(tmp_path / "task.keras")
    assert reloaded.backbone.dtype_policy.name == "mixed_bfloat16"
    assert reloaded.backbone.token_embedding.dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x)), before)

    # Fine-tuning's way: a float32 model given the run's precision in place, then saved.
    from keras_bert.training.precision import apply_policy

    task = BertClassifier(BertBackbone(**TINY), 2, dropout=0.0)
    apply_policy(task.backbone, "mixed_bfloat16")
    before = keras.ops.convert_to_numpy(task(x))
    task.save(tmp_path / "applied.keras")
    reloaded = keras.saving.load_model(tmp_path / "applied.keras")
    assert reloaded.backbone.dtype_policy.name == "mixed_bfloat16"
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(reloaded(x)), before)


# --- Mirrored: clip after the all-reduce ----------------------------------------------------------

MIRRORED = r"""
import json, sys
import numpy as np
import tensorflow as tf
from keras_bert.training.strategies import configure_logical_cpus
configure_logical_cpus(2)
import keras
from keras_bert.tasks import common

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
out = {}
for precision in ("float32", "mixed_float16"):
    with strategy.scope():
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="dense")])
        model.get_layer("dense").kernel.assign(np.ones((3, 4), "float32"))
        model.get_layer("dense").bias.assign(np.ones(4, "float32"))
        if precision == "mixed_float16":
            model.get_layer("dense").dtype_policy = "mixed_float16"
        config = common.RunConfig(learning_rate=0.1, warmup_fraction=0.0, weight_decay=0.1)
        opt = common.make_optimizer(config, 1000, model)
        opt.build(model.trainable_variables)
    per_replica = json.loads(sys.argv[1])  # [step][replica] -> (kernel grad, bias grad)
    scale = 2.0 ** 15 if precision == "mixed_float16" else 1.0  # LossScaleOptimizer unscales.

    @tf.function
    def step(k0, b0, k1, b1):
        def fn():
            i = tf.distribute.get_replica_context().replica_id_in_sync_group
            k = tf.where(tf.equal(i, 0), k0, k1) * scale
            b = tf.where(tf.equal(i, 0), b0, b1) * scale
            opt.apply_gradients([(k, model.get_layer("dense").kernel), (b, model.get_layer("dense").bias)])
        strategy.run(fn)

    for grads in per_replica:
        step(*[tf.constant(np.array(g, "float32")) for replica in grads for g in replica])
    out[precision] = [np.asarray(v.value).tolist() for v in model.get_layer("dense").weights]

# One replica sees an overflow: every replica skips the step (weights unchanged).
with strategy.scope():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, name="dense")])
    model.get_layer("dense").dtype_policy = "mixed_float16"
    opt = common.make_optimizer(common.RunConfig(learning_rate=0.1), 1000, model)
    opt.build(model.trainable_variables)
before = [np.asarray(v.value).tolist() for v in model.get_layer("dense").weights]

@tf.function
def overflow():
    def fn():
        i = tf.distribute.get_replica_context().replica_id_in_sync_group
        bad = tf.where(tf.equal(i, 1), np.inf, 1.0)
        opt.apply_gradients([(tf.ones((3, 4)) * bad, model.get_layer("dense").kernel),
                             (tf.ones(4), model.get_layer("dense").bias)])
    strategy.run(fn)

overflow()
out["overflow"] = {"before": before, "after": [np.asarray(v.value).tolist() for v in model.get_layer("dense").weights],
                   "scale": float(keras.ops.convert_to_numpy(opt.dynamic_scale))}
print("RESULT" + json.dumps(out))
"""


def _adamw_reference(per_replica, lrs=(0.0, 0.1), wd=0.1, clip=1.0, b1=0.9, b2=0.999, eps=1e-6):
    """NumPy AdamW with the global-norm clip on the *summed* replica gradients (kernel decayed,
    bias not). `lrs`: fine-tuning's schedule at updates 0 and 1 (a 1-update warm-up from 0, then
    cosine decay over 999 updates, still at its peak 0.1)."""
    kernel, bias = np.ones((3, 4)), np.ones(4)
    m = [np.zeros((3, 4)), np.zeros(4)]
    v = [np.zeros((3, 4)), np.zeros(4)]
    for t, (grads, lr) in enumerate(zip(per_replica, lrs, strict=True), start=1):
        g = [np.sum([np.array(r[i]) for r in grads], axis=0) for i in (0, 1)]
        norm = np.sqrt(sum(np.sum(x ** 2) for x in g))
        g = [x * min(1.0, clip / norm) for x in g]
        kernel = kernel - kernel * wd * lr
        new = []
        for i, w in enumerate((kernel, bias)):
            m[i] = b1 * m[i] + (1 - b1) * g[i]
            v[i] = b2 * v[i] + (1 - b2) * g[i] ** 2
            alpha = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            new.append(w - alpha * m[i] / (np.sqrt(v[i]) + eps))
        kernel, bias = new
    return kernel, bias


def test_mirrored_finetuning_clips_after_the_all_reduce():
    rng = np.random.RandomState(0)
    unit_k, unit_b = rng.randn(3, 4), rng.randn(4)
    norm = np.sqrt(np.sum(unit_k ** 2) + np.sum(unit_b ** 2))
    unit_k, unit_b = unit_k / norm, unit_b / norm
    # Step 1: each replica's gradient has norm 0.8 (< clip 1.0), their sum 1.6 (> clip): only a
    # clip after the all-reduce scales it. Step 2: small gradients (sum 0.2, never clipped), so
    # Adam's second update depends on how much step 1 was clipped.
    other_k, other_b = rng.randn(3, 4) * 0.05, rng.randn(4) * 0.05
    per_replica = [
        [(0.8 * unit_k, 0.8 * unit_b), (0.8 * unit_k, 0.8 * unit_b)],
        [(other_k, other_b), (other_k, other_b)],
    ]
    as_json = json.dumps([[[g.tolist() for g in r] for r in s] for s in per_replica])
    result = subprocess.run([sys.executable, "-c", MIRRORED, as_json], env=env(), cwd=ROOT,
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = json.loads(result.stdout.split("RESULT")[-1])
    kernel, bias = _adamw_reference(per_replica)
    # A clip of each replica's part instead (Keras' own) would not clip step 1 at all.
    wrong_kernel, _ = _adamw_reference(per_replica, clip=np.inf)
    assert np.max(np.abs(kernel - wrong_kernel)) > 1e-3  # The check can tell the two apart.
    for precision in ("float32", "mixed_float16"):
        got_kernel, got_bias = (np.array(w) for w in out[precision])
        # float32 (and float16-scaled gradients) vs float64 NumPy: atol 1e-5.
        np.testing.assert_allclose(got_kernel, kernel, atol=1e-5, err_msg=precision)
        np.testing.assert_allclose(got_bias, bias, atol=1e-5, err_msg=precision)
    overflow = out["overflow"]
    assert overflow["after"] == overflow["before"]  # Skipped on both replicas, not applied.
    assert overflow["scale"] == 2.0 ** 14  # The loss scale halved.


# --- Multi-worker --------------------------------------------------------------------------------

WORKER = """
import sys
from tests.training.test_finetune_stack import run_tiny
run_tiny(sys.argv[1], sys.argv[2], epochs=2, strategy="multi-worker")
print("DONE")
"""


def test_multi_worker_finetuning_matches_single_process(tmp_path):
    init = tiny_init(tmp_path / "init")
    procs = start_workers(WORKER, lambda index: [init, str(tmp_path / "multi")])
    try:
        run_tiny(init, str(tmp_path / "single"), epochs=2)  # Meanwhile, the reference.
    except BaseException:
        kill_workers(procs)
        raise
    for out in finish_workers(procs, timeout=300):
        assert "DONE" in out
    meta_multi, multi = _state(tmp_path / "multi")  # Written by the chief only.
    meta_single, single = _state(tmp_path / "single")
    assert meta_multi["step"] == meta_single["step"] == 8
    # Same global batches (2 + 2 rows per worker vs 4), same initial weights, no dropout: the
    # runs differ by float summation order only. Tolerances: losses rtol 1e-5, weights atol 1e-5.
    # Losses: the mean of each 4-step recording interval, and each epoch's training loss.
    losses_multi = [h["loss"] for h in meta_multi["curves"]]
    losses_single = [h["loss"] for h in meta_single["curves"]]
    assert len(losses_multi) == len(losses_single) == 2
    np.testing.assert_allclose(losses_multi, losses_single, rtol=1e-5)
    np.testing.assert_allclose([h["train"]["loss"] for h in meta_multi["eval_history"]],
                               [h["train"]["loss"] for h in meta_single["eval_history"]], rtol=1e-5)
    for got, want in zip(multi, single, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-5)
    assert not np.allclose(single[0], tiny_weights(init)[0])  # It trained.
    # Every worker evaluated on all 8 rows (local predict), so both agree with the reference.
    assert [h["accuracy"] for h in meta_multi["eval_history"]] == [
        h["accuracy"] for h in meta_single["eval_history"]]


def tiny_weights(init: str) -> list[np.ndarray]:
    return keras.saving.load_model(init).get_weights()


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
