"""Search directories written by keras-tuner's tuners and by ours, for the reports' tests."""

import keras
import keras_tuner
import numpy as np
import pytest

import keras_hpt


def _data():
    x = np.random.default_rng(0).normal(size=(48, 4)).astype("float32")
    return x, x.sum(axis=1, keepdims=True)


def _build(hp):
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 8)),
                              keras.layers.Dense(1)])
    # A huge rate makes the loss overflow: diverged trials to report.
    model.compile(keras.optimizers.SGD(hp.Choice("lr", [0.01, 0.03, 1e12])), loss="mse")
    return model


@pytest.fixture(scope="session")
def random_search(tmp_path_factory):
    """keras-tuner's RandomSearch, 3 trials; verbose=1, so keras-tuner records start times."""
    keras.utils.set_random_seed(0)
    tuner = keras_tuner.RandomSearch(_build, "val_loss", max_trials=3, seed=3,
                                     directory=tmp_path_factory.mktemp("kt"), project_name="rs")
    tuner.search(*_data(), epochs=2, validation_split=0.25, verbose=1)
    return tuner


@pytest.fixture(scope="session")
def hyperband_search(tmp_path_factory):
    """keras-tuner's Hyperband: continued trials carry `tuner/*` values."""
    keras.utils.set_random_seed(0)
    tuner = keras_tuner.Hyperband(_build, "val_loss", max_epochs=3, factor=3, seed=1,
                                  max_consecutive_failed_trials=10,
                                  directory=tmp_path_factory.mktemp("kt"), project_name="hb")
    tuner.search(*_data(), validation_split=0.25, verbose=0)
    return tuner


@pytest.fixture(scope="session")
def asha_search(tmp_path_factory):
    """keras_hpt's ASHA, two executions per trial, with diverged trials and promotions."""
    keras.utils.set_random_seed(0)
    tuner = keras_hpt.tuners.ASHA(_build, "val_loss", max_epochs=3, factor=3, seed=2,
                                  epoch_budget=20, executions_per_trial=2,
                                  directory=tmp_path_factory.mktemp("hpt"), project_name="asha")
    progress = keras_hpt.reporting.SearchProgress(verbose=0).attach(tuner)
    tuner.search(*_data(), validation_split=0.25, verbose=0)
    tuner.progress = progress
    return tuner
