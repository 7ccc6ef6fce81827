"""Warmup in front of keras_hpt's schedules, Keras' own schedules and constants."""

import keras
import numpy as np
import pytest

from keras_hpt import schedules
from keras_hpt.schedules import evaluate_schedule

WRAPPED = {
    "ours_cosine": lambda: schedules.CosineDecay(0.1, decay_steps=200, min_learning_rate=1e-3),
    "ours_restarts": lambda: schedules.CosineWarmRestarts(0.1, 30, t_mul=2.0),
    "keras_cosine": lambda: keras.optimizers.schedules.CosineDecay(0.1, decay_steps=200),
    "keras_exponential": lambda: keras.optimizers.schedules.ExponentialDecay(0.1, 50, 0.5),
    "keras_piecewise": lambda: keras.optimizers.schedules.PiecewiseConstantDecay(
        [40, 80], [0.1, 0.05, 0.01]),
    "constant": lambda: 0.1,
}


@pytest.mark.parametrize("name", sorted(WRAPPED))
@pytest.mark.parametrize("prefix", [True, False])
def test_warmup_is_linear_then_follows_the_schedule(name, prefix):
    inner = WRAPPED[name]()
    warmup_steps, start = 20, 1e-3
    schedule = schedules.Warmup(inner, warmup_steps, initial_learning_rate=start, prefix=prefix)
    steps = np.arange(0, 150)
    inner_rates = evaluate_schedule(inner, np.arange(0, 300))
    hand_over = inner_rates[0] if prefix else inner_rates[warmup_steps]
    expected = np.where(
        steps < warmup_steps,
        start + (hand_over - start) * steps / warmup_steps,
        inner_rates[steps - warmup_steps if prefix else steps],
    )
    np.testing.assert_allclose(evaluate_schedule(schedule, steps), expected, atol=1e-6)


@pytest.mark.parametrize("name", sorted(WRAPPED))
def test_warmup_is_continuous_at_the_hand_over(name):
    schedule = schedules.Warmup(WRAPPED[name](), warmup_steps=50)
    before, at, after = evaluate_schedule(schedule, [49, 50, 51])
    slope = at / 50  # one warm-up step's increase
    assert abs(at - before - slope) < 1e-6  # still on the ramp one step before
    assert abs(after - at) <= slope  # no jump bigger than a warm-up step after


def test_warmup_shifts_restart_steps_by_its_length():
    restarts = schedules.CosineWarmRestarts(0.1, 10, t_mul=2.0, max_cycles=3)
    assert schedules.Warmup(restarts, 5).restart_steps() == [15, 35, 75]
    assert schedules.Warmup(restarts, 5, prefix=False).restart_steps() == [10, 30, 70]
    assert schedules.schedule_length(schedules.Warmup(restarts, 5)) == 75


def test_warmup_of_a_schedule_without_restarts_has_none():
    warm = schedules.Warmup(schedules.CosineDecay(0.1, 100), 5)
    assert not warm.has_restarts and warm.restart_steps(1000) == []
    assert schedules.Warmup(schedules.CosineWarmRestarts(0.1, 10), 5).has_restarts
