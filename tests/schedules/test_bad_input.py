"""Bad schedule arguments fail at construction, naming the argument and the value."""

import keras
import pytest

from keras_hpt import schedules

CASES = [
    (schedules.StepDecay, dict(initial_learning_rate=0.0, step_size=10), "initial_learning_rate"),
    (schedules.StepDecay, dict(initial_learning_rate=-0.1, step_size=10), "initial_learning_rate"),
    (schedules.StepDecay, dict(initial_learning_rate=float("nan"), step_size=10),
     "initial_learning_rate"),
    (schedules.StepDecay, dict(initial_learning_rate=0.1, step_size=0), "step_size"),
    (schedules.StepDecay, dict(initial_learning_rate=0.1, step_size=10, factor=1.5), "factor"),
    (schedules.StepDecay, dict(initial_learning_rate=0.1, step_size=10, factor=0.0), "factor"),
    (schedules.StepDecay, dict(initial_learning_rate=0.1, step_size=10, min_learning_rate=0.2),
     "min_learning_rate"),
    (schedules.ExponentialDecay, dict(initial_learning_rate=0.1, decay_steps=-5, decay_rate=0.5),
     "decay_steps"),
    (schedules.ExponentialDecay, dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=1.01),
     "decay_rate"),
    (schedules.TimeBasedDecay, dict(initial_learning_rate=0.1, decay=-1.0), "decay"),
    (schedules.CosineDecay, dict(initial_learning_rate=0.1, decay_steps=0), "decay_steps"),
    (schedules.CosineDecay, dict(initial_learning_rate=0.1, decay_steps=10,
                                 min_learning_rate=-1e-3), "min_learning_rate"),
    (schedules.CosineWarmRestarts, dict(initial_learning_rate=0.1, first_decay_steps=10,
                                        t_mul=0.5), "t_mul"),
    (schedules.CosineWarmRestarts, dict(initial_learning_rate=0.1, first_decay_steps=10,
                                        m_mul=0.0), "m_mul"),
    (schedules.CosineWarmRestarts, dict(initial_learning_rate=0.1, first_decay_steps=10,
                                        max_cycles=0), "max_cycles"),
    (schedules.OneCycle, dict(max_learning_rate=0.1, total_steps=1), "total_steps"),
    (schedules.OneCycle, dict(max_learning_rate=0.1, total_steps=100, pct_start=1.0), "pct_start"),
    (schedules.OneCycle, dict(max_learning_rate=0.1, total_steps=100, div_factor=0.5),
     "div_factor"),
    (schedules.OneCycle, dict(max_learning_rate=0.1, total_steps=100, anneal="cosine"), "anneal"),
    (schedules.Warmup, dict(schedule=schedules.CosineDecay(0.1, 100), warmup_steps=100),
     "warmup_steps"),
    (schedules.Warmup, dict(schedule=keras.optimizers.schedules.CosineDecay(0.1, 50),
                            warmup_steps=80), "warmup_steps"),
    (schedules.Warmup, dict(schedule=0.1, warmup_steps=0), "warmup_steps"),
    (schedules.Warmup, dict(schedule=-0.1, warmup_steps=10), "schedule"),
    (schedules.Warmup, dict(schedule=0.1, warmup_steps=10, initial_learning_rate=-1.0),
     "initial_learning_rate"),
]


@pytest.mark.parametrize("cls, kwargs, name", CASES,
                         ids=[f"{c.__name__}-{n}-{i}" for i, (c, _, n) in enumerate(CASES)])
def test_bad_argument_raises_value_error_naming_it(cls, kwargs, name):
    with pytest.raises(ValueError, match=f"`{name}` must be .*Received: {name}="):
        cls(**kwargs)


@pytest.mark.parametrize("kwargs, name", [
    (dict(initial_learning_rate="0.1", step_size=10), "initial_learning_rate"),
    (dict(initial_learning_rate=0.1, step_size=2.5), "step_size"),
    (dict(initial_learning_rate=0.1, step_size=True), "step_size"),
])
def test_wrong_type_raises_type_error(kwargs, name):
    with pytest.raises(TypeError, match=f"`{name}` must be"):
        schedules.StepDecay(**kwargs)


def test_warmup_rejects_a_function():
    with pytest.raises(TypeError, match="`schedule` must be"):
        schedules.Warmup(lambda step: 0.1, warmup_steps=10)


def test_from_epochs_rejects_bad_steps_per_epoch():
    with pytest.raises(ValueError, match="steps_per_epoch"):
        schedules.StepDecay.from_epochs(0, initial_learning_rate=0.1, step_size=2)
