"""EarlyStopping: Keras' own tests against ours, parity with Keras, and the extras."""

import keras
import numpy as np
import pytest
from keras.src import callbacks as keras_callbacks
from keras.src.callbacks import early_stopping_test as keras_peer

from keras_hpt import callbacks
from tests.conftest import make_classifier


@pytest.fixture
def swap_in_ours(monkeypatch):
    monkeypatch.setattr(keras_callbacks, "EarlyStopping", callbacks.EarlyStopping)


@pytest.mark.usefixtures("swap_in_ours")
class TestKerasOwnTestsPassWithOurs(keras_peer.EarlyStoppingTest):
    """keras/src/callbacks/early_stopping_test.py, run against our class."""


class _FakeModel:
    """Weights are the index of the epoch they come from, as in Keras' tests."""

    def __init__(self):
        self.stop_training = False
        self.weights = -1

    def get_weights(self):
        return self.weights

    def set_weights(self, weights):
        self.weights = weights


def _drive(callback, values, monitor="val_loss"):
    """Feeds hand-made epoch logs; returns the number of epochs run."""
    model = _FakeModel()
    callback.set_model(model)
    callback.on_train_begin()
    epochs = 0
    for epoch, value in enumerate(values):
        epochs += 1
        model.weights = epoch
        callback.on_epoch_end(epoch, {monitor: value})
        if model.stop_training:
            break
    callback.on_train_end()
    return epochs, model.weights


def _set_mode(callback):
    callback.monitor_op = keras.ops.less  # what Keras infers for "val_loss"
    callback.min_delta *= -1


@pytest.fixture
def stopper_factory():
    def make(**kwargs):
        callback = callbacks.EarlyStopping(**kwargs)
        _set_mode(callback)
        return callback
    return make


def test_relative_min_delta(stopper_factory):
    # 1.0 -> 0.995 is a 0.5 % gain: below a 1 % relative min_delta, above 0.001 absolute.
    values = [1.0, 0.995, 0.991, 0.99, 0.985]
    relative = stopper_factory(patience=2, min_delta=0.01, min_delta_mode="rel")
    assert _drive(relative, values)[0] == 3 and relative.stop_reason == "patience"
    absolute = stopper_factory(patience=2, min_delta=0.001)
    assert _drive(absolute, values)[0] == 5 and absolute.stop_reason is None


@pytest.mark.parametrize("mode, values, stop_at", [
    ("abs", [1.0, 0.8, 0.9, 1.05, 0.7], 4),   # 1.05 - 0.8 = 0.25 > 0.2
    ("rel", [1.0, 0.8, 0.9, 0.99, 0.7], 4),   # 0.99 is 23.75 % above 0.8 > 20 %
])
def test_divergence_stop(stopper_factory, mode, values, stop_at):
    callback = stopper_factory(patience=10, divergence_delta=0.2, min_delta_mode=mode,
                               restore_best_weights=True)
    epochs, weights = _drive(callback, values)
    assert epochs == stop_at and callback.stop_reason == "divergence"
    assert callback.best == 0.8 and callback.best_epoch == 1 and weights == 1


def test_divergence_with_negative_values_in_max_mode():
    callback = callbacks.EarlyStopping(monitor="score", mode="max", patience=10,
                                       divergence_delta=0.5, min_delta_mode="rel")
    callback.monitor_op = keras.ops.greater
    epochs, _ = _drive(callback, [-2.0, -1.0, -1.4, -1.6], monitor="score")
    assert epochs == 4 and callback.stop_reason == "divergence"  # -1.6 is 60 % below -1.0


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_stops_and_restores_the_best(stopper_factory, bad):
    callback = stopper_factory(patience=10, restore_best_weights=True)
    epochs, weights = _drive(callback, [0.5, 0.4, 0.45, bad, 0.1])
    assert epochs == 4 and callback.stop_reason == "non_finite" and callback.stopped_epoch == 3
    assert weights == 1 and callback.best == 0.4


def test_non_finite_first_epoch_restores_the_weights_from_before_training(stopper_factory):
    callback = stopper_factory(patience=3, restore_best_weights=True)
    epochs, weights = _drive(callback, [float("nan"), 0.3])
    assert epochs == 1 and callback.stop_reason == "non_finite" and weights == -1


