"""Optuna's samplers and pruners driving a keras-tuner search.

Optuna is an optional dependency: this module imports without it, and
`OptunaOracle` asks for it (`pip install optuna`) when it is created.
"""

import decimal
import math
import warnings
from typing import TYPE_CHECKING, Optional

import keras_tuner
from keras_tuner.src.engine import hyperparameters as hp_module
from keras_tuner.src.engine import objective as objective_module

from keras_hpt._validation import check_condition, check_number
from keras_hpt.oracles.base import Oracle, TrialStatus

if TYPE_CHECKING:
    import optuna

#: The Optuna user attribute that names the keras-tuner trial an Optuna trial ran for.
TRIAL_ID_ATTR = "keras_tuner_trial_id"

# A sampled configuration that was already tried is asked again this many
# times before the oracle falls back to keras-tuner's random sampling.
_MAX_ASKS = 5


def _import_optuna():
    try:
        import optuna
    except ImportError as error:
        raise ImportError(
            "OptunaOracle requires Optuna. Install it with `pip install optuna` "
            "(or `pip install keras-hpt[optuna]`)."
        ) from error
    return optuna


def _decimal(x) -> decimal.Decimal:
    return decimal.Decimal(str(x))


class _Param:
    """How one keras-tuner hyperparameter is represented as an Optuna parameter.

    `decode` turns Optuna's value into the keras-tuner value, `encode` the other way.
    """

    def __init__(self, hp, optuna):
        dists = optuna.distributions
        # Conditional hyperparameters may share a name with another branch's (with a
        # different type), which Optuna forbids within a study: their conditions go
        # into the name.
        self.key = hp.name
        if hp.conditions:
            scope = " and ".join(
                "{name} in {values}".format(**c.get_config()) for c in hp.conditions
            )
            self.key = f"{hp.name} if {scope}"
        self.is_int = isinstance(hp, hp_module.Int)
        self.is_bool = isinstance(hp, hp_module.Boolean)
        self.grid = None
        self.mirrored = False
        kind = dists.IntDistribution if self.is_int else dists.FloatDistribution
        if self.is_bool:
            self.distribution = dists.CategoricalDistribution([False, True])
        elif isinstance(hp, hp_module.Choice):
            self.distribution = dists.CategoricalDistribution(list(hp.values))
        elif hp.step is not None and hp.sampling != "linear":
            # Geometric steps (min * step**k) have no Optuna distribution: the index k
            # is tuned instead, an ordered integer that is linear in log scale.
            self.grid = list(hp.values)
            self.distribution = dists.IntDistribution(0, len(self.grid) - 1)
        elif hp.step is not None:
            # The highest multiple of `step` within range, computed exactly so that
            # Optuna needs no adjustment (and gives no warning).
            count = (_decimal(hp.max_value) - _decimal(hp.min_value)) // _decimal(hp.step)
            high = _decimal(hp.min_value) + count * _decimal(hp.step)
            self.distribution = kind(hp.min_value, type(hp.min_value)(high), step=hp.step)
        else:
            # keras-tuner's reverse_log is `min + max - u` for a log-uniform `u`: Optuna
            # tunes `u` on a log scale, which keeps keras-tuner's prior.
            self.mirrored = hp.sampling == "reverse_log"
            self.distribution = kind(hp.min_value, hp.max_value, log=hp.sampling != "linear")

    def _mirror(self, x):
        low, high = self.distribution.low, self.distribution.high
        # Clipped: `low + high - x` may round just outside the range.
        return min(max(low + high - x, low), high)

    def decode(self, x):
        if self.is_bool:
            return bool(x)
        if self.grid is not None:
            x = self.grid[int(x)]
        elif self.mirrored:
            x = self._mirror(x)
        return int(round(x)) if self.is_int else x

    def encode(self, value):
        """Optuna's value for a keras-tuner value, or `None` if it is outside the space."""
        if hasattr(self.distribution, "choices"):
            return value if value in self.distribution.choices else None
        if self.grid is not None:
            return min(range(len(self.grid)), key=lambda i: abs(self.grid[i] - value))
        low, high = self.distribution.low, self.distribution.high
        if not low - 1e-12 * (high - low) <= value <= high + 1e-12 * (high - low):
            return None
        return self._mirror(value) if self.mirrored else min(max(value, low), high)

    def suggest(self, optuna_trial):
        dist = self.distribution
        if hasattr(dist, "choices"):
            return self.decode(optuna_trial.suggest_categorical(self.key, dist.choices))
        if self.is_int or self.grid is not None:
            suggest = optuna_trial.suggest_int
        else:
            suggest = optuna_trial.suggest_float
        return self.decode(suggest(self.key, dist.low, dist.high, step=dist.step, log=dist.log))


