"""The HyperModels build exactly what their hyperparameters say, and search with keras-tuner."""

import math

import keras
import keras_tuner
import numpy as np
import pytest

from keras_hpt import hypermodels


def _sampled_hyperparameters(hypermodel, count, seed=0):
    """`count` hyperparameter sets drawn by keras-tuner's random oracle."""
    hp = keras_tuner.HyperParameters()
    hypermodel.build(hp)  # declares the space, conditional scopes included
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="loss", max_trials=count,
                                                    seed=seed)
    oracle.update_space(hp)
    sets = []
    for i in range(count):
        values = oracle.populate_space(str(i))["values"]
        sampled = oracle.hyperparameters.copy()
        sampled.values = values
        sets.append(sampled)
    return sets


def _hidden_dense(model):
    return [layer for layer in model.layers if layer.name.startswith("hidden_")
            and isinstance(layer, keras.layers.Dense)]


def _dropouts(model, prefix=""):
    return {layer.name: layer.rate for layer in model.layers
            if isinstance(layer, keras.layers.Dropout) and layer.name.startswith(prefix)}


def test_mlp_builds_exactly_the_sampled_network(digits):
    x, y = digits
    hypermodel = hypermodels.MLPHyperModel((64,), 10, num_layers=(1, 4))
    for hp in _sampled_hyperparameters(hypermodel, 16):
        values = hp.values
        model = hypermodel.build(hp)
        count = values["num_layers"]
        dense = _hidden_dense(model)
        assert [layer.units for layer in dense] == [values[f"units_{i}"] for i in range(count)]
        expected_dropout = {f"hidden_dropout_{i}": values[f"dropout_{i}"] for i in range(count)
                            if values[f"dropout_{i}"] > 0}
        assert _dropouts(model) == pytest.approx(expected_dropout)
        # Inactive hyperparameters are not in the trial's values.
        assert not {f"units_{i}" for i in range(count, 4)} & set(values)
        assert not {f"dropout_{i}" for i in range(count, 4)} & set(values)
        assert all(10 <= values[f"units_{i}"] <= 128 for i in range(count))
        assert ("momentum" in values) == (values["optimizer"] == "sgd")
        assert ("weight_decay" in values) == (values["optimizer"] in ("sgd", "adamw"))
        assert type(model.optimizer).__name__.lower() == values["optimizer"]
        assert float(model.optimizer.learning_rate) == pytest.approx(values["learning_rate"])
        has_norm = any(isinstance(lyr, keras.layers.BatchNormalization) for lyr in model.layers)
        assert isinstance(values["batch_norm"], bool) and has_norm == values["batch_norm"]
        assert np.all(np.isfinite(model.train_on_batch(x[:16], y[:16])))


def test_conv_builds_exactly_the_sampled_network(digits):
    x, y = digits
    images = x.reshape(-1, 8, 8)
    hypermodel = hypermodels.ConvHyperModel((8, 8), 10, num_blocks=(1, 3), head_layers=(1, 2))
    for hp in _sampled_hyperparameters(hypermodel, 8):
        values = hp.values
        model = hypermodel.build(hp)
        convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
        count = values["conv_num_blocks"]
        assert [c.filters for c in convs] == [values[f"conv_filters_{i}"] for i in range(count)]
        assert {c.kernel_size for c in convs} == {(values["conv_kernel_size"],) * 2}
        assert not {f"conv_filters_{i}" for i in range(count, 3)} & set(values)
        head = [layer for layer in model.layers if layer.name.startswith("head_hidden_")
                and isinstance(layer, keras.layers.Dense)]
        assert [d.units for d in head] == [values[f"head_units_{i}"]
                                           for i in range(values["head_num_layers"])]
        assert np.all(np.isfinite(model.train_on_batch(images[:16], y[:16])))


def test_width_range_follows_the_rules_of_thumb():
    widths = hypermodels.width_range(num_inputs=64, num_outputs=10)
    assert widths.min_units == 10  # between the output size ...
    assert widths.max_units == 128  # ... and twice the input size
    assert widths.typical_units == round(64 * 2 / 3 + 10)
    small = hypermodels.width_range(4, 3)
    assert small.min_units == 3 and small.max_units == 12  # room for a log-scale search
    default = hypermodels.MLPHyperModel((28, 28), 10).units
    assert default == (10, 2 * 784)


@pytest.mark.parametrize("task, num_outputs, y_shape, loss_name", [
    ("classification", 10, (), "sparse_categorical_crossentropy"),
    ("binary", 1, (1,), "binary_crossentropy"),
    ("regression", 3, (3,), None),
])
def test_task_sets_output_loss_and_metrics(task, num_outputs, y_shape, loss_name):
    hypermodel = hypermodels.MLPHyperModel((5,), num_outputs, task=task)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    assert model.output_shape == (None, num_outputs)
    activation = model.get_layer("output").activation.__name__
    assert activation == {"classification": "softmax", "binary": "sigmoid"}.get(task, "linear")
    if loss_name:
        assert model.loss == loss_name and "loss" not in hp.values
    else:
        assert hp.values["loss"] in ("mse", "mae", "huber")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 5)).astype("float32")
    y = rng.integers(0, 2 if task == "binary" else num_outputs, size=(8, *y_shape))
    logs = model.train_on_batch(x, y.astype("float32"), return_dict=True)
    expected = {"classification": "accuracy", "binary": "auc", "regression": "rmse"}[task]
    assert expected in logs and hypermodel.objective.name in (f"val_{expected}", "val_accuracy")


