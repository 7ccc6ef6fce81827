"""SnapshotEnsemble saves the model exactly where a warm-restart cycle ends."""

import keras
import numpy as np
import pytest

from keras_hpt import callbacks, schedules
from tests.conftest import make_classifier


class _WeightsAtStep(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = {}

    def on_train_batch_end(self, batch, logs=None):
        self.weights[int(self.model.optimizer.iterations)] = self.model.get_weights()


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("held_by_optimizer", [True, False])
def test_snapshots_at_every_restart(held_by_optimizer, digits, tmp_path):
    x, y = digits
    schedule = schedules.Warmup(schedules.CosineWarmRestarts(0.05, 3, t_mul=2.0), warmup_steps=2)
    model = make_classifier(learning_rate=schedule if held_by_optimizer else 0.05)
    path = str(tmp_path / "snap_{snapshot}_at_{step}.weights.h5")
    snapshot = callbacks.SnapshotEnsemble(path, schedule=None if held_by_optimizer else schedule)
    recorder = _WeightsAtStep()
    model.fit(x[:128], y[:128], batch_size=16, epochs=3, callbacks=[snapshot, recorder],
              verbose=0)  # 24 steps: restarts at 2 + [3, 9, 21]
    assert [p.rsplit("/", 1)[-1] for p in snapshot.snapshots] == [
        "snap_1_at_5.weights.h5", "snap_2_at_11.weights.h5", "snap_3_at_23.weights.h5"]
    for step, file in zip([5, 11, 23], snapshot.snapshots):
        reloaded = make_classifier()
        reloaded.load_weights(file)
        for saved, seen in zip(reloaded.get_weights(), recorder.weights[step]):
            np.testing.assert_array_equal(saved, seen)


def test_whole_model_snapshots(digits, tmp_path):
    x, y = digits
    schedule = schedules.CosineWarmRestarts(0.05, 4, t_mul=1.0, max_cycles=2)
    model = make_classifier(learning_rate=schedule)
    snapshot = callbacks.SnapshotEnsemble(str(tmp_path / "m{snapshot}.keras"))
    model.fit(x[:64], y[:64], batch_size=8, epochs=2, callbacks=[snapshot], verbose=0)
    assert len(snapshot.snapshots) == 2  # max_cycles=2 -> cycles end at 4 and 8
    loaded = keras.saving.load_model(snapshot.snapshots[-1])
    assert isinstance(loaded.optimizer._learning_rate, schedules.CosineWarmRestarts)


def test_needs_a_schedule_with_restarts(digits, tmp_path):
    x, y = digits
    model = make_classifier(learning_rate=0.01)
    snapshot = callbacks.SnapshotEnsemble(str(tmp_path / "s{snapshot}.weights.h5"))
    with pytest.raises(ValueError, match="needs a schedule with restarts"):
        model.fit(x[:32], y[:32], epochs=1, callbacks=[snapshot], verbose=0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="`filepath` must be"):
        callbacks.SnapshotEnsemble("snap.h5")
    with pytest.raises(ValueError, match="`schedule` must be"):
        callbacks.SnapshotEnsemble("s.weights.h5", schedule=schedules.CosineDecay(0.1, 10))
