"""keras-tuner with ValidationMonitor: a trial it stops for NaN fails, the search goes on."""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt import callbacks


class _NaNFromStep(keras.layers.Layer):
    def __init__(self, step, **kwargs):
        super().__init__(**kwargs)
        self.step = step

    def build(self, input_shape):
        self.calls = self.add_weight(shape=(), initializer="zeros", trainable=False)

    def call(self, x, training=False):
        if not training:
            return x
        self.calls.assign_add(1.0)
        return x + keras.ops.where(self.calls >= self.step, np.nan, 0.0)


def _build(hp):
    diverges = hp.Boolean("diverges")
    layers = [keras.Input((64,)), keras.layers.Dense(10)]
    if diverges:
        layers.append(_NaNFromStep(step=2))
    model = keras.Sequential(layers)
    model.compile(keras.optimizers.SGD(0.05),
                  keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


@pytest.mark.filterwarnings("ignore:All-NaN axis encountered")
def test_nan_trial_fails_and_the_search_completes(digits, tmp_path):
    x, y = digits
    tuner = keras_tuner.GridSearch(_build, objective="val_loss", max_trials=2,
                                   directory=str(tmp_path), project_name="nan")
    monitor = callbacks.ValidationMonitor((x[200:], y[200:]), every_n_steps=2)
    tuner.search(x[:64], y[:64], validation_data=(x[200:], y[200:]), epochs=2, batch_size=16,
                 callbacks=[monitor], verbose=0)
    trials = {t.hyperparameters["diverges"]: t for t in tuner.oracle.trials.values()}
    assert trials[True].status == "FAILED" and np.isnan(trials[True].score)
    assert trials[False].status == "COMPLETED" and np.isfinite(trials[False].score)
    assert tuner.get_best_hyperparameters(1)[0]["diverges"] is False