def test_huber_delta_exists_only_with_the_huber_loss():
    hypermodel = hypermodels.MLPHyperModel((5,), 1, task="regression")
    for hp in _sampled_hyperparameters(hypermodel, 15):
        model = hypermodel.build(hp)
        assert ("huber_delta" in hp.values) == (hp.values["loss"] == "huber")
        if hp.values["loss"] == "huber":
            delta, error = hp.values["huber_delta"], 3.0
            by_hand = 0.5 * error**2 if error <= delta else delta * (error - 0.5 * delta)
            value = model.loss(np.zeros((1, 1)), np.full((1, 1), error))
            assert float(value) == pytest.approx(by_hand, rel=1e-5)


@pytest.mark.parametrize("batch_size", [16, 64])
def test_batch_size_reaches_fit(batch_size, digits):
    x, y = digits
    hypermodel = hypermodels.MLPHyperModel((64,), 10, batch_size=[16, 64])
    hp = keras_tuner.HyperParameters()
    hp.Fixed("batch_size", batch_size)
    model = hypermodel.build(hp)
    history = hypermodel.fit(hp, model, x, y, epochs=1, verbose=0)
    assert history.params["steps"] == math.ceil(len(x) / batch_size)
    with pytest.warns(UserWarning, match="replaced by the tuned batch_size"):
        hypermodel.fit(hp, model, x, y, batch_size=8, epochs=1, verbose=0)


def test_a_tuned_batch_size_refuses_batched_data(digits):
    import tensorflow as tf

    x, y = digits
    hypermodel = hypermodels.MLPHyperModel((64,), 10)
    hp = keras_tuner.HyperParameters()
    model = hypermodel.build(hp)
    with pytest.raises(ValueError, match="batch size is tuned"):
        hypermodel.fit(hp, model, tf.data.Dataset.from_tensor_slices((x, y)).batch(8))
    untuned = hypermodels.MLPHyperModel((64,), 10, batch_size=None)
    untuned.fit(hp, untuned.build(keras_tuner.HyperParameters()),
                tf.data.Dataset.from_tensor_slices((x, y)).batch(64), shuffle=False, verbose=0)


def test_fixed_values_are_fixed():
    hypermodel = hypermodels.MLPHyperModel((64,), 10, num_layers=2, units=32, dropout=0.1,
                                           activation="relu", batch_norm=False,
                                           optimizers="adam", learning_rate=1e-3, batch_size=32)
    for hp in _sampled_hyperparameters(hypermodel, 3):
        assert hp.values == {"num_layers": 2, "activation": "relu", "batch_norm": False,
                             "units_0": 32, "dropout_0": 0.1, "units_1": 32, "dropout_1": 0.1,
                             "optimizer": "adam", "learning_rate": 1e-3, "batch_size": 32}


@pytest.mark.parametrize("kwargs, message", [
    (dict(num_layers=0), "`num_layers` must be"),
    (dict(num_layers=(3, 1)), "low < high"),
    (dict(units=(64, 64)), "low < high"),
    (dict(units=[]), "`units` must be"),
    (dict(dropout=1.0), "`dropout` must be"),
    (dict(dropout=(-0.1, 0.3)), "`dropout` must be"),
    (dict(task="multilabel"), "`task` must be one of"),
    (dict(task="binary"), "must be 1 for task='binary'"),
    (dict(optimizers=["adam", "lion"]), "`optimizers` must be one of"),
    (dict(loss="mse"), "tuned only for task='regression'"),
    (dict(activation="sigmoidal"), "`activation` must be one of"),
    (dict(learning_rate=(0.0, 0.1)), "`learning_rate` must be"),
    (dict(batch_size=(100, 120)), "power of two"),
    (dict(input_shape=(0, 3)), "`input_shape` must be"),
])
def test_bad_arguments(kwargs, message):
    arguments = dict(input_shape=(64,), num_outputs=10)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        hypermodels.MLPHyperModel(**arguments)


def test_bad_regression_loss_and_conv_arguments():
    with pytest.raises(ValueError, match="`loss` must be one of"):
        hypermodels.MLPHyperModel((4,), 1, task="regression", loss=["mse", "l1"])
    with pytest.raises(ValueError, match="at least 2 for task='classification'"):
        hypermodels.MLPHyperModel((4,), 1)
    with pytest.raises(ValueError, match="`num_classes` must be"):
        hypermodels.ConvHyperModel((8, 8), 1)
    with pytest.raises(ValueError, match=r"\(height, width\)"):
        hypermodels.ConvHyperModel((64,), 10)
    with pytest.raises(ValueError, match="`kernel_size` must be"):
        hypermodels.ConvHyperModel((8, 8), 10, kernel_size=(0, 3))
