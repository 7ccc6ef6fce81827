"""`ASHA`: the one-line tuner for asynchronous successive halving."""

from keras_hpt.oracles.asha import ASHAOracle
from keras_hpt.tuners.tuner import Tuner, split_oracle_kwargs


class ASHA(Tuner):
    """A `Tuner` running `keras_hpt.oracles.ASHAOracle`, as `keras_tuner.Hyperband` does.

    The oracle decides each trial's epochs, so `epochs` passed to `search` is
    ignored.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        objective: The objective, as for any keras-tuner tuner.
        **kwargs: The oracle's arguments (`min_epochs`, `max_epochs`, `factor`,
            `brackets`, `max_trials`, `seed`, `hyperparameters`, ...) and the
            tuner's (`epoch_budget`, `time_budget`, `directory`, ...).

    Example:

    >>> import tempfile
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> tuner = keras_hpt.tuners.ASHA(build, "val_loss", max_epochs=3, seed=1,
    ...                               epoch_budget=12, directory=tempfile.mkdtemp())
    >>> tuner.search(x, y, validation_split=0.25, verbose=0)
    >>> tuner.epochs_trained
    12
    """

    def __init__(self, hypermodel=None, objective=None, **kwargs):
        oracle_kwargs = split_oracle_kwargs(
            kwargs,
            ("min_epochs", "max_epochs", "factor", "brackets", "sampler", "random_fraction"),
        )
        super().__init__(ASHAOracle(objective, **oracle_kwargs), hypermodel, **kwargs)
