"""The search space `tune` explores: a small dense network for tabular data.

Five dimensions (depth, one width and one dropout rate for every layer, the
learning rate, decoupled weight decay) instead of a width and dropout per
layer: on a budget of a few hundred epochs, every trial of a smaller space
informs the next. The defaults are a configuration that does well on its
own (three 256-wide ReLU layers, dropout 0.1, AdamW), evaluated first. Each
trial trains with early stopping on the objective and keeps its best epoch;
what it predicts on the validation rows is recorded, for the ensemble.
"""

from dataclasses import dataclass
from typing import List, Optional

import keras
import keras_tuner
import numpy as np

from keras_hpt.callbacks import EarlyStopping


@dataclass
class Member:
    """One finished trial, as the ensemble selection needs it."""

    trial_id: Optional[str]
    hyperparameters: keras_tuner.HyperParameters
    weights: list
    predictions: np.ndarray
    epochs: int


def predict_array(model: keras.Model, x: np.ndarray, batch_size: int = 4096) -> np.ndarray:
    """The model's outputs on `x`, in eager batches (no `predict` function to trace)."""
    parts = [keras.ops.convert_to_numpy(model(x[i:i + batch_size], training=False))
             for i in range(0, len(x), batch_size)]
    return np.concatenate(parts).astype(np.float64)


def output_layer(task: str, num_outputs: int, name: str = "output"):
    """The last layer, the loss and the metrics that `task` calls for."""
    if task == "classification":
        return (keras.layers.Dense(num_outputs, activation="softmax", name=name),
                "sparse_categorical_crossentropy", ["accuracy"])
    if task == "binary":
        return (keras.layers.Dense(1, activation="sigmoid", name=name),
                "binary_crossentropy", ["accuracy"])
    return (keras.layers.Dense(num_outputs, name=name), "mean_squared_error",
            [keras.metrics.RootMeanSquaredError(name="rmse"), "mae"])


class TabularHyperModel(keras_tuner.HyperModel):
    """Dense networks on encoded tabular features, trained with early stopping.

    Args:
        num_features: Width of the encoded features.
        task: `"classification"`, `"binary"` or `"regression"`.
        num_outputs: Classes, 1 for binary, or regression targets.
        objective: The `keras_tuner.Objective` trials stop early on.
        learning_rate: `(low, default, high)` of the log-scale learning rate.
        batch_size: Batch size of every trial.
        max_epochs: Epochs of a trial that never stops early.
        patience: Epochs without improvement of the objective before a trial stops.

    Example:

    >>> hypermodel = keras_hpt.pipeline.TabularHyperModel(
    ...     8, "binary", 1, keras_tuner.Objective("val_loss", "min"),
    ...     learning_rate=(1e-4, 1e-3, 1e-2), batch_size=32, max_epochs=5, patience=2)
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> [layer.units for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    [256, 256, 256, 1]
    """

    def __init__(self, num_features: int, task: str, num_outputs: int, objective,
                 *, learning_rate, batch_size: int, max_epochs: int, patience: int):
        super().__init__(name="tabular_mlp")
        self.num_features, self.task, self.num_outputs = num_features, task, num_outputs
        self.objective = objective
        self.learning_rate = tuple(float(v) for v in learning_rate)
        self.batch_size, self.max_epochs, self.patience = batch_size, max_epochs, patience
        self.members: List[Member] = []

    def network(self, hp, name: str = "tabular_mlp") -> keras.Model:
        """The trial's network, not compiled."""
        layers = hp.Int("num_layers", 1, 4, default=3)
        units = hp.Int("units", 32, 512, sampling="log", default=256)
        dropout = hp.Float("dropout", 0.0, 0.5, default=0.1)
        inputs = keras.Input((self.num_features,), name="features")
        x = inputs
        for index in range(layers):
            x = keras.layers.Dense(units, activation="relu", name=f"dense_{index}")(x)
            if dropout > 0:
                x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
        head, _, _ = output_layer(self.task, self.num_outputs)
        return keras.Model(inputs, head(x), name=name)

    def build(self, hp) -> keras.Model:
        model = self.network(hp)
        low, default, high = self.learning_rate
        rate = hp.Float("learning_rate", low, high, sampling="log", default=default)
        decay = hp.Float("weight_decay", 1e-5, 0.3, sampling="log", default=0.01)
        _, loss, metrics = output_layer(self.task, self.num_outputs)
        model.compile(optimizer=keras.optimizers.AdamW(rate, weight_decay=decay), loss=loss,
                      metrics=metrics)
        return model

    def fit(self, hp, model, x, y, *, validation_data, callbacks=None, **kwargs):
        """Trains with early stopping, keeps the best epoch, records the trial's predictions."""
        stopper = EarlyStopping(monitor=self.objective.name, mode=self.objective.direction,
                                patience=self.patience, restore_best_weights=True)
        callbacks = list(callbacks or [])
        kwargs.update(batch_size=self.batch_size, epochs=self.max_epochs, verbose=0)
        history = model.fit(x, y, validation_data=validation_data,
                            callbacks=[*callbacks, stopper], **kwargs)
        predictions = predict_array(model, validation_data[0])
        if np.all(np.isfinite(predictions)):
            trial_id = next((c.trial.trial_id for c in callbacks
                             if getattr(c, "trial", None) is not None), None)
            self.members.append(Member(trial_id, hp.copy(), model.get_weights(), predictions,
                                       len(history.epoch)))
        return history
