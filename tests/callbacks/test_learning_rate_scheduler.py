"""LearningRateScheduler per epoch and per step, and Keras' own tests against it."""

import keras
import numpy as np
import pytest
from keras.src import callbacks as keras_callbacks
from keras.src.callbacks import learning_rate_scheduler_test as keras_peer

from keras_hpt import callbacks, schedules
from tests.conftest import make_classifier


@pytest.fixture
def swap_in_ours(monkeypatch):
    monkeypatch.setattr(keras_callbacks, "LearningRateScheduler", callbacks.LearningRateScheduler)


@pytest.mark.usefixtures("swap_in_ours")
class TestKerasOwnTestsPassWithOurs(keras_peer.LearningRateSchedulerTest):
    """keras/src/callbacks/learning_rate_scheduler_test.py, run against our class."""


class _RecordRates(keras.callbacks.Callback):
    """Records the rate the optimizer holds as each training step begins."""

    def on_train_begin(self, logs=None):
        self.rates = []

    def on_train_batch_begin(self, batch, logs=None):
        self.rates.append(float(self.model.optimizer.learning_rate))


def _fit(model, digits, callbacks_, epochs=3, batch_size=32, **kwargs):
    x, y = digits
    return model.fit(x[:128], y[:128], batch_size=batch_size, epochs=epochs,
                     callbacks=callbacks_, verbose=0, **kwargs)


def test_step_unit_sets_every_step_from_a_schedule_object(digits):
    model = make_classifier(learning_rate=1.0)
    schedule = schedules.CosineDecay(0.1, decay_steps=10, min_learning_rate=0.01)
    recorder = _RecordRates()
    history = _fit(model, digits, [callbacks.LearningRateScheduler(schedule, "step"), recorder])
    steps = np.arange(12)  # 3 epochs of 4 steps
    expected = 0.01 + 0.09 * 0.5 * (1 + np.cos(np.pi * np.minimum(steps, 10) / 10))
    np.testing.assert_allclose(recorder.rates, expected, atol=1e-7)
    np.testing.assert_allclose(history.history["learning_rate"], expected[[3, 7, 11]], atol=1e-7)


def test_step_unit_with_a_function_of_step_and_rate(digits):
    model = make_classifier(learning_rate=0.1)
    recorder = _RecordRates()
    halve = callbacks.LearningRateScheduler(lambda step, lr: lr * 0.5 if step % 2 else lr, "step")
    _fit(model, digits, [halve, recorder], epochs=1)
    np.testing.assert_allclose(recorder.rates, [0.1, 0.05, 0.05, 0.025], rtol=1e-6)


def test_epoch_unit_with_a_schedule_object_uses_the_epoch_index(digits):
    model = make_classifier(learning_rate=1.0)
    recorder = _RecordRates()
    scheduler = callbacks.LearningRateScheduler(schedules.StepDecay(0.1, step_size=2))
    history = _fit(model, digits, [scheduler, recorder], epochs=5)
    np.testing.assert_allclose(history.history["learning_rate"],
                               [0.1, 0.1, 0.05, 0.05, 0.025], rtol=1e-6)
    assert recorder.rates[:4] == [pytest.approx(0.1)] * 4


def test_step_unit_continues_where_a_previous_fit_stopped(digits):
    model = make_classifier(learning_rate=1.0)
    scheduler = callbacks.LearningRateScheduler(schedules.StepDecay(0.1, step_size=6), "step")
    _fit(model, digits, [scheduler], epochs=1)
    recorder = _RecordRates()
    _fit(model, digits, [scheduler, recorder], epochs=1)  # steps 4..7
    np.testing.assert_allclose(recorder.rates, [0.1, 0.1, 0.05, 0.05], rtol=1e-6)


def test_step_unit_with_steps_per_execution(digits):
    model = make_classifier(learning_rate=1.0, steps_per_execution=2)
    recorder = _RecordRates()
    scheduler = callbacks.LearningRateScheduler(lambda step: 0.1 / (1 + step), "step")
    _fit(model, digits, [scheduler, recorder], epochs=1)
    # Callbacks see one begin per block of two steps, at steps 0 and 2.
    np.testing.assert_allclose(recorder.rates, [0.1, 0.1 / 3], rtol=1e-6)


def test_a_schedule_held_by_the_optimizer_is_refused(digits):
    model = make_classifier(learning_rate=schedules.CosineDecay(0.1, 10))
    with pytest.raises(TypeError, match="created with a `LearningRateSchedule`"):
        _fit(model, digits, [callbacks.LearningRateScheduler(lambda e: 0.1)], epochs=1)


@pytest.mark.parametrize("bad", [lambda e: "fast", lambda e: float("nan"), lambda e: -1.0])
def test_bad_schedule_output_is_reported(bad, digits):
    with pytest.raises(ValueError, match="schedule"):
        _fit(make_classifier(), digits, [callbacks.LearningRateScheduler(bad)], epochs=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`unit` must be one of 'epoch', 'step'"):
        callbacks.LearningRateScheduler(lambda e: 0.1, unit="batch")
    with pytest.raises(TypeError, match="`schedule` must be"):
        callbacks.LearningRateScheduler(0.1)


def test_learning_rate_logger_logs_the_rate_of_each_epochs_last_step(digits):
    schedule = schedules.OneCycle(0.1, total_steps=12)
    model = make_classifier(learning_rate=schedule)
    history = _fit(model, digits, [callbacks.LearningRateLogger()])
    np.testing.assert_allclose(history.history["learning_rate"],
                               [float(schedule(s)) for s in (3, 7, 11)], rtol=1e-6)


def test_learning_rate_logger_with_a_float_rate(digits):
    history = _fit(make_classifier(learning_rate=0.03), digits, [callbacks.LearningRateLogger()],
                   epochs=2)
    np.testing.assert_allclose(history.history["learning_rate"], [0.03, 0.03], rtol=1e-6)
