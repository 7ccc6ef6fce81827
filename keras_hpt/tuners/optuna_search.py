"""`OptunaSearch`: the one-line tuner for Optuna's samplers and pruners."""

from keras_hpt.oracles.optuna_oracle import OptunaOracle
from keras_hpt.tuners.tuner import Tuner, split_oracle_kwargs

_ORACLE_ARGS = ("sampler", "pruner")


class OptunaSearch(Tuner):
    """A `Tuner` running `keras_hpt.oracles.OptunaOracle`: any Optuna sampler and pruner.

    Trials are suggested by the sampler (multivariate TPE by default) and,
    with a `pruner`, stopped after the epoch where the pruner judges them
    unpromising. Optuna must be installed (`pip install optuna`).

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        objective: The objective, as for any keras-tuner tuner (a single one).
        **kwargs: The oracle's arguments (`sampler`, `pruner`, `max_trials`,
            `seed`, `hyperparameters`, ...) and the tuner's (`epoch_budget`,
            `time_budget`, `executions_per_trial`, `directory`, ...).

    Example:

    >>> import tempfile
    >>> import optuna
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> tuner = keras_hpt.tuners.optuna_search.OptunaSearch(
    ...     build, "val_loss", max_trials=2, seed=1,
    ...     pruner=optuna.pruners.MedianPruner(n_startup_trials=1),
    ...     directory=tempfile.mkdtemp())
    >>> tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    >>> len(tuner.oracle.study.trials)
    2
    """

    def __init__(self, hypermodel=None, objective=None, **kwargs):
        oracle_kwargs = split_oracle_kwargs(kwargs, _ORACLE_ARGS)
        super().__init__(OptunaOracle(objective, **oracle_kwargs), hypermodel, **kwargs)