class OptunaOracle(Oracle):
    """Tune with any Optuna sampler, and stop unpromising trials with any Optuna pruner.

    Every keras-tuner trial is an Optuna trial asked from an in-memory study
    (`oracle.study`, with the keras-tuner trial id in the user attribute
    `"keras_tuner_trial_id"`). Only the hyperparameters active under the values
    chosen so far are suggested, in the order of the space, so conditional
    scopes work; `Fixed` values are set, not tuned. `Int` and `Float` map to
    Optuna's integer and float distributions (log sampling included), `Choice`
    and `Boolean` to categorical ones. Two mappings are not one-to-one:
    `reverse_log` values are tuned as `min_value + max_value - value` on a log
    scale, and log-scale values with a `step` by the index `k` of
    `min_value * step**k`. Conditional hyperparameters carry their conditions in
    their Optuna names (`"units if model in ['mlp']"`).

    After each epoch the objective (executions combined by `aggregate`) is
    reported to the pruner, which may stop the trial there. Optuna takes one
    value per epoch, so with several executions per trial the pruner judges
    the first execution to reach an epoch. Ended trials are told to Optuna as
    `COMPLETE` with their score, `PRUNED` when the pruner stopped them (at
    their last epoch too, as in Optuna's own loop), and `FAIL` when they
    failed or diverged. A configuration that was already
    tried is asked again a few times, then replaced by a random one.

    Saved searches resume (`overwrite=False`): the study is rebuilt from the
    finished trials (pruned ones with their reported values), and the default
    sampler is reseeded with `seed` plus their number, so it does not replay
    its first draws. Trials interrupted while running, and trials that raised
    an error and are retried, run again as a new Optuna trial with their values
    fixed.

    Args:
        objective: The objective, a string or `keras_tuner.Objective`; a single
            one, as Optuna's pruners need a single value.
        sampler: An `optuna.samplers.BaseSampler` (`TPESampler`,
            `RandomSampler`, `CmaEsSampler` for numeric spaces, `GPSampler`
            when PyTorch is installed, `QMCSampler`, ...). Defaults to
            `TPESampler(seed=seed, multivariate=True, group=True,
            constant_liar=True)`: multivariate, grouped for conditional
            scopes, and aware of the trials other workers are running.
        pruner: An `optuna.pruners.BasePruner` (`MedianPruner`,
            `SuccessiveHalvingPruner`, `HyperbandPruner`, ...), or `None` not to
            prune. Epochs are Optuna's steps, counted from 0.
        max_trials: Maximum number of trials, or `None` to rely on the tuner's
            budgets.
        hyperparameters: Optional `HyperParameters` to start the space from.
        seed: Random seed of the default sampler and of the random fallback.
        **kwargs: Passed to `keras_hpt.oracles.base.Oracle`
            (`max_retries_per_trial`, `aggregate`, ...).

    Example:

    >>> import optuna
    >>> oracle = keras_hpt.oracles.optuna_oracle.OptunaOracle(
    ...     "val_accuracy", pruner=optuna.pruners.MedianPruner(), max_trials=20, seed=1)
    >>> oracle.study.direction.name
    'MAXIMIZE'
    """

    unbounded = True

    def __init__(
        self,
        objective=None,
        sampler: Optional["optuna.samplers.BaseSampler"] = None,
        pruner: Optional["optuna.pruners.BasePruner"] = None,
        max_trials: Optional[int] = None,
        hyperparameters=None,
        seed: Optional[int] = None,
        **kwargs,
    ):
        optuna = _import_optuna()
        for name, value, base in (
            ("sampler", sampler, optuna.samplers.BaseSampler),
            ("pruner", pruner, optuna.pruners.BasePruner),
        ):
            if value is not None and not isinstance(value, base):
                raise TypeError(
                    f"`{name}` must be an optuna.{name}s.{base.__name__} or None. "
                    f"Received: {name}={value!r}"
                )
        check_number("max_trials", max_trials, low=0, low_open=True, integer=True, allow_none=True)
        super().__init__(
            objective=objective,
            max_trials=max_trials,
            hyperparameters=hyperparameters,
            seed=seed,
            **kwargs,
        )
        check_condition(
            not isinstance(self.objective, objective_module.MultiObjective),
            "objective",
            objective,
            "a single objective (OptunaOracle does not support multi-objective search)",
        )
        self.sampler = sampler
        self.pruner = pruner
        self.study = self._new_study(self.seed)
        # keras-tuner trial id -> its running Optuna trial, and the epochs reported to it.
        self._running = {}
        self._reported = {}

    # The study --------------------------------------------------------------

    def _new_study(self, seed: int):
        optuna = _import_optuna()
        sampler = self.sampler
        if sampler is None:
            with warnings.catch_warnings():
                # `group` is marked experimental; it is what makes multivariate TPE
                # model conditional scopes jointly instead of one by one.
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                sampler = optuna.samplers.TPESampler(
                    seed=seed, multivariate=True, group=True, constant_liar=True
                )
        return optuna.create_study(
            sampler=sampler,
            pruner=self.pruner or optuna.pruners.NopPruner(),
            direction="maximize" if self.objective.direction == "max" else "minimize",
            study_name="keras_hpt",
        )

    def _params(self, values) -> dict:
        """`{hyperparameter name: _Param}` of the active, tunable hyperparameters in `values`."""
        optuna = _import_optuna()
        params = {}
        for hp in self.hyperparameters.space:
            if isinstance(hp, hp_module.Fixed) or hp.name not in values or hp.name in params:
                continue
            if all(condition.is_active(values) for condition in hp.conditions):
                params[hp.name] = _Param(hp, optuna)
        return params

    def _suggest(self, optuna_trial) -> dict:
        """Values for every active hyperparameter, conditions evaluated in the space's order."""
        optuna = _import_optuna()
        values = {}
        for hp in self.hyperparameters.space:
            if hp.name in values or not all(c.is_active(values) for c in hp.conditions):
                continue
            if isinstance(hp, hp_module.Fixed):
                values[hp.name] = hp.value
            else:
                values[hp.name] = _Param(hp, optuna).suggest(optuna_trial)
        return values

    def _ask_fixed(self, values):
        """An Optuna trial whose parameters are `values` (any sampler: enqueued, then asked)."""
        params = {}
        for name, param in self._params(values).items():
            x = param.encode(values[name])
            if x is not None:
                params[param.key] = (param, x)
        self.study.enqueue_trial({key: x for key, (_, x) in params.items()})
        optuna_trial = self.study.ask()
        for param, _ in params.values():
            # Records the enqueued value with its distribution.
            param.suggest(optuna_trial)
        return optuna_trial

    def _bind(self, trial_id, optuna_trial):
        optuna_trial.set_user_attr(TRIAL_ID_ATTR, trial_id)
        self._running[trial_id] = optuna_trial
        self._reported[trial_id] = set()
        return optuna_trial

    def _optuna_trial(self, trial):
        """The running Optuna trial of `trial`; a retried or resumed trial gets a new one."""
        if trial.trial_id not in self._running:
            self._bind(trial.trial_id, self._ask_fixed(trial.hyperparameters.values))
        return self._running[trial.trial_id]

    # Oracle hooks -----------------------------------------------------------

    def populate_space(self, trial_id):
        optuna = _import_optuna()
        for _ in range(_MAX_ASKS):
            optuna_trial = self.study.ask()
            values = self._suggest(optuna_trial)
            if not self._duplicate(values):
                self._bind(trial_id, optuna_trial)
                return {"status": TrialStatus.RUNNING, "values": values}
            # Failed, not left running: a pending trial would bias a constant liar.
            self.study.tell(optuna_trial, state=optuna.trial.TrialState.FAIL)
        values = self._random_values()
        if values is None:
            return {"status": TrialStatus.STOPPED}
        self._bind(trial_id, self._ask_fixed(values))
        return {"status": TrialStatus.RUNNING, "values": values}

    def _should_stop(self, trial, step):
        value = dict(self.aggregated_history(trial)).get(step)
        reported = self._reported.get(trial.trial_id, ())
        if value is None or step in reported:
            # Optuna keeps one value per step: a later execution reaching this epoch
            # neither reports nor asks again.
            return None
        optuna_trial = self._optuna_trial(trial)
        optuna_trial.report(value, int(step))
        self._reported[trial.trial_id].add(step)
        if optuna_trial.should_prune():
            return f"pruned by {type(self.study.pruner).__name__} at epoch {step}"
        return None

    @keras_tuner.synchronized
    def end_trial(self, trial):
        # keras-tuner's bookkeeping first: it scores the trial and settles its status.
        super().end_trial(trial)
        trial = self.trials[trial.trial_id]
        state, value = self._outcome(trial)
        self.study.tell(self._optuna_trial(trial), value, state=state)
        del self._running[trial.trial_id], self._reported[trial.trial_id]

    def _outcome(self, trial):
        """Optuna's `(state, value)` for an ended keras-tuner trial."""
        states = _import_optuna().trial.TrialState
        if trial.status != TrialStatus.COMPLETED:
            # FAILED, diverged, or INVALID and queued for a retry (a new Optuna trial).
            return states.FAIL, None
        if trial.trial_id in self._stopped:
            return states.PRUNED, None
        return states.COMPLETE, trial.score

    # Resuming ---------------------------------------------------------------

    def reload(self):
        super().reload()
        self._rebuild_study()

    def _rebuild_study(self):
        """A new study holding every finished trial, so the sampler learns from them all."""
        optuna = _import_optuna()
        ended = list(dict.fromkeys(self.end_order))
        self.study = self._new_study(self.seed + len(ended))
        self._running, self._reported = {}, {}
        for trial_id in ended:
            trial = self.trials[trial_id]
            state, value = self._outcome(trial)
            params, distributions = {}, {}
            for name, param in self._params(trial.hyperparameters.values).items():
                x = param.encode(trial.hyperparameters.values[name])
                if x is not None:
                    params[param.key], distributions[param.key] = x, param.distribution
            steps = {
                int(s): v for s, v in self.aggregated_history(trial) if math.isfinite(v)
            }
            if state == optuna.trial.TrialState.PRUNED and steps:
                value = steps[max(steps)]
            self.study.add_trial(
                optuna.trial.create_trial(
                    state=state,
                    value=value,
                    params=params,
                    distributions=distributions,
                    intermediate_values=steps,
                    user_attrs={TRIAL_ID_ATTR: trial_id},
                )
            )
