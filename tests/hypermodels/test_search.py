"""The HyperModels work unchanged with keras-tuner's tuners; the best model saves and loads."""

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt import hypermodels

TUNERS = {
    "random": lambda hm, path: keras_tuner.RandomSearch(
        hm, objective=hm.objective, max_trials=3, seed=1, directory=path, project_name="p"),
    "bayesian": lambda hm, path: keras_tuner.BayesianOptimization(
        hm, objective=hm.objective, max_trials=3, num_initial_points=2, seed=1, directory=path,
        project_name="p"),
    "hyperband": lambda hm, path: keras_tuner.Hyperband(
        hm, objective=hm.objective, max_epochs=3, factor=3, hyperband_iterations=1, seed=1,
        directory=path, project_name="p"),
}


def _search(tuner, x, y):
    tuner.search(x[:192], y[:192], validation_data=(x[192:], y[192:]), epochs=2, verbose=0)
    return tuner


# keras-tuner reloads best models into fresh, unbuilt optimizers and Keras says so.
pytestmark = pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")


@pytest.mark.parametrize("name", sorted(TUNERS))
def test_mlp_with_keras_tuner_tuners(name, digits, tmp_path):
    x, y = digits
    hypermodel = hypermodels.MLPHyperModel((64,), 10, num_layers=(1, 2), units=(16, 64))
    tuner = _search(TUNERS[name](hypermodel, str(tmp_path)), x, y)
    trials = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(trials) >= 3
    # The batch size was tuned: every trial recorded one of the default choices.
    assert {t.hyperparameters.values["batch_size"] for t in trials} <= {16, 32, 64, 128}
    best = tuner.get_best_models(1)[0]
    path = tmp_path / "best.keras"
    best.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x[:8], verbose=0), best.predict(x[:8], verbose=0),
                               atol=1e-6)


def test_conv_with_random_search(digits, tmp_path):
    x, y = digits
    images = x.reshape(-1, 8, 8)
    hypermodel = hypermodels.ConvHyperModel((8, 8), 10, num_blocks=(1, 2), filters=(8, 16))
    tuner = _search(TUNERS["random"](hypermodel, str(tmp_path)), images, y)
    best = tuner.get_best_models(1)[0]
    assert best.output_shape == (None, 10)
    assert tuner.oracle.get_best_trials(1)[0].score > 0.1  # better than chance


def test_regression_search_ranks_by_rmse(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 5)).astype("float32")
    y = (x @ rng.normal(size=(5, 1))).astype("float32")
    hypermodel = hypermodels.MLPHyperModel((5,), 1, task="regression", num_layers=1)
    tuner = _search(TUNERS["random"](hypermodel, str(tmp_path)), x, y)
    best = tuner.oracle.get_best_trials(1)[0]
    assert best.metrics.exists("val_rmse")


class _OwnModel(hypermodels.HyperModel):
    """A user's own HyperModel built from the blocks plus the training hyperparameters."""

    def build(self, hp):
        inputs = keras.Input((64,))
        x = hypermodels.dense_stack(hp, inputs, num_layers=(1, 2), units=(8, 32))
        outputs = keras.layers.Dense(10, activation="softmax")(x)
        return self.compile(hp, keras.Model(inputs, outputs),
                            loss="sparse_categorical_crossentropy", metrics=["accuracy"])


def test_subclassed_hypermodel_with_blocks(digits, tmp_path):
    x, y = digits
    hypermodel = _OwnModel(learning_rate=(1e-3, 1e-2), batch_size=[32, 64])
    tuner = keras_tuner.RandomSearch(hypermodel, objective="val_accuracy", max_trials=2, seed=3,
                                     directory=str(tmp_path), project_name="own")
    _search(tuner, x, y)
    values = tuner.get_best_hyperparameters(1)[0].values
    assert values["batch_size"] in (32, 64) and 1e-3 <= values["learning_rate"] <= 1e-2
