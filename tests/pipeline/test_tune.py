"""keras_hpt.tune end to end on tiny data, and its refusals of bad input before any training."""

import keras
import numpy as np
import pandas as pd
import pytest

import keras_hpt
from keras_hpt.pipeline import data as pipeline_data


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs = 0
        self.fits = 0

    def on_train_begin(self, logs=None):
        self.fits += 1

    def on_epoch_end(self, epoch, logs=None):
        self.epochs += 1


def _task_data(kind, n=160, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    signal = x[:, 0] + 0.5 * x[:, 1] ** 2 - x[:, 2]
    if kind == "regression":
        return x * 10 + 3, 2.0 * signal + rng.normal(0, 0.1, n)
    if kind == "binary":
        return x, np.where(signal + rng.normal(0, 0.3, n) > 0.5, "yes", "no")
    return x, np.digitize(signal, np.quantile(signal, [0.33, 0.66])) + 1


@pytest.mark.parametrize("kind", ["binary", "classification", "regression"])
def test_tune_picks_the_task_keeps_the_budget_and_saves(kind, tmp_path):
    x, y = _task_data(kind)
    counter = EpochCounter()
    result = keras_hpt.tune(x[:120], y[:120], epoch_budget=12, seed=0, verbose=0,
                            callbacks=[counter])
    assert result.task == kind
    # The user's own callback object saw every trial's fit and never more than the budget.
    assert counter.fits == len(result.tuner.oracle.trials) >= 2
    assert counter.epochs <= result.epochs_trained <= 12
    path = str(tmp_path / "model.keras")
    result.save(path)
    loaded = keras.models.load_model(path)
    held_out = x[120:]
    predicted = result.model.predict(held_out, verbose=0)
    np.testing.assert_allclose(loaded.predict(held_out, verbose=0), predicted, atol=1e-6)
    if kind == "regression":
        # Targets come back in their own units: far better than predicting the mean.
        y_test = y[120:]
        r2 = 1 - np.sum((predicted[:, 0] - y_test) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
        assert r2 > 0.5
    else:
        assert predicted.shape[1] == (1 if kind == "binary" else 3)
        if kind == "binary":
            assert list(result.classes) == ["no", "yes"]
        assert result.validation_score < np.log(2 if kind == "binary" else 3)
    assert "final model" in str(result)


def test_dataframe_with_strings_goes_through_feature_space_into_the_saved_model(tmp_path):
    rng = np.random.default_rng(1)
    n = 120
    frame = pd.DataFrame({"size": rng.normal(size=n), "colour": rng.choice(["red", "blue"], n)})
    frame["label"] = ((frame["colour"] == "red") ^ (frame["size"] > 0.8)).astype(int)
    result = keras_hpt.tune(frame, "label", epoch_budget=8, seed=0, verbose=0)
    assert result.task == "binary"
    path = str(tmp_path / "model.keras")
    result.save(path)
    rows = {"size": np.array([0.0, 2.0], "float32"), "colour": np.array(["red", "red"], object)}
    predicted = keras.models.load_model(path).predict(rows, verbose=0)
    np.testing.assert_allclose(predicted, result.model.predict(rows, verbose=0), atol=1e-6)
    # The string column is one-hot inside the model: a colour never seen still predicts.
    unseen = {"size": np.array([0.0], "float32"), "colour": np.array(["green"], object)}
    assert np.isfinite(result.model.predict(unseen, verbose=0)).all()


@pytest.mark.parametrize("y, expected", [
    (np.array([0, 1, 1, 0]), "binary"),
    (np.array(["a", "b", "c", "a"]), "classification"),
    (np.array([1.0, 2.0, 3.0, 1.0]), "classification"),
    (np.array([0.5, 1.2, 3.3, 0.1]), "regression"),
    (np.arange(100), "regression"),
    (np.array([True, False, True, True]), "binary"),
])
def test_task_inference(y, expected):
    assert pipeline_data.infer_task(y) == expected


@pytest.mark.parametrize("kwargs, error, words", [
    (dict(y=np.zeros(9)), ValueError, "same number of rows"),
    (dict(task="binary"), ValueError, "3 distinct labels"),
    (dict(task="classification", y=np.linspace(0, 1, 10)), ValueError, "non-integer"),
    (dict(task="ranking"), ValueError, "`task` must be one of"),
    (dict(epoch_budget=0), ValueError, "epoch_budget"),
    (dict(epoch_budget=2.5), TypeError, "epoch_budget"),
    (dict(time_budget=-1), ValueError, "time_budget"),
    (dict(objective="val_auc"), ValueError, "`objective` must be one of"),
    (dict(validation_split=0.2, validation_data=(np.zeros((3, 2)), np.zeros(3))),
     ValueError, "not both"),
    (dict(validation_split=1.5), ValueError, "validation_split"),
    (dict(callbacks=[print]), TypeError, "callbacks"),
    (dict(y=None), ValueError, "`y` must be given"),
])
def test_bad_input_is_refused_before_training(kwargs, error, words, monkeypatch):
    def no_training(*args, **kw):
        raise AssertionError("trained despite bad input")

    monkeypatch.setattr(keras.Model, "fit", no_training)
    arguments = dict(x=np.random.default_rng(0).normal(size=(10, 2)),
                     y=np.array([0, 1, 2] * 3 + [0]))
    arguments.update(kwargs)
    with pytest.raises(error, match=words):
        keras_hpt.tune(arguments.pop("x"), arguments.pop("y"), verbose=0, **arguments)


def test_nan_in_features_names_the_column(monkeypatch):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0, 5.0], "b": [1.0, np.nan, 0.0, 1.0, 2.0],
                          "y": [0, 1, 0, 1, 0]})
    with pytest.raises(ValueError, match="column 'b' has 1 NaN"):
        keras_hpt.tune(frame, "y", verbose=0)
    x = np.ones((6, 3))
    x[2, 2] = np.inf
    with pytest.raises(ValueError, match="column '2'"):
        keras_hpt.tune(x, np.arange(6) % 2, verbose=0)


def test_a_target_column_that_is_not_there_is_named():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]})
    with pytest.raises(ValueError, match="'price'"):
        keras_hpt.tune(frame, "price", verbose=0)


def test_stratified_split_keeps_every_class_on_both_sides():
    labels = np.array([0] * 50 + [1] * 10 + [2] * 5)
    train, validation = pipeline_data._split_indices(len(labels), 0.2, labels, seed=0)
    assert sorted(np.concatenate([train, validation])) == list(range(len(labels)))
    for part in (train, validation):
        assert set(labels[part]) == {0, 1, 2}
    assert [int(np.sum(labels[validation] == k)) for k in (0, 1, 2)] == [10, 2, 1]
