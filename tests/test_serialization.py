"""Every public Keras object of keras_hpt: config -> JSON -> object, and back the same."""

import json

import keras
import numpy as np
import pytest

import keras_hpt
from keras_hpt import callbacks, schedules
from keras_hpt.schedules import evaluate_schedule

SCHEDULES = [
    schedules.StepDecay(0.1, step_size=10, factor=0.3, min_learning_rate=1e-3),
    schedules.ExponentialDecay(0.1, decay_steps=20, decay_rate=0.9, min_learning_rate=1e-4),
    schedules.TimeBasedDecay(0.1, decay=0.01, decay_steps=2),
    schedules.CosineDecay(0.1, decay_steps=50, min_learning_rate=1e-3),
    schedules.CosineWarmRestarts(0.1, 10, t_mul=1.5, m_mul=0.8, max_cycles=4),
    schedules.OneCycle(0.1, total_steps=100, pct_start=0.4, anneal="linear"),
    schedules.Warmup(schedules.CosineDecay(0.1, 50), warmup_steps=5, initial_learning_rate=1e-3),
    schedules.Warmup(keras.optimizers.schedules.CosineDecay(0.1, 50), warmup_steps=5),
    schedules.Warmup(0.01, warmup_steps=7, prefix=False),
]

CALLBACKS = [
    callbacks.EarlyStopping(monitor="val_accuracy", min_delta=0.01, patience=3, mode="max",
                            baseline=0.5, restore_best_weights=True, start_from_epoch=2,
                            min_delta_mode="rel", divergence_delta=0.2, terminate_on_nan=False),
    callbacks.ValidationMonitor((np.zeros((3, 4)), np.array([0, 1, 0])), every_n_steps=7,
                                early_stopping_rounds=30, min_delta=0.1, validation_steps=2,
                                raise_error=True, batch_size=2),
    callbacks.LearningRateLogger(),
    callbacks.LRFinder(min_lr=1e-6, max_lr=1.0, num_steps=50, mode="linear", stop_factor=None,
                       restore=False, verbose=1),
    callbacks.LearningRateScheduler(schedules.StepDecay(0.1, 2), unit="step", verbose=1),
    callbacks.SnapshotEnsemble("snap_{snapshot}.weights.h5",
                               schedule=schedules.CosineWarmRestarts(0.1, 10), verbose=1),
]


def _round_trip(obj):
    serialized = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    assert serialized["registered_name"] == f"keras_hpt>{type(obj).__name__}"
    return keras.saving.deserialize_keras_object(serialized)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_schedule_round_trip(schedule):
    restored = _round_trip(schedule)
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(evaluate_schedule(restored, 120),
                                  evaluate_schedule(schedule, 120))


@pytest.mark.parametrize("callback", CALLBACKS, ids=lambda c: type(c).__name__)
def test_callback_round_trip(callback):
    restored = _round_trip(callback)
    assert type(restored) is type(callback)
    assert _as_json(restored.get_config()) == _as_json(callback.get_config())


def _as_json(config):
    return json.dumps(keras.saving.serialize_keras_object(config), sort_keys=True)


def test_every_public_keras_object_is_covered():
    covered = {type(obj) for obj in SCHEDULES + CALLBACKS}
    public = {getattr(keras_hpt.schedules, n) for n in keras_hpt.schedules.__all__}
    public |= {getattr(keras_hpt.callbacks, n) for n in keras_hpt.callbacks.__all__}
    public = {c for c in public if isinstance(c, type) and c is not callbacks.NonFiniteError}
    assert public <= covered, public - covered


def test_config_holds_only_constructor_arguments():
    schedule = schedules.StepDecay(0.1, step_size=3)
    assert schedule.get_config() == {
        "initial_learning_rate": 0.1, "step_size": 3, "factor": 0.5, "min_learning_rate": 0.0
    }
