"""A ready HyperModel for dense networks on tabular or flattened data."""

import math
from typing import Optional, Sequence

import keras
import keras_tuner

from keras_hpt._validation import check_choice, check_number
from keras_hpt.hypermodels._space import check_choice_spec, check_range_spec, choice_hp, float_hp
from keras_hpt.hypermodels.base import HyperModel
from keras_hpt.hypermodels.blocks import check_stack_arguments, dense_stack
from keras_hpt.hypermodels.heuristics import width_range

TASKS = ("classification", "binary", "regression")
REGRESSION_LOSSES = ("mse", "mae", "huber")


def check_task(task: str, num_outputs: int, name: str = "num_outputs"):
    """Checks that `num_outputs` fits `task`."""
    check_choice("task", task, TASKS)
    check_number(name, num_outputs, low=1, integer=True)
    if task == "classification" and num_outputs < 2:
        raise ValueError(
            f"`{name}` must be at least 2 for task='classification' (use task='binary' for "
            f"one sigmoid output). Received: {name}={num_outputs}"
        )
    if task == "binary" and num_outputs != 1:
        raise ValueError(
            f"`{name}` must be 1 for task='binary' (use task='classification' for "
            f"{num_outputs} classes). Received: {name}={num_outputs}"
        )


def check_input_shape(input_shape) -> tuple:
    """Checks a per-sample input shape: a non-empty tuple of positive integers."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else (input_shape,)
    if not shape or not all(isinstance(d, int) and d > 0 for d in shape):
        raise ValueError(
            "`input_shape` must be the shape of one sample, a tuple of positive integers. "
            f"Received: input_shape={input_shape!r}"
        )
    return shape


def output_head(hp, x, task: str, num_outputs: int, loss_spec, huber_delta_spec):
    """The output layer, loss and metrics that `task` calls for.

    Returns:
        `(outputs, loss, metrics)`.
    """
    if task == "classification":
        outputs = keras.layers.Dense(num_outputs, activation="softmax", name="output")(x)
        return outputs, "sparse_categorical_crossentropy", ["accuracy"]
    if task == "binary":
        outputs = keras.layers.Dense(1, activation="sigmoid", name="output")(x)
        return outputs, "binary_crossentropy", ["accuracy", keras.metrics.AUC(name="auc")]
    outputs = keras.layers.Dense(num_outputs, name="output")(x)
    name = choice_hp(hp, "loss", loss_spec, default="mse")
    losses = list(loss_spec) if isinstance(loss_spec, list) else [loss_spec]
    loss = {"mse": "mean_squared_error", "mae": "mean_absolute_error"}.get(name)
    if "huber" in losses:
        with hp.conditional_scope("loss", ["huber"]):
            delta = float_hp(hp, "huber_delta", huber_delta_spec, sampling="log")
        if name == "huber":
            loss = keras.losses.Huber(delta=delta)
    metrics = [keras.metrics.RootMeanSquaredError(name="rmse"), "mae"]
    return outputs, loss, metrics


def objective_for(task: str) -> keras_tuner.Objective:
    """The search objective that compares trials fairly for `task`.

    Regression trials may differ in their loss (MSE, MAE, Huber), so their
    `val_loss` values are not comparable; they are ranked by validation RMSE.
    """
    if task == "regression":
        return keras_tuner.Objective("val_rmse", direction="min")
    return keras_tuner.Objective("val_accuracy", direction="max")


class MLPHyperModel(HyperModel):
    """A dense network whose depth, widths, dropout and training are tuned.

    The output layer, loss and metrics follow from `task`. Hidden widths
    default to the classic rules of thumb (`width_range`), searched on a log
    scale; layer `i`'s width and dropout exist only in trials with more than
    `i` layers. Every range argument takes a `(low, high)` tuple (tuned), a
    list (a choice) or a single value (fixed). Use `objective` as the
    tuner's objective.

    Args:
        input_shape: Shape of one sample; more than one dimension is flattened.
        num_outputs: Number of classes (`"classification"`, at least 2), 1
            (`"binary"`), or number of targets (`"regression"`).
        task: `"classification"`, `"binary"` or `"regression"`.
        num_layers: Hidden layers. Defaults to `(1, 3)`.
        units: Width of each hidden layer. Defaults to `width_range(...)`.
        dropout: Dropout after each hidden layer, in [0, 1). Defaults to `(0.0, 0.5)`.
        activation: Activation(s). Defaults to `["relu", "gelu"]`.
        batch_norm: Whether to normalise hidden layers. Defaults to `[False, True]`.
        loss: Regression loss(es) among `"mse"`, `"mae"`, `"huber"`. Defaults to
            all three for regression; must be `None` for classification.
        huber_delta: Huber's delta, log scale, when Huber is a choice.
            Defaults to `(0.1, 10.0)`.
        name: Name of the HyperModel.
        **training_options: `TrainingSpace` arguments: `optimizers`,
            `learning_rate`, `weight_decay`, `momentum`, `batch_size`.

    Example:

    >>> hypermodel = keras_hpt.hypermodels.MLPHyperModel((64,), 10, num_layers=(1, 2))
    >>> hp = keras_tuner.HyperParameters()
    >>> model = hypermodel.build(hp)
    >>> model.output_shape, hypermodel.objective.name
    ((None, 10), 'val_accuracy')
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_outputs: int,
        task: str = "classification",
        *,
        num_layers=(1, 3),
        units=None,
        dropout=(0.0, 0.5),
        activation=("relu", "gelu"),
        batch_norm=(False, True),
        loss=None,
        huber_delta=(0.1, 10.0),
        name: Optional[str] = None,
        **training_options,
    ):
        super().__init__(name=name, **training_options)
        self.input_shape = check_input_shape(input_shape)
        check_task(task, num_outputs)
        self.num_outputs, self.task = num_outputs, task
        if units is None:
            widths = width_range(math.prod(self.input_shape), num_outputs)
            units = (widths.min_units, widths.max_units)
        (self.num_layers, self.units, self.dropout, self.activation,
         self.batch_norm) = check_stack_arguments(
            "num_layers", num_layers, "units", units, dropout, list(activation)
            if isinstance(activation, tuple) else activation,
            list(batch_norm) if isinstance(batch_norm, tuple) else batch_norm,
        )
        self.loss = self._check_loss(loss)
        self.huber_delta = check_range_spec("huber_delta", huber_delta, low=0, low_open=True)

    def _check_loss(self, loss):
        if self.task != "regression":
            if loss is not None:
                raise ValueError(
                    f"`loss` is tuned only for task='regression'; task={self.task!r} uses its own "
                    f"loss. Received: loss={loss!r}"
                )
            return None
        if loss is None:
            return list(REGRESSION_LOSSES)
        return check_choice_spec("loss", loss, REGRESSION_LOSSES)

    @property
    def objective(self) -> keras_tuner.Objective:
        """The objective to give the tuner: validation accuracy, or RMSE for regression."""
        return objective_for(self.task)

    def build(self, hp) -> keras.Model:
        inputs = keras.Input(self.input_shape, name="features")
        x = keras.layers.Flatten(name="flatten")(inputs) if len(self.input_shape) > 1 else inputs
        x = dense_stack(hp, x, num_layers=self.num_layers, units=self.units,
                        dropout=self.dropout, activation=self.activation,
                        batch_norm=self.batch_norm)
        outputs, loss, metrics = output_head(hp, x, self.task, self.num_outputs, self.loss,
                                             self.huber_delta)
        model = keras.Model(inputs, outputs, name="mlp")
        return self.compile(hp, model, loss=loss, metrics=metrics)
