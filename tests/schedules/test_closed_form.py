"""Every schedule against its closed form, computed independently in NumPy."""

import keras
import numpy as np
import pytest

from keras_hpt import schedules
from keras_hpt.schedules import evaluate_schedule
from tests.schedules import reference

STEPS = np.concatenate([np.arange(0, 400), [999, 1000, 5000, 20000]])

CASES = {
    "step": (
        schedules.StepDecay(0.1, step_size=30, factor=0.5, min_learning_rate=1e-3),
        lambda s: reference.step_decay(s, 0.1, 30, 0.5, 1e-3),
    ),
    "step_no_floor": (
        schedules.StepDecay(0.2, step_size=7, factor=0.9),
        lambda s: reference.step_decay(s, 0.2, 7, 0.9, 0.0),
    ),
    "exponential": (
        schedules.ExponentialDecay(0.1, decay_steps=50, decay_rate=0.8, min_learning_rate=5e-3),
        lambda s: reference.exponential_decay(s, 0.1, 50, 0.8, 5e-3),
    ),
    "time_based": (
        schedules.TimeBasedDecay(0.1, decay=0.05, decay_steps=3),
        lambda s: reference.time_based_decay(s, 0.1, 0.05, 3, 0.0),
    ),
    "cosine": (
        schedules.CosineDecay(0.1, decay_steps=250, min_learning_rate=1e-4),
        lambda s: reference.cosine_decay(s, 0.1, 250, 1e-4),
    ),
    "restarts_t2": (
        schedules.CosineWarmRestarts(0.1, first_decay_steps=20, t_mul=2.0, m_mul=0.7,
                                     min_learning_rate=1e-3),
        lambda s: reference.cosine_warm_restarts(s, 0.1, 20, 2.0, 0.7, 1e-3),
    ),
    "restarts_t1": (
        schedules.CosineWarmRestarts(0.1, first_decay_steps=37, t_mul=1.0),
        lambda s: reference.cosine_warm_restarts(s, 0.1, 37, 1.0, 1.0, 0.0),
    ),
    "restarts_t1.5_limited": (
        schedules.CosineWarmRestarts(0.05, first_decay_steps=10, t_mul=1.5, m_mul=0.9,
                                     min_learning_rate=1e-4, max_cycles=5),
        lambda s: reference.cosine_warm_restarts(s, 0.05, 10, 1.5, 0.9, 1e-4, max_cycles=5),
    ),
    "one_cycle_cos": (
        schedules.OneCycle(0.3, total_steps=300, pct_start=0.3),
        lambda s: reference.one_cycle(s, 0.3, 300, 0.3, 25.0, 1e4),
    ),
    "one_cycle_linear": (
        schedules.OneCycle(0.1, total_steps=123, pct_start=0.5, div_factor=10,
                           final_div_factor=100, anneal="linear"),
        lambda s: reference.one_cycle(s, 0.1, 123, 0.5, 10.0, 100.0, anneal="linear"),
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_closed_form(name):
    schedule, closed_form = CASES[name]
    np.testing.assert_allclose(
        evaluate_schedule(schedule, STEPS), closed_form(STEPS.astype(np.float64)), atol=1e-6
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_scalar_call_matches_vector_call(name):
    schedule, _ = CASES[name]
    vector = evaluate_schedule(schedule, STEPS[:60])
    scalars = [float(schedule(int(s))) for s in STEPS[:60]]
    np.testing.assert_allclose(scalars, vector, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("t_mul", [1.0, 2.0, 1.5, 3.0])
@pytest.mark.parametrize("m_mul", [1.0, 0.5])
def test_restarts_agree_with_keras_cosine_decay_restarts(t_mul, m_mul):
    ours = schedules.CosineWarmRestarts(0.1, first_decay_steps=16, t_mul=t_mul, m_mul=m_mul)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(
        0.1, first_decay_steps=16, t_mul=t_mul, m_mul=m_mul
    )
    steps = np.arange(0, 600)
    np.testing.assert_allclose(evaluate_schedule(ours, steps), evaluate_schedule(theirs, steps),
                               atol=1e-6)


def test_restarts_agree_with_keras_alpha_when_peak_constant():
    ours = schedules.CosineWarmRestarts(0.1, 25, t_mul=2.0, min_learning_rate=0.1 * 0.2)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(0.1, 25, t_mul=2.0, alpha=0.2)
    steps = np.arange(0, 500)
    np.testing.assert_allclose(evaluate_schedule(ours, steps), evaluate_schedule(theirs, steps),
                               atol=1e-6)


def test_restart_steps_are_where_the_rate_jumps_up():
    schedule = schedules.CosineWarmRestarts(0.1, first_decay_steps=10, t_mul=1.5, m_mul=0.8)
    rates = evaluate_schedule(schedule, 400)
    jumps = [int(s) for s in np.flatnonzero(np.diff(rates) > 0) + 1]
    assert schedule.restart_steps(399) == jumps
    assert jumps[:3] == [10, 25, 48]  # 10, 10 + 15, 10 + 15 + 22.5 rounded up


def test_restart_steps_with_cycle_limit_end_on_the_floor():
    schedule = schedules.CosineWarmRestarts(0.1, 10, t_mul=2.0, min_learning_rate=1e-3,
                                            max_cycles=3)
    assert schedule.restart_steps() == [10, 30, 70]
    assert schedules.schedule_length(schedule) == 70
    np.testing.assert_allclose(evaluate_schedule(schedule, [69, 70, 500]),
                               [reference.cosine_warm_restarts(69, 0.1, 10, 2, 1, 1e-3)[0],
                                1e-3, 1e-3], atol=1e-7)


def test_restart_steps_need_a_horizon_without_cycle_limit():
    with pytest.raises(ValueError, match="until_step"):
        schedules.CosineWarmRestarts(0.1, 10).restart_steps()


def test_one_cycle_hits_start_peak_and_end_exactly():
    schedule = schedules.OneCycle(0.2, total_steps=1001, pct_start=0.3, div_factor=20,
                                  final_div_factor=1e3)
    rates = evaluate_schedule(schedule, [0, 300, 1000, 5000])
    np.testing.assert_allclose(rates, [0.01, 0.2, 1e-5, 1e-5], rtol=1e-5)
    assert rates[-1] < rates[0] / 100  # anneals far below the start


@pytest.mark.parametrize("steps_per_epoch", [1, 17, 100])
def test_from_epochs_converts_every_period(steps_per_epoch):
    halve = schedules.StepDecay.from_epochs(steps_per_epoch, initial_learning_rate=0.1,
                                            step_size=10)
    assert halve.step_size == 10 * steps_per_epoch
    restarts = schedules.CosineWarmRestarts.from_epochs(steps_per_epoch,
                                                        initial_learning_rate=0.1,
                                                        first_decay_steps=0.5)
    assert restarts.first_decay_steps == max(1, round(0.5 * steps_per_epoch))
    cycle = schedules.OneCycle.from_epochs(steps_per_epoch, max_learning_rate=0.1,
                                           total_steps=4, pct_start=0.3)
    assert cycle.total_steps == max(2, 4 * steps_per_epoch) and cycle.pct_start == 0.3
    warm = schedules.Warmup.from_epochs(steps_per_epoch, schedule=halve, warmup_steps=2)
    assert warm.warmup_steps == 2 * steps_per_epoch
