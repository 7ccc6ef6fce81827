"""`PBT`: the one-line tuner for population based training."""

from keras_hpt.oracles.pbt import PBTOracle
from keras_hpt.tuners.tuner import Tuner, split_oracle_kwargs

_ORACLE_ARGS = (
    "population_size",
    "interval",
    "max_epochs",
    "quantile",
    "resample_probability",
    "perturb_factors",
    "mutable",
)


class PBT(Tuner):
    """A `Tuner` running `keras_hpt.oracles.PBTOracle`.

    The oracle decides each interval's epochs, so `epochs` passed to
    `search` is ignored.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        objective: The objective, as for any keras-tuner tuner.
        **kwargs: The oracle's arguments (`population_size`, `interval`,
            `max_epochs`, `quantile`, `mutable`, `seed`, ...) and the tuner's
            (`directory`, `epoch_budget`, ...).

    Example:

    >>> import tempfile
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> tuner = keras_hpt.tuners.PBT(build, "val_loss", population_size=2, interval=1,
    ...                              max_epochs=3, seed=1, directory=tempfile.mkdtemp())
    >>> tuner.search(x, y, validation_split=0.25, verbose=0)
    >>> tuner.epochs_trained <= 6
    True
    """

    def __init__(self, hypermodel=None, objective=None, **kwargs):
        oracle_kwargs = split_oracle_kwargs(kwargs, _ORACLE_ARGS)
        super().__init__(PBTOracle(objective, **oracle_kwargs), hypermodel, **kwargs)
