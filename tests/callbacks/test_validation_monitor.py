"""ValidationMonitor: cadence, early stopping in steps, NaN/Inf stops, data kinds."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_hpt import callbacks
from tests.conftest import make_classifier


class _PoisonAfter(keras.layers.Layer):
    """Identity until `step` training calls, then adds `value` (NaN or Inf) in training."""

    def __init__(self, step, value=np.nan, **kwargs):
        super().__init__(**kwargs)
        self.step, self.value = step, value
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=False):
        if not training:
            return x
        self.calls.assign_add(1.0)
        # Added, not multiplied, so no NaN gradient leaks in before the step.
        return x + keras.ops.where(self.calls > self.step, self.value, 0.0)


def _poisoned_model(step, value=np.nan, **compile_kwargs):
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10),
                              _PoisonAfter(step, value)])
    model.compile(keras.optimizers.SGD(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"], **compile_kwargs)
    return model


class _StepCounter(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.steps = 0

    def on_train_batch_end(self, batch, logs=None):
        self.steps = int(self.model.optimizer.iterations)


@pytest.mark.parametrize("every_n_steps, epochs", [(5, 3), (8, 2), (7, 4), (100, 1)])
def test_evaluates_exactly_every_n_steps(every_n_steps, epochs, digits):
    x, y = digits
    model = make_classifier()
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=every_n_steps)
    model.fit(x[:128], y[:128], batch_size=16, epochs=epochs, callbacks=[monitor], verbose=0)
    total = 8 * epochs
    steps = [step for step, _ in monitor.evaluations]
    assert steps == list(range(every_n_steps, total + 1, every_n_steps))
    assert len(steps) == total // every_n_steps


def test_evaluation_matches_an_independent_evaluate(digits):
    x, y = digits
    model = make_classifier(metrics=["accuracy"])
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=8)
    model.fit(x[:128], y[:128], batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    last = monitor.evaluations[-1][1]
    loss, accuracy = model.evaluate(x[200:], y[200:], verbose=0)
    assert last["val_loss"] == pytest.approx(loss, rel=1e-6)
    assert last["val_accuracy"] == pytest.approx(accuracy)


@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_training_metrics_are_untouched(steps_per_execution, digits):
    x, y = digits
    histories = []
    for extra in ([], [callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=3)]):
        keras.utils.set_random_seed(3)
        model = make_classifier(metrics=["accuracy"], steps_per_execution=steps_per_execution)
        history = model.fit(x[:128], y[:128], batch_size=16, epochs=3, callbacks=extra,
                            verbose=0)
        histories.append(history.history)
    plain, monitored = histories
    for name in ("loss", "accuracy"):
        assert monitored[name] == plain[name]  # identical, not merely close
    assert "val_loss" in monitored and "val_loss" not in plain


class _Scripted(callbacks.ValidationMonitor):
    """Replaces the evaluation by a scripted metric sequence; records the weights."""

    def __init__(self, values, **kwargs):
        super().__init__((np.zeros((1, 64)), np.zeros(1)), monitor="val_loss", mode="min",
                         **kwargs)
        self.values = values
        self.weights_at = {}

    def _evaluate(self):
        self.weights_at[self.steps_done] = self.model.get_weights()
        return {"val_loss": self.values[len(self.evaluations)]}


def test_stops_exactly_after_early_stopping_rounds_and_restores_best(digits):
    x, y = digits
    # Evaluations every 2 steps: best at step 6, no improvement at 8, 10, 12 -> stop at 12.
    monitor = _Scripted([0.9, 0.7, 0.5, 0.6, 0.55, 0.51, 0.1], every_n_steps=2,
                        early_stopping_rounds=6, restore_best_weights=True)
    counter = _StepCounter()
    history = make_classifier().fit(x[:128], y[:128], batch_size=8, epochs=5,
                                    callbacks=[monitor, counter], verbose=0)
    assert monitor.stop_reason == "no_improvement" and monitor.stopped_step == 12
    assert counter.steps == 12 and len(history.epoch) == 1  # stopped mid-epoch
    assert monitor.best == 0.5 and monitor.best_step == 6
    for restored, best in zip(monitor.model.get_weights(), monitor.weights_at[6]):
        np.testing.assert_array_equal(restored, best)


def test_relative_min_delta_in_steps(digits):
    x, y = digits
    monitor = _Scripted([1.0, 0.995, 0.99, 0.985, 0.98], every_n_steps=4,
                        early_stopping_rounds=8, min_delta=0.01, min_delta_mode="rel")
    make_classifier().fit(x[:128], y[:128], batch_size=8, epochs=2, callbacks=[monitor],
                          verbose=0)
    assert monitor.stopped_step == 12 and monitor.best_step == 4  # 0.5 % steps do not count


@pytest.mark.parametrize("value", [np.nan, np.inf])
@pytest.mark.parametrize("steps_per_execution", [1, 4])
def test_stops_at_the_step_the_training_loss_turns_non_finite(value, steps_per_execution, digits):
    x, y = digits
    model = _poisoned_model(step=19, value=value, steps_per_execution=steps_per_execution)
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=5,
                                          restore_best_weights=True)
    counter = _StepCounter()
    model.fit(x[:128], y[:128], batch_size=16, epochs=10, callbacks=[monitor, counter],
              verbose=0)
    # The 20th step is the first non-finite one; a 4-step block ends at step 20 too.
    assert monitor.stop_reason == "non_finite" and monitor.stopped_step == 20
    assert counter.steps == 20
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())
    # Restored from the last finite evaluation: step 15, or the end of its block.
    assert monitor.best_step == (15 if steps_per_execution == 1 else 16)


def test_nan_before_any_evaluation_restores_the_initial_weights(digits):
    x, y = digits
    model = _poisoned_model(step=2)
    before = model.get_weights()
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=50,
                                          restore_best_weights=True)
    model.fit(x[:128], y[:128], batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    assert monitor.stop_reason == "non_finite" and monitor.evaluations == []
    for restored, initial in zip(model.get_weights(), before):
        np.testing.assert_array_equal(restored, initial)


def test_non_finite_validation_metric_stops(digits):
    x, y = digits
    x_val = x[200:].copy()
    x_val[0, 0] = np.inf
    model = make_classifier()
    monitor = callbacks.ValidationMonitor((x_val, y[200:]), every_n_steps=3)
    model.fit(x[:128], y[:128], batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    assert monitor.stop_reason == "non_finite" and monitor.stopped_step == 3


def test_raise_error_raises_after_restoring(digits):
    x, y = digits
    model = _poisoned_model(step=7)
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=4,
                                          raise_error=True, restore_best_weights=True)
    with pytest.raises(callbacks.NonFiniteError, match="step 8"):
        model.fit(x[:128], y[:128], batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


def _generator(x, y, batch_size=16):
    while True:
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]


class _Digits(keras.utils.PyDataset):
    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return self.x[i * 14:(i + 1) * 14], self.y[i * 14:(i + 1) * 14]


VALIDATION_KINDS = {
    "arrays": lambda x, y: dict(validation_data=(x, y)),
    "arrays_with_weights": lambda x, y: dict(validation_data=(x, y, np.ones(len(y)))),
    "tf_data": lambda x, y: dict(validation_data=tf.data.Dataset.from_tensor_slices((x, y))
                                 .batch(16)),
    "generator_function": lambda x, y: dict(
        validation_data=lambda: ((x[i:i + 16], y[i:i + 16]) for i in range(0, len(x), 16))),
    "endless_generator": lambda x, y: dict(validation_data=_generator(x, y), validation_steps=4),
    "py_dataset": lambda x, y: dict(validation_data=_Digits(x, y)),
}


@pytest.mark.parametrize("kind", sorted(VALIDATION_KINDS))
def test_validation_data_kinds_give_the_same_loss(kind, digits):
    x, y = digits
    x_val, y_val = x[200:256], y[200:256]
    model = make_classifier()
    monitor = callbacks.ValidationMonitor(every_n_steps=4, **VALIDATION_KINDS[kind](x_val, y_val))
    model.fit(x[:64], y[:64], batch_size=16, epochs=2, callbacks=[monitor], verbose=0)
    assert [s for s, _ in monitor.evaluations] == [4, 8]
    expected = model.evaluate(x_val, y_val, verbose=0)
    assert monitor.evaluations[-1][1]["val_loss"] == pytest.approx(expected, rel=1e-5)


def test_jit_compile_and_epoch_logs(digits):
    x, y = digits
    model = make_classifier(jit_compile=True, metrics=["accuracy"])
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=3,
                                          monitor="val_accuracy")
    history = model.fit(x[:128], y[:128], batch_size=16, epochs=2, callbacks=[monitor],
                        verbose=0)
    assert monitor.monitor_op == keras.ops.greater  # "auto" found that accuracy goes up
    assert history.history["val_accuracy"][-1] == monitor.evaluations[-1][1]["val_accuracy"]


def test_fits_own_validation_is_not_overwritten(digits):
    x, y = digits
    model = make_classifier()
    monitor = callbacks.ValidationMonitor((x[200:210], y[200:210]), every_n_steps=3)
    history = model.fit(x[:128], y[:128], batch_size=16, epochs=1, callbacks=[monitor],
                        validation_data=(x[128:200], y[128:200]), verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(
        model.evaluate(x[128:200], y[128:200], verbose=0), rel=1e-6)


def test_unknown_monitor_is_reported_with_the_available_names(digits):
    x, y = digits
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=2, monitor="val_acc")
    with pytest.raises(ValueError, match="`val_acc`.*Available: val_loss"):
        make_classifier().fit(x[:64], y[:64], batch_size=16, callbacks=[monitor], verbose=0)


def test_validation_data_of_the_wrong_shape(digits):
    x, y = digits
    monitor = callbacks.ValidationMonitor((x[200:, :32], y[200:]), every_n_steps=2)
    with pytest.raises(ValueError, match=r"expects samples of shape \(64,\).*\(32,\)"):
        make_classifier().fit(x[:64], y[:64], batch_size=16, callbacks=[monitor], verbose=0)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(mode="biggest"), ValueError, "`mode` must be one of"),
    (dict(every_n_steps=-5), ValueError, "`every_n_steps` must be an integer >= 1"),
    (dict(every_n_steps=0), ValueError, "`every_n_steps`"),
    (dict(early_stopping_rounds=-1), ValueError, "`early_stopping_rounds`"),
    (dict(min_delta=-0.1), ValueError, "`min_delta` must be a non-negative number"),
    (dict(validation_steps=0), ValueError, "`validation_steps`"),
    (dict(validation_data=(np.zeros((4, 64)), np.zeros(5))), ValueError, "same number"),
    (dict(validation_data=(np.zeros((4, 64)),)), ValueError, r"\(x, y\)"),
    (dict(validation_data=iter([])), ValueError, "validation_steps"),
    (dict(validation_data=3.0), TypeError, "`validation_data` must be"),
])
def test_bad_arguments(kwargs, error, message):
    arguments = dict(validation_data=(np.zeros((4, 64)), np.zeros(4)))
    arguments.update(kwargs)
    with pytest.raises(error, match=message):
        callbacks.ValidationMonitor(**arguments)


def test_reusable_across_fits(digits):
    x, y = digits
    model = make_classifier()
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=4)
    model.fit(x[:64], y[:64], batch_size=16, epochs=1, callbacks=[monitor], verbose=0)
    model.fit(x[:64], y[:64], batch_size=16, epochs=1, callbacks=[monitor], verbose=0)
    assert [s for s, _ in monitor.evaluations] == [8]  # global steps: 4 was the first fit's


def test_under_mirrored_strategy_with_two_devices():
    from tests.distributed import run_under_mirrored_strategy

    result = run_under_mirrored_strategy("""
        from keras_hpt.callbacks import ValidationMonitor

        class Poison(keras.layers.Layer):
            def build(self, shape):
                self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                             aggregation="only_first_replica")
            def call(self, x, training=False):
                if not training:
                    return x
                self.calls.assign_add(1.0)
                return x + keras.ops.where(self.calls > 11, np.nan, 0.0)

        with strategy.scope():
            model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10), Poison()])
            model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                          metrics=["accuracy"])
        monitor = ValidationMonitor((x[200:], y[200:]), every_n_steps=4,
                                    restore_best_weights=True)
        history = model.fit(x[:128], y[:128], batch_size=16, epochs=5, callbacks=[monitor],
                            verbose=0)
        result = dict(
            replicas=strategy.num_replicas_in_sync,
            steps=[s for s, _ in monitor.evaluations],
            reason=monitor.stop_reason, stopped=monitor.stopped_step,
            finite=all(bool(np.all(np.isfinite(w))) for w in model.get_weights()),
            val_loss=monitor.evaluations[-1][1]["val_loss"],
            evaluate=float(model.evaluate(x[200:], y[200:], verbose=0)[0]),
            best_step=monitor.best_step,
        )
    """)
    assert result["replicas"] == 2
    assert result["steps"] == [4, 8] and result["reason"] == "non_finite"
    assert result["stopped"] == 12 and result["finite"]
    assert result["best_step"] == 8