def test_non_finite_can_be_ignored_like_keras(stopper_factory):
    callback = stopper_factory(patience=1, terminate_on_nan=False)
    epochs, _ = _drive(callback, [0.5, float("nan"), 0.4])
    assert epochs == 2 and callback.stop_reason == "patience"


def test_baseline_reason(stopper_factory):
    callback = stopper_factory(patience=2, baseline=0.1)
    assert _drive(callback, [0.5, 0.6, 0.7, 0.8])[0] == 2
    assert callback.stop_reason == "baseline"
    beaten = stopper_factory(patience=2, baseline=0.55)
    assert _drive(beaten, [0.5, 0.6, 0.7, 0.8])[0] == 3
    assert beaten.stop_reason == "patience"


def test_restores_best_at_the_last_epoch_too(stopper_factory):
    callback = stopper_factory(patience=10, restore_best_weights=True)
    epochs, weights = _drive(callback, [0.5, 0.2, 0.3, 0.4])
    assert epochs == 4 and callback.stop_reason is None and weights == 1


def _data(seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(96, 64)).astype("float32")
    return x, rng.integers(0, 10, 96)


@pytest.mark.parametrize("options", [
    dict(patience=2), dict(patience=1, min_delta=0.05), dict(patience=3, baseline=1.0),
    dict(patience=2, restore_best_weights=True), dict(patience=0, start_from_epoch=3),
    dict(patience=2, restore_best_weights=True, monitor="val_loss", mode="min"),
])
def test_same_stop_and_weights_as_keras(options):
    x, y = _data()
    results = []
    for cls in (keras.callbacks.EarlyStopping, callbacks.EarlyStopping):
        keras.utils.set_random_seed(7)
        model = make_classifier(learning_rate=0.5)  # large: validation loss soon rises
        stopper = cls(**options)
        history = model.fit(x[:64], y[:64], validation_data=(x[64:], y[64:]), epochs=25,
                            batch_size=16, callbacks=[stopper], verbose=0)
        results.append((len(history.epoch), stopper.stopped_epoch, stopper.best_epoch,
                        model.get_weights()))
    (keras_epochs, keras_stop, keras_best, keras_w), (epochs, stop, best, weights) = results
    assert (epochs, stop, best) == (keras_epochs, keras_stop, keras_best)
    assert epochs < 25  # the case really stops early
    for a, b in zip(keras_w, weights):
        np.testing.assert_array_equal(a, b)


class _NaNAfter(keras.layers.Layer):
    """Passes its input through until `step` training calls, then emits NaN."""

    def __init__(self, step, **kwargs):
        super().__init__(**kwargs)
        self.step = step
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False,
                                     dtype="float32")

    def call(self, x, training=False):
        if training:
            self.calls.assign_add(1.0)
        # Added, not multiplied, so the gradient stays finite until the loss is NaN.
        poison = keras.ops.where(self.calls > self.step, np.nan, 0.0)
        return x + poison if training else x


def test_real_fit_stops_on_nan_loss_with_finite_weights(digits):
    x, y = digits
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10),
                              _NaNAfter(step=20)])
    model.compile("sgd", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    stopper = callbacks.EarlyStopping(monitor="loss", patience=5, restore_best_weights=True)
    history = model.fit(x[:128], y[:128], batch_size=16, epochs=10, callbacks=[stopper],
                        verbose=0)  # 8 steps per epoch: NaN from the third epoch
    assert stopper.stop_reason == "non_finite" and len(history.epoch) == 3
    assert stopper.best_epoch == 1
    assert all(np.all(np.isfinite(w)) for w in model.get_weights())


@pytest.mark.parametrize("kwargs, name", [
    (dict(mode="minimum"), "mode"), (dict(patience=-1), "patience"),
    (dict(min_delta=-0.1), "min_delta"), (dict(min_delta_mode="ratio"), "min_delta_mode"),
    (dict(divergence_delta=0), "divergence_delta"), (dict(start_from_epoch=-2), "start_from_epoch"),
])
def test_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be"):
        callbacks.EarlyStopping(**kwargs)


def test_config_round_trip_after_training(stopper_factory):
    callback = stopper_factory(min_delta=0.1, patience=2)
    _drive(callback, [1.0, 0.5])
    restored = callbacks.EarlyStopping.from_config(callback.get_config())
    assert restored.get_config() == callback.get_config()
    assert callback.get_config()["min_delta"] == 0.1
