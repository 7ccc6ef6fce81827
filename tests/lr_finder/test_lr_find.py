"""lr_find: the ladder, the true batch loss, divergence, exact restoration, edge cases."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_hpt
from keras_hpt import callbacks, schedules
from tests.conftest import make_classifier


def _regression(n=256, features=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, features)).astype("float32")
    y = (x @ rng.normal(size=(features, 1)) + 0.1 * rng.normal(size=(n, 1))).astype("float32")
    return x, y


def _linear_model(optimizer="sgd", learning_rate=0.01):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile({"sgd": keras.optimizers.SGD, "adam": keras.optimizers.Adam}[optimizer](
        learning_rate), "mse")
    return model


@pytest.mark.parametrize("mode", ["exponential", "linear"])
def test_ladder_hits_both_ends(mode):
    x, y = _regression()
    result = keras_hpt.lr_find(_linear_model(), x, y, min_lr=1e-5, max_lr=1e-2, num_steps=30,
                               mode=mode, stop_factor=None, confirm=False)
    expected = (np.geomspace if mode == "exponential" else np.linspace)(1e-5, 1e-2, 30)
    np.testing.assert_allclose(result.learning_rates, expected, rtol=1e-6)
    assert result.stop_reason == "completed" and len(result.losses) == 30


def test_losses_are_the_true_batch_losses_not_the_running_mean():
    """Replays plain SGD on a linear model in NumPy, rate by rate."""
    x, y = _regression(n=64)
    model = _linear_model()
    kernel, bias = [w.astype(np.float64) for w in model.get_weights()]
    result = keras_hpt.lr_find(model, x, y, min_lr=1e-3, max_lr=0.5, num_steps=16,
                               batch_size=16, shuffle=False, stop_factor=None, confirm=False)
    expected = []
    for step, rate in enumerate(np.geomspace(1e-3, 0.5, 16)):
        xb = x[16 * (step % 4):16 * (step % 4 + 1)].astype(np.float64)
        yb = y[16 * (step % 4):16 * (step % 4 + 1)].astype(np.float64)
        error = xb @ kernel + bias - yb
        expected.append(np.mean(error**2))
        kernel = kernel - rate * 2 * xb.T @ error / len(xb)
        bias = bias - rate * 2 * error.mean(axis=0)
    np.testing.assert_allclose(result.losses, expected, rtol=2e-4)


def _snapshot(model):
    return ([np.array(v) for v in model.variables],
            [np.array(v) for v in model.optimizer.variables])


def _assert_unchanged(before: list, model):
    after = sum(_snapshot(model), [])
    assert len(before) == len(after)
    for old, new in zip(before, after):
        np.testing.assert_array_equal(old, new)


OPTIMIZERS = {
    "sgd": lambda lr: keras.optimizers.SGD(lr, momentum=0.9),
    "adam": lambda lr: keras.optimizers.Adam(lr),
    "adamw": lambda lr: keras.optimizers.AdamW(lr, weight_decay=0.01),
}


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
@pytest.mark.parametrize("schedule", [False, True])
def test_restores_every_variable_bitwise(optimizer, schedule, digits):
    x, y = digits
    rate = schedules.CosineDecay(0.01, 100) if schedule else 0.01
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                              keras.layers.Dropout(0.2), keras.layers.Dense(10)])
    model.compile(OPTIMIZERS[optimizer](rate),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # slots and iterations are non-zero
    weights, slots = _snapshot(model)
    metric_state = [float(v) for m in model.metrics for v in m.variables]
    held = model.optimizer._learning_rate
    result = keras_hpt.lr_find(model, x, y, min_lr=1e-5, max_lr=10.0, num_steps=40, seed=0)
    assert result.steps > 40  # the confirmation runs trained too
    after_weights, after_slots = _snapshot(model)
    for before, after in zip(weights + slots, after_weights + after_slots):
        np.testing.assert_array_equal(before, after)
    assert [float(v) for m in model.metrics for v in m.variables] == metric_state
    assert model.optimizer._learning_rate is held


@pytest.mark.parametrize("schedule", [False, True])
def test_fit_after_lr_find_equals_fit_without_it(schedule, digits):
    x, y = digits

    def trained(with_finder):
        keras.utils.set_random_seed(11)
        rate = schedules.StepDecay(0.05, step_size=5) if schedule else 0.05
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                                  keras.layers.Dropout(0.3), keras.layers.Dense(10)])
        model.compile(keras.optimizers.Adam(rate),
                      keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        if with_finder:
            keras_hpt.lr_find(model, x, y, num_steps=30, seed=1)
        model.fit(x, y, batch_size=32, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(trained(True), trained(False)):
        np.testing.assert_array_equal(a, b)


def _drive(losses, stop_factor=4.0):
    """Feeds hand-made batch losses to the callback; returns it."""
    finder = callbacks.LRFinder(1e-5, 1.0, num_steps=len(losses), stop_factor=stop_factor)
    finder.set_model(_linear_model())
    finder._rates = np.geomspace(1e-5, 1.0, len(losses))
    for loss in losses:
        finder.on_train_batch_end(0, {"loss": loss})
        if finder.stop_reason:
            break
    return finder


def test_divergence_stop_on_a_crafted_curve():
    losses = [2.0, 1.8, 1.5, 1.0, 0.6, 0.5, 0.5, 0.55, 1.0, 2.2, 2.4, 2.6, 3.0, 9.0]
    finder = _drive(losses)
    # The best median of 5 is 0.55; the median first exceeds 4 x 0.55 = 2.2 at index 12.
    assert finder.stop_reason == "diverged" and finder.diverged_at == 12


def test_divergence_with_negative_losses():
    losses = [-1.0, -1.5, -2.0, -2.0, -2.0, 0.0, 3.0, 4.5, 5.0, 5.0, 5.0, 5.0]
    finder = _drive(losses)
    # Best median -2; stop once the median of the last 5 is above -2 + 3 * 2 = 4.
    assert finder.stop_reason == "diverged" and finder.diverged_at == 9


def test_nan_stops_at_once():
    finder = _drive([1.0, 0.9, float("nan"), 0.5] + [0.5] * 8)
    assert finder.stop_reason == "non_finite" and finder.diverged_at == 2


def test_diverging_model_stops_early_and_still_suggests():
    x, y = _regression()
    result = keras_hpt.lr_find(_linear_model(), x, y, min_lr=1e-5, max_lr=100.0, num_steps=60,
                               seed=0)
    assert result.diverged and result.diverged_at < 59
    assert 1e-3 <= result.suggested_lr <= 1.0  # SGD on this problem is stable below ~0.5


def test_nan_at_the_first_step_gives_a_result_without_suggestion():
    x, y = _regression()
    y[:] = np.nan
    result = keras_hpt.lr_find(_linear_model(), x, y, num_steps=20)
    assert result.stop_reason == "non_finite" and result.diverged_at == 0
    assert result.suggested_lr is None and "finite" in result.reason


def test_flat_curve_gives_no_suggestion():
    x, y = _regression()
    result = keras_hpt.lr_find(_linear_model(), x, y, min_lr=1e-12, max_lr=1e-10, num_steps=20,
                               confirm=False)
    assert result.suggested_lr is None and "flat" in result.reason


@pytest.mark.parametrize("samples", [16, 40])
def test_short_data_and_a_single_batch_are_cycled(samples):
    x, y = _regression(n=samples)
    result = keras_hpt.lr_find(_linear_model(), x, y, min_lr=1e-4, max_lr=0.1, num_steps=25,
                               batch_size=16, confirm=False, stop_factor=None)
    assert result.stop_reason == "completed" and len(result.losses) == 25


def test_generator_that_runs_out_says_so():
    x, y = _regression(n=160)
    batches = ((x[i:i + 16], y[i:i + 16]) for i in range(0, 160, 16))
    with pytest.warns(UserWarning, match="ran out of data"):
        result = keras_hpt.lr_find(_linear_model(), batches, min_lr=1e-4, max_lr=0.1,
                                   num_steps=30, confirm=False)
    assert result.stop_reason == "data_exhausted" and len(result.losses) == 10


def test_tf_data_and_endless_generators():
    x, y = _regression()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    result = keras_hpt.lr_find(_linear_model(), dataset, min_lr=1e-4, max_lr=1.0, num_steps=20,
                               stop_factor=None, confirm=False)
    assert len(result.losses) == 20  # 8 batches, cycled

    def endless():
        while True:
            for i in range(0, 256, 32):
                yield x[i:i + 32], y[i:i + 32]

    result = keras_hpt.lr_find(_linear_model(), endless(), min_lr=1e-4, max_lr=1.0,
                               num_steps=20, confirm=False)
    assert result.stop_reason in ("completed", "diverged") and len(result.losses) >= 10


def test_steps_per_execution_holds_each_rate_for_a_block(digits):
    x, y = digits
    model = make_classifier(learning_rate=0.01, steps_per_execution=4)
    model.fit(x, y, epochs=1, verbose=0)  # builds the optimizer: the snapshot sees every slot
    weights, slots = _snapshot(model)
    result = keras_hpt.lr_find(model, x, y, min_lr=1e-4, max_lr=1.0, num_steps=12,
                               stop_factor=None, confirm=False)
    assert len(result.losses) == 12 and result.steps == 48
    _assert_unchanged(weights + slots, model)


def test_mixed_precision(digits):
    x, y = digits
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = make_classifier(learning_rate=0.01)
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        model.fit(x, y, epochs=1, verbose=0)
        weights, slots = _snapshot(model)
        result = keras_hpt.lr_find(model, x, y, min_lr=1e-4, max_lr=10.0, num_steps=30,
                                   confirm=False)
        assert len(result.losses) >= 10 and np.isfinite(result.losses[0])
        _assert_unchanged(weights + slots, model)
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_verbose_prints_the_suggestion(capsys):
    x, y = _regression()
    result = keras_hpt.lr_find(_linear_model(), x, y, num_steps=20, confirm=False, verbose=1)
    assert f"suggested learning rate {result.suggested_lr}" in capsys.readouterr().out


def test_apply_sets_the_suggestion_after_restoring():
    x, y = _regression()
    model = _linear_model(learning_rate=0.01)
    result = keras_hpt.lr_find(model, x, y, min_lr=1e-4, max_lr=10.0, num_steps=40, apply=True,
                               seed=0)
    assert float(model.optimizer.learning_rate) == pytest.approx(result.suggested_lr)
    with pytest.raises(ValueError, match="apply=True"):
        keras_hpt.lr_find(_linear_model(learning_rate=schedules.CosineDecay(0.1, 10)), x, y,
                          apply=True)


def test_every_rule_plot_and_dict():
    x, y = _regression()
    result = keras_hpt.lr_find(_linear_model(), x, y, min_lr=1e-5, max_lr=10.0, num_steps=60,
                               seed=0)
    for method in ("steepest", "minimum", "valley", "confirmed", "auto"):
        assert 1e-5 <= result.suggestion(method) <= 10.0
    assert result.default_rule == "confirmed"
    assert set(result.confirmation) == set(result.candidates())
    data = json.loads(json.dumps(result.to_dict()))
    assert data["suggested_lr"] == result.suggested_lr
    figure = result.plot()
    assert figure.axes[0].get_xscale() == "log"
    with pytest.raises(ValueError, match="`method` must be one of"):
        result.suggestion("slide")


def test_callback_in_a_users_fit_restores():
    x, y = _regression()
    model = _linear_model(learning_rate=0.01)
    model.fit(x, y, epochs=1, verbose=0)
    weights, slots = _snapshot(model)
    finder = callbacks.LRFinder(min_lr=1e-4, max_lr=1.0, num_steps=20)
    model.fit(x, y, batch_size=16, epochs=3, callbacks=[finder], verbose=0)
    assert len(finder.losses) == 20 and finder.learning_rates[-1] == pytest.approx(1.0)
    _assert_unchanged(weights + slots, model)


@pytest.mark.parametrize("kwargs, message", [
    (dict(min_lr=1.0, max_lr=0.1), "`min_lr` must be smaller than max_lr"),
    (dict(min_lr=0.0), "`min_lr` must be a positive number"),
    (dict(max_lr=-1.0), "`max_lr` must be a positive number"),
    (dict(num_steps=5), "`num_steps` must be an integer >= 10"),
    (dict(mode="log"), "`mode` must be one of"),
    (dict(stop_factor=1.0), "`stop_factor`"),
])
def test_bad_arguments(kwargs, message):
    x, y = _regression()
    with pytest.raises(ValueError, match=message):
        keras_hpt.lr_find(_linear_model(), x, y, **kwargs)


def test_uncompiled_model():
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="must be compiled"):
        keras_hpt.lr_find(model, *_regression())


def test_under_mirrored_strategy_with_two_devices():
    from tests.distributed import run_under_mirrored_strategy

    result = run_under_mirrored_strategy("""
        import keras_hpt

        with strategy.scope():
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(16, activation="relu"),
                                      keras.layers.Dense(10)])
            model.compile(keras.optimizers.Adam(0.01),
                          keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        before = [np.array(v) for v in model.variables + model.optimizer.variables]
        found = keras_hpt.lr_find(model, x, y, min_lr=1e-5, max_lr=10.0, num_steps=30, seed=0)
        after = [np.array(v) for v in model.variables + model.optimizer.variables]
        result = dict(replicas=strategy.num_replicas_in_sync, steps=len(found.losses),
                      suggested=found.suggested_lr, reason=found.stop_reason,
                      same=all(np.array_equal(a, b) for a, b in zip(before, after)))
    """)
    assert result["replicas"] == 2 and result["same"]
    assert result["steps"] >= 10 and result["suggested"] is not None


def _noisy_four_classes(seed):
    from sklearn.datasets import make_classification

    x, y = make_classification(n_samples=400, n_features=10, n_informative=6, n_classes=4,
                               flip_y=0.3, random_state=seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(4, activation="softmax")])
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    return model, x.astype("float32"), y


@pytest.mark.parametrize("seed", [2, 3])
def test_noisy_multiclass_curve_that_falls_gets_a_suggestion(seed):
    # Per-batch noise on 30 % label noise is large (a robust spread of about 0.12), yet the
    # smoothed curve falls by more than 0.25 before it diverges: not flat.
    model, x, y = _noisy_four_classes(seed)
    result = keras_hpt.lr_find(model, x, y, batch_size=32, seed=seed, confirm=False)
    start, stop = keras_hpt.lr_finder.curve.usable_range(len(result.smoothed_losses))
    window = result.smoothed_losses[start:stop]
    assert window[0] - window.min() > 0.2
    assert result.suggested_lr is not None and result.reason is None


def test_noisy_multiclass_curve_that_never_falls_stays_flat():
    model, x, _ = _noisy_four_classes(2)
    labels = np.random.default_rng(0).integers(0, 4, len(x))
    result = keras_hpt.lr_find(model, x, labels, min_lr=1e-12, max_lr=1e-10, batch_size=32,
                               seed=0, confirm=False)
    assert result.suggested_lr is None and "flat" in result.reason


def test_flatness_is_judged_against_the_smoothed_curves_noise():
    rates = np.geomspace(1e-5, 1.0, 100)
    # A fall of 0.35 around 3e-3, under per-batch noise of 0.13: 3x the per-batch noise
    # (0.39) would call it flat; the smoothed curve's noise (about 0.04) does not.
    falls = 1.45 - 0.35 / (1 + np.exp(-(np.log10(rates) + 2.5) * 3))
    seen_falling, seen_flat = 0, 0
    for seed in range(20):
        noise = np.random.default_rng(seed).normal(0.0, 0.13, len(rates))
        falling = keras_hpt.LRFinderResult(rates, falls + noise, "completed")
        flat = keras_hpt.LRFinderResult(rates, np.full(len(rates), 1.4) + noise, "completed")
        seen_falling += falling.suggestion("minimum") is not None
        seen_flat += flat.suggestion("minimum") is None and "flat" in flat.reason
    assert seen_falling == 20 and seen_flat >= 19
