"""Schedules inside real training: compiled, XLA-compiled, saved and loaded back."""

import keras
import numpy as np
import pytest

from keras_hpt import schedules
from tests.conftest import make_classifier

FACTORIES = {
    "StepDecay": lambda: schedules.StepDecay(0.05, step_size=3),
    "ExponentialDecay": lambda: schedules.ExponentialDecay(0.05, 5, 0.7, min_learning_rate=1e-3),
    "TimeBasedDecay": lambda: schedules.TimeBasedDecay(0.05, decay=0.1),
    "CosineDecay": lambda: schedules.CosineDecay(0.05, decay_steps=12),
    "CosineWarmRestarts": lambda: schedules.CosineWarmRestarts(0.05, 4, t_mul=1.5, m_mul=0.9),
    "OneCycle": lambda: schedules.OneCycle(0.05, total_steps=16),
    "Warmup": lambda: schedules.Warmup(schedules.CosineWarmRestarts(0.05, 4), warmup_steps=3),
    "WarmupKeras": lambda: schedules.Warmup(
        keras.optimizers.schedules.CosineDecay(0.05, decay_steps=12), warmup_steps=3),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
@pytest.mark.parametrize("jit_compile", [False, True])
def test_trains_saves_and_loads(name, jit_compile, digits, tmp_path):
    x, y = digits
    schedule = FACTORIES[name]()
    model = make_classifier(learning_rate=schedule, jit_compile=jit_compile)
    history = model.fit(x[:128], y[:128], batch_size=16, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert int(model.optimizer.iterations) == 16
    # The optimizer really used the schedule: its rate is the schedule at step 16.
    assert float(model.optimizer.learning_rate) == pytest.approx(float(schedule(16)), abs=1e-7)

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)  # no custom_objects needed
    restored = loaded.optimizer._learning_rate
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 16
    assert float(loaded.optimizer.learning_rate) == pytest.approx(
        float(model.optimizer.learning_rate), abs=1e-9)
    np.testing.assert_allclose(loaded.predict(x[:8], verbose=0), model.predict(x[:8], verbose=0),
                               atol=1e-6)


def test_schedule_is_evaluated_inside_the_compiled_step(digits):
    """A step-decayed SGD run equals one whose float rate we set by hand each step."""
    x, y = digits
    x, y = x[:64], y[:64]
    scheduled = make_classifier(learning_rate=schedules.StepDecay(0.1, step_size=2, factor=0.1))
    manual = make_classifier(learning_rate=0.1)
    manual.set_weights(scheduled.get_weights())
    scheduled.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    for step in range(4):
        manual.optimizer.learning_rate = 0.1 * 0.1 ** (step // 2)
        manual.train_on_batch(x[16 * step:16 * (step + 1)], y[16 * step:16 * (step + 1)])
    for a, b in zip(scheduled.get_weights(), manual.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-6)
