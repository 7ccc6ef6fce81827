"""`BayesianOptimization`: the one-line tuner for `GaussianProcessOracle`."""

from keras_hpt.oracles.gaussian_process import GaussianProcessOracle
from keras_hpt.tuners.tuner import Tuner, split_oracle_kwargs


class BayesianOptimization(Tuner):
    """A `Tuner` running `keras_hpt.oracles.GaussianProcessOracle`.

    A drop-in for `keras_tuner.BayesianOptimization`: the same arguments
    (`num_initial_points`, `max_trials`, `seed`, ...), categories treated
    as categories and milliseconds per suggestion.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        objective: The objective, as for any keras-tuner tuner.
        **kwargs: The oracle's arguments (`max_trials`, `num_initial_points`,
            `output_warping`, `seed`, `hyperparameters`, ...) and the tuner's
            (`directory`, `epoch_budget`, `executions_per_trial`, ...).
            keras-tuner's `alpha` and `beta` (of its UCB acquisition) are
            accepted and ignored, since this oracle maximises expected
            improvement.

    Example:

    >>> import tempfile
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> tuner = keras_hpt.tuners.BayesianOptimization(
    ...     build, "val_loss", max_trials=3, seed=1, directory=tempfile.mkdtemp())
    >>> tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    >>> len(tuner.oracle.trials)
    3
    """

    def __init__(self, hypermodel=None, objective=None, **kwargs):
        kwargs.pop("alpha", None)
        kwargs.pop("beta", None)
        oracle_kwargs = split_oracle_kwargs(kwargs, ("num_initial_points", "output_warping"))
        super().__init__(GaussianProcessOracle(objective, **oracle_kwargs), hypermodel, **kwargs)
