"""`Evolution`: the one-line tuner for regularized evolution."""

from keras_hpt.oracles.evolution import EvolutionOracle
from keras_hpt.tuners.tuner import Tuner, split_oracle_kwargs

_ORACLE_ARGS = (
    "population_size",
    "tournament_size",
    "mutation_rate",
    "crossover_rate",
    "mutation_scale",
)


class Evolution(Tuner):
    """A `Tuner` running `keras_hpt.oracles.evolution.EvolutionOracle`.

    The search starts with `population_size` random trials, then breeds each
    new trial from the recent completed ones by tournament selection,
    crossover and mutation. It runs until `max_trials`, a budget of the tuner
    (`epoch_budget`, `time_budget`) or the exhaustion of a finite space ends it.

    Args:
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        objective: The objective, as for any keras-tuner tuner.
        **kwargs: The oracle's arguments (`population_size`, `tournament_size`,
            `mutation_rate`, `crossover_rate`, `mutation_scale`, `max_trials`,
            `seed`, `hyperparameters`, ...) and the tuner's (`epoch_budget`,
            `time_budget`, `executions_per_trial`, `aggregate`, `directory`, ...).

    Example:

    >>> import tempfile
    >>> from keras_hpt.tuners.evolution import Evolution
    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> tuner = Evolution(build, "val_loss", population_size=2, max_trials=4, seed=1,
    ...                   directory=tempfile.mkdtemp())
    >>> tuner.search(x, y, epochs=2, validation_split=0.25, verbose=0)
    >>> len(tuner.oracle.trials)
    4
    >>> len(tuner.oracle.parents(tuner.oracle.start_order[-1])) in (1, 2)
    True
    """

    def __init__(self, hypermodel=None, objective=None, **kwargs):
        oracle_kwargs = split_oracle_kwargs(kwargs, _ORACLE_ARGS)
        super().__init__(EvolutionOracle(objective, **oracle_kwargs), hypermodel, **kwargs)
