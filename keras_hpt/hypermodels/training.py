"""The training hyperparameters: optimizer, learning rate, weight decay and batch size."""

from typing import Optional

import keras

from keras_hpt.hypermodels._space import (
    check_choice_spec,
    check_range_spec,
    choice_hp,
    float_hp,
    int_hp,
)

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "adamw": keras.optimizers.AdamW,
    "sgd": keras.optimizers.SGD,
    "rmsprop": keras.optimizers.RMSprop,
    "nadam": keras.optimizers.Nadam,
}
# Optimizers whose weight decay is tuned: AdamW is Adam with it, SGD needs it
# more than adaptive methods do.
_DECAYED = ("adamw", "sgd")
_MAX_BATCH_SIZE = 8192


class TrainingSpace:
    """The part of a search space that says how a model is trained.

    Call `optimizer(hp)` when compiling and `batch_size(hp)` in both `build`
    (so the oracle knows the hyperparameter before the first trial) and
    `fit`. Weight decay is active only for AdamW and SGD, momentum only for
    SGD, so summaries and oracles never see values that do nothing.

    Args:
        optimizers: Optimizer name or list of names among `"adam"`, `"adamw"`,
            `"sgd"` (with momentum), `"rmsprop"`, `"nadam"`. Defaults to
            `["adam", "adamw", "sgd"]`.
        learning_rate: Learning rate range, searched on a log scale.
            Defaults to `(1e-4, 1e-1)`.
        weight_decay: Decoupled weight decay for AdamW and SGD, log scale.
            Defaults to `(1e-6, 1e-2)`.
        momentum: SGD momentum. Defaults to `0.9` (fixed).
        batch_size: Batch sizes: a list, a `(low, high)` tuple (the powers of
            two in it), one value, or `None` to leave the batch size to
            `fit`'s caller. Defaults to `(16, 128)`: 16, 32, 64 or 128.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> space = keras_hpt.hypermodels.TrainingSpace(optimizers="sgd", batch_size=(16, 64))
    >>> optimizer = space.optimizer(hp)
    >>> sorted(hp.values), space.batch_size(hp) in (16, 32, 64)
    (['learning_rate', 'momentum', 'optimizer', 'weight_decay'], True)
    """

    def __init__(
        self,
        optimizers=("adam", "adamw", "sgd"),
        learning_rate=(1e-4, 1e-1),
        weight_decay=(1e-6, 1e-2),
        momentum=0.9,
        batch_size=(16, 128),
    ):
        self.optimizers = check_choice_spec("optimizers", optimizers, tuple(OPTIMIZERS))
        if isinstance(self.optimizers, tuple):
            self.optimizers = list(self.optimizers)
        self.learning_rate = check_range_spec(
            "learning_rate", learning_rate, low=0, high=10, low_open=True
        )
        self.weight_decay = check_range_spec(
            "weight_decay", weight_decay, low=0, high=1, high_open=True
        )
        self.momentum = check_range_spec("momentum", momentum, low=0, high=1, high_open=True)
        if batch_size is not None:
            batch_size = check_range_spec(
                "batch_size", batch_size, low=1, high=_MAX_BATCH_SIZE, integer=True
            )
            if isinstance(batch_size, tuple):
                batch_size = _powers_of_two(*batch_size)
        self.batch_size_choices = batch_size

    def _names(self) -> list:
        return self.optimizers if isinstance(self.optimizers, list) else [self.optimizers]

    def optimizer(self, hp) -> keras.optimizers.Optimizer:
        """Declares the optimizer hyperparameters and returns the optimizer they describe.

        Args:
            hp: The trial's `keras_tuner.HyperParameters`.

        Returns:
            A new, unbuilt Keras optimizer.
        """
        name = choice_hp(hp, "optimizer", self.optimizers, default="adam")
        learning_rate = float_hp(
            hp, "learning_rate", self.learning_rate, sampling="log", default=_default_rate(
                self.learning_rate)
        )
        options = {"learning_rate": learning_rate}
        decayed = [n for n in self._names() if n in _DECAYED]
        if decayed:
            with hp.conditional_scope("optimizer", decayed):
                decay = float_hp(hp, "weight_decay", self.weight_decay, sampling=_log_if_positive(
                    self.weight_decay))
            if name in decayed:
                options["weight_decay"] = decay
        if "sgd" in self._names():
            with hp.conditional_scope("optimizer", ["sgd"]):
                momentum = float_hp(hp, "momentum", self.momentum)
            if name == "sgd":
                options["momentum"] = momentum
        return OPTIMIZERS[name](**options)

    def batch_size(self, hp) -> Optional[int]:
        """Declares the batch-size hyperparameter and returns its value (`None` if untuned)."""
        if self.batch_size_choices is None:
            return None
        return int_hp(hp, "batch_size", self.batch_size_choices, default=32)


def _powers_of_two(low: int, high: int) -> list:
    powers = [2**k for k in range(0, 14) if low <= 2**k <= high]
    if not powers:
        raise ValueError(
            "`batch_size` as a (low, high) tuple must contain a power of two. "
            f"Received: batch_size={(low, high)!r}"
        )
    return powers


def _default_rate(spec):
    """1e-3 where the range allows it: the rate most optimizers are tuned around."""
    if isinstance(spec, tuple) and spec[0] <= 1e-3 <= spec[1]:
        return 1e-3
    return None


def _log_if_positive(spec) -> str:
    return "log" if isinstance(spec, tuple) and spec[0] > 0 else "linear"
