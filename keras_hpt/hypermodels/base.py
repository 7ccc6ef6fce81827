"""A keras-tuner HyperModel that also tunes how its model is trained."""

import inspect
import warnings
from typing import Optional

import keras
import keras_tuner

from keras_hpt.hypermodels.training import TrainingSpace


def _is_batched_data(x) -> bool:
    """Whether `x` arrives already in batches (a dataset, a generator), not as arrays."""
    return (
        hasattr(x, "element_spec")
        or isinstance(x, keras.utils.PyDataset)
        or inspect.isgenerator(x)
        or hasattr(x, "__next__")
    )


class HyperModel(keras_tuner.HyperModel):
    """A `keras_tuner.HyperModel` whose optimizer, learning rate and batch size are tuned.

    Subclass it like `keras_tuner.HyperModel` and end `build` with
    `return self.compile(hp, model, loss=..., metrics=...)`: that declares and
    applies the optimizer hyperparameters and declares the batch size, which
    `fit` then passes to `model.fit`. So the batch size is tuned like any
    other hyperparameter, by any keras-tuner tuner.

    Args:
        training: The `TrainingSpace` to tune. Defaults to `TrainingSpace()`.
        name: Name of the HyperModel, as in keras-tuner.
        tunable: Whether the hyperparameters it declares may be tuned.
        **training_options: Arguments for `TrainingSpace` instead of `training`
            (`optimizers`, `learning_rate`, `weight_decay`, `momentum`,
            `batch_size`).

    Example:

    >>> class Tiny(keras_hpt.hypermodels.HyperModel):
    ...     def build(self, hp):
    ...         model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...         return self.compile(hp, model, loss="mse")
    >>> hp = keras_tuner.HyperParameters()
    >>> model = Tiny(learning_rate=(1e-3, 1e-2), batch_size=[8, 16]).build(hp)
    >>> sorted(hp.values)
    ['batch_size', 'learning_rate', 'optimizer']
    """

    def __init__(
        self,
        training: Optional[TrainingSpace] = None,
        name: Optional[str] = None,
        tunable: bool = True,
        **training_options,
    ):
        super().__init__(name=name, tunable=tunable)
        if training is not None and training_options:
            raise ValueError(
                "Pass either `training` or TrainingSpace arguments, not both. Received: "
                f"training={training!r} and {sorted(training_options)}"
            )
        self.training = training or TrainingSpace(**training_options)

    def compile(self, hp, model: keras.Model, loss, metrics=None, **compile_kwargs):
        """Compiles `model` with the tuned optimizer and declares the batch size.

        Args:
            hp: The trial's `keras_tuner.HyperParameters`.
            model: The model `build` made.
            loss: The loss, as for `model.compile`.
            metrics: The metrics, as for `model.compile`.
            **compile_kwargs: Anything else `model.compile` takes.

        Returns:
            The compiled model.
        """
        model.compile(
            optimizer=self.training.optimizer(hp), loss=loss, metrics=metrics, **compile_kwargs
        )
        self.training.batch_size(hp)
        return model

    def fit(self, hp, model: keras.Model, *args, **kwargs):
        """Trains `model` with the trial's batch size; returns what `model.fit` returns."""
        batch_size = self.training.batch_size(hp)
        if batch_size is not None:
            x = args[0] if args else kwargs.get("x")
            if _is_batched_data(x):
                raise ValueError(
                    "The batch size is tuned, but the training data comes in batches already "
                    f"({type(x).__name__}). Pass NumPy arrays or tensors to `search`, or build "
                    "the HyperModel with `batch_size=None` to keep your own batching."
                )
            given = kwargs.get("batch_size")
            if given is not None and given != batch_size:
                warnings.warn(
                    f"`batch_size={given}` passed to search is replaced by the tuned "
                    f"batch_size={batch_size}.",
                    stacklevel=2,
                )
            kwargs["batch_size"] = batch_size
        return model.fit(*args, **kwargs)
