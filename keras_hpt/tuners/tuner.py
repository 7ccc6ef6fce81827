"""The tuner all keras_hpt searches run on: keras-tuner's, plus reports every epoch."""

import gc
import math
import os
import shutil
import tempfile
import time
import warnings
import weakref

import keras
import keras_tuner
from keras_tuner.src import backend as kt_backend
from keras_tuner.src import utils as kt_utils
from keras_tuner.src.distribute import utils as dist_utils
from keras_tuner.src.engine import tuner_utils
from keras_tuner.src.engine.metrics_tracking import infer_metric_direction
from keras_tuner.src.engine.tuner import maybe_compute_model_size, maybe_distribute

from keras_hpt._validation import check_choice, check_number
from keras_hpt.distribute import chief
from keras_hpt.distribute.cluster import Cluster, patch_keras_for_multi_worker
from keras_hpt.distribute.launcher import RECYCLE_EXIT_CODE, TRIALS_PER_PROCESS_VARIABLE
from keras_hpt.oracles.base import Oracle as _OwnOracle
from keras_hpt.oracles.base import TrialStatus
from keras_hpt.tuners import _checkpoint


def _objectives(objective) -> list:
    if isinstance(objective, keras_tuner.Objective):
        return [objective]
    return [
        keras_tuner.Objective(name, direction)
        for name, direction in objective.name_to_direction.items()
    ]


def _check_directions(objective):
    for each in _objectives(objective):
        try:
            known = infer_metric_direction(each.name)
        except (ValueError, TypeError):
            known = None
        if known is not None and known != each.direction:
            goal = "maximize" if known == "max" else "minimize"
            raise ValueError(
                f"`objective` {each.name!r} is a metric to {goal}, but its direction is "
                f"{each.direction!r}. Received: objective="
                f"Objective({each.name!r}, {each.direction!r})"
            )


#: Arguments every keras_hpt oracle takes from its one-line tuner.
COMMON_ORACLE_ARGS = (
    "max_trials",
    "hyperparameters",
    "seed",
    "max_retries_per_trial",
    "max_consecutive_failed_trials",
    "allow_new_entries",
    "tune_new_entries",
    "trial_timeout",
)


def split_oracle_kwargs(kwargs: dict, names) -> dict:
    """Moves the oracle's arguments out of a one-line tuner's `kwargs`.

    Args:
        kwargs: The tuner's keyword arguments; the oracle's are removed from it.
        names: The arguments specific to the oracle.

    Returns:
        The oracle's keyword arguments (`aggregate` goes to both).
    """
    oracle_kwargs = {k: kwargs.pop(k) for k in (*names, *COMMON_ORACLE_ARGS) if k in kwargs}
    if "aggregate" in kwargs:
        oracle_kwargs["aggregate"] = kwargs["aggregate"]
    return oracle_kwargs


#: Why a trial stopped, by the code a multi-worker chief broadcasts (0: it goes on; any
#: reason not listed, a divergence with its own message, travels as the last code).
_STOP_REASONS = (None, "stopped by the oracle", "search budget spent", "diverged on the chief")


def _stop_code(reason) -> int:
    return _STOP_REASONS.index(reason) if reason in _STOP_REASONS else len(_STOP_REASONS) - 1


class _OracleReport(keras.callbacks.Callback):
    """Sends a trial's logs to the oracle after every epoch and obeys its answer.

    In a multi-worker cluster only the chief reports and saves checkpoints;
    its decision reaches the other workers by broadcast, so all stop at once.
    """

    def __init__(self, tuner, trial, checkpoint_path):
        super().__init__()
        self.tuner = tuner
        self.trial = trial
        self.checkpoint_path = checkpoint_path
        self.names = [o.name for o in _objectives(tuner.oracle.objective)]
        self.missing = None
        self.stop_reason = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        missing = [name for name in self.names if name not in logs]
        if missing:
            self.missing = (missing, sorted(logs))
            return
        cluster = self.tuner._cluster
        reports = cluster is None or cluster.is_chief
        if self.checkpoint_path is not None and reports:
            _checkpoint.save_training_state(self.model, self.checkpoint_path, epoch + 1)
        metrics = {}
        for key, value in logs.items():
            try:
                metrics[key] = float(keras.ops.convert_to_numpy(value))
            except (TypeError, ValueError):
                continue
        answer = None
        if reports:
            answer = self.tuner.oracle.update_trial(self.trial.trial_id, metrics, step=epoch)
        self.tuner._reported = True
        self.tuner._epochs_trained += 1
        for name in self.names:
            if not math.isfinite(metrics[name]):
                self.stop_reason = f"Diverged: {name}={metrics[name]} at epoch {epoch}."
                self.tuner._diverged = self.stop_reason
        if reports and self.stop_reason is None:
            if answer.status == TrialStatus.STOPPED:
                self.stop_reason = _STOP_REASONS[1]
            elif self.tuner._budget_spent():
                self.stop_reason = _STOP_REASONS[2]
        if cluster is not None:
            code = cluster.broadcast_int(_stop_code(self.stop_reason))
            if code and self.stop_reason is None:
                self.stop_reason = _STOP_REASONS[code]
        if self.stop_reason is not None:
            self.model.stop_training = True


class Tuner(keras_tuner.Tuner):
    """A `keras_tuner.Tuner` that reports every epoch to its oracle.

    After each epoch the trial's logs go to `oracle.update_trial(...,
    step=epoch)`; when the oracle answers with a stopped trial (a pruning
    decision of this package's oracles), the trial's `fit` ends there. A
    trial whose objective turns NaN or infinite stops at once and ends as
    `FAILED` with the reason in `trial.message`; with this package's oracles it
    ranks below every finite trial and never aborts the search (keras-tuner's
    own oracles still count it towards `max_consecutive_failed_trials`).

    With keras-tuner's oracles it trains and scores trials as
    `keras_tuner.Tuner` does. Trials that continue another trial (keys
    `tuner/trial_id`, `tuner/initial_epoch`, `tuner/epochs`) start from that
    trial's last-epoch checkpoint, optimizer state included. Memory is
    released after every trial.

    Under a `distribution_strategy`, each trial's model is built, compiled,
    trained, checkpointed and restored under it. With a
    `MultiWorkerMirroredStrategy`, every worker of the cluster runs the same
    script; the cluster's chief alone talks to the oracle (and writes the
    search's files in `directory`), and its decisions (the next trial, the
    checkpoint it continues, when it stops) reach the other workers through
    the strategy's collectives, so no shared file system is needed. The other
    workers keep their files in a temporary folder: ask the chief for results.

    Args:
        oracle: A `keras_tuner.Oracle`, typically one of `keras_hpt.oracles`.
        hypermodel: A `keras_tuner.HyperModel` or a function `hp -> model`.
        executions_per_trial: Times each trial is trained from scratch.
        aggregate: How executions combine at each epoch: `"mean"` or
            `"median"` (the latter needs an oracle of this package). Every
            execution's value is kept in the trial's metrics, so their spread
            can be read back.
        epoch_budget: Stop the search once this many epochs (all trials and
            executions) have been trained; the running trial stops at the
            budget. `None` for no limit.
        time_budget: Stop the search after this many seconds; the running
            trial stops at the end of the epoch that crosses it. `None` for
            no limit. In a chief/worker search with an oracle of this
            package, both budgets are the whole search's: the chief's oracle
            counts every worker's epochs (see `Oracle.set_budget`).
        **kwargs: Everything `keras_tuner.Tuner` accepts (`directory`,
            `project_name`, `overwrite`, `distribution_strategy`, ...).

    Example:

    >>> x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    >>> y = x.sum(axis=1, keepdims=True)
    >>> def build(hp):
    ...     model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(hp.Float("lr", 1e-3, 1e-1, sampling="log")),
    ...                   loss="mse")
    ...     return model
    >>> import tempfile
    >>> tuner = keras_hpt.tuners.Tuner(
    ...     keras_tuner.oracles.RandomSearchOracle("val_loss", max_trials=2, seed=1),
    ...     build, directory=tempfile.mkdtemp(), epoch_budget=5)
    >>> tuner.search(x, y, epochs=3, validation_split=0.25, verbose=0)
    >>> tuner.epochs_trained
    5
    """

    def __init__(
        self,
        oracle,
        hypermodel=None,
        *,
        executions_per_trial: int = 1,
        aggregate: str = "mean",
        epoch_budget=None,
        time_budget=None,
        **kwargs,
    ):
        executions_per_trial = check_number(
            "executions_per_trial", executions_per_trial, low=0, low_open=True, integer=True
        )
        check_choice("aggregate", aggregate, ("mean", "median"))
        self.epoch_budget = check_number(
            "epoch_budget", epoch_budget, low=0, low_open=True, integer=True, allow_none=True
        )
        self.time_budget = check_number(
            "time_budget", time_budget, low=0, low_open=True, allow_none=True
        )
        if not isinstance(oracle, keras_tuner.Oracle):
            raise TypeError(
                f"`oracle` must be a keras_tuner.Oracle. Received: oracle={oracle!r}"
            )
        if isinstance(oracle, _OwnOracle):
            oracle.aggregate = aggregate
        elif aggregate != "mean":
            raise ValueError(
                "`aggregate` must be 'mean' with keras-tuner's own oracles, which average "
                "executions; use an oracle from keras_hpt.oracles. "
                f"Received: aggregate={aggregate!r}"
            )
        if oracle.objective is None:
            raise ValueError("`objective` must be given to the oracle. Received: objective=None")
        _check_directions(oracle.objective)
        if (
            getattr(oracle, "max_trials", None) is None
            and getattr(oracle, "unbounded", False)
            and epoch_budget is None
            and time_budget is None
        ):
            raise ValueError(
                f"{type(oracle).__name__} runs until a budget ends it: give `max_trials` to the "
                "oracle, or `epoch_budget` or `time_budget` to the tuner. Received: max_trials="
                "None, epoch_budget=None, time_budget=None"
            )
        self._cluster = Cluster.of(kwargs.get("distribution_strategy"))
        if self._cluster is not None:
            patch_keras_for_multi_worker()
        if self._cluster is not None and not self._cluster.is_chief:
            # Only the chief's files count; another worker's would collide with them.
            private = tempfile.mkdtemp(prefix=f"keras_hpt_worker{self._cluster.task_id}_")
            weakref.finalize(self, shutil.rmtree, private, True)
            kwargs.update(directory=private, overwrite=True)
        if self._is_worker():
            # The chief owns the search's folder: a worker started late (or again,
            # by the launcher) must not delete it with everything trained so far.
            kwargs["overwrite"] = False
        super().__init__(oracle, hypermodel, executions_per_trial=executions_per_trial, **kwargs)
        if self._cluster is not None:
            # keras-tuner's client would never send the chief's epoch reports in
            # multi-worker mode; this tuner keeps the cluster in step itself.
            self.oracle.multi_worker = False
            self.oracle.should_report = self._cluster.is_chief
        self.aggregate = aggregate
        self._epochs_trained = 0
        self._deadline = None
        self._reported = False
        self._diverged = None
        self._resume_from = None
        self._resume_epoch = 0

    @property
    def epochs_trained(self) -> int:
        """Epochs trained in this search so far, every trial and execution counted."""
        return self._epochs_trained

    @property
    def _local_oracle(self):
        """The oracle object itself; on a worker, the one keras-tuner's client wraps."""
        return getattr(self.oracle, "_oracle", self.oracle)

    # Budgets --------------------------------------------------------------

    def _budget_spent(self) -> bool:
        if self.epoch_budget is not None and self._epochs_trained >= self.epoch_budget:
            return True
        return self._deadline is not None and time.monotonic() >= self._deadline

    def _count_trained_epochs(self) -> int:
        counter = getattr(self.oracle, "epochs_trained", None)
        if callable(counter):
            return counter()
        return self._epochs_trained

    def search(self, *fit_args, **fit_kwargs):
        """Searches like `keras_tuner.Tuner.search`, within this tuner's budgets.

        Args:
            *fit_args: Passed to `HyperModel.fit` (the training data, say).
            **fit_kwargs: Passed to `HyperModel.fit` (`epochs`, `validation_data`, ...).
        """
        if dist_utils.has_chief_oracle() and dist_utils.is_chief_oracle():
            if "verbose" in fit_kwargs:
                self.oracle.verbose = fit_kwargs["verbose"]
            if isinstance(self.oracle, _OwnOracle):
                # The budgets are the whole search's: the oracle counts every worker's epochs.
                self.oracle.set_budget(self.epoch_budget, self.time_budget)
            self.save()
            chief.serve(self.oracle)
            return
        if "verbose" in fit_kwargs and not dist_utils.has_chief_oracle():
            self.oracle.verbose = fit_kwargs["verbose"]
        self._epochs_trained = self._count_trained_epochs()
        self.on_search_begin()
        # What exists now (modules, the data) lives through the search: frozen, the
        # garbage collection between trials no longer walks it; it cost most of a
        # small trial's time.
        gc.collect()
        gc.freeze()
        if self.time_budget is not None:
            # Counted from here, so the first trial always starts.
            self._deadline = time.monotonic() + self.time_budget
        try:
            self._search_loop(*fit_args, **fit_kwargs)
        finally:
            gc.unfreeze()
        self.on_search_end()

    def _search_loop(self, *fit_args, **fit_kwargs):
        recycle_after = self._recycle_after()
        trials_run = 0
        while True:
            trial = self._next_trial()
            if trial is None or trial.status == TrialStatus.STOPPED:
                break
            if trial.status == TrialStatus.IDLE:
                time.sleep(0.05)
                continue
            self.on_trial_begin(trial)
            self._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
            self.on_trial_end(trial)
            trials_run += 1
            if recycle_after is not None and trials_run >= recycle_after:
                # The launcher starts this worker again in a fresh process.
                raise SystemExit(RECYCLE_EXIT_CODE)

    def _recycle_after(self):
        """Trials after which this worker process ends, when `launch(recycle_after=...)` says so."""
        value = os.environ.get(TRIALS_PER_PROCESS_VARIABLE)
        if value is None or not self._is_worker() or self._cluster is not None:
            return None
        return check_number(TRIALS_PER_PROCESS_VARIABLE, int(value), low=0, low_open=True)

    def _next_trial(self):
        """The oracle's next trial, or `None` when the budget is spent.

        In a multi-worker cluster the chief asks the oracle and every worker
        receives the same trial.
        """
        trial = None
        if self._cluster is None or self._cluster.is_chief:
            if not self._budget_spent():
                self.pre_create_trial()
                trial = self.oracle.create_trial(self.tuner_id)
        if self._cluster is None:
            return trial
        payload = None
        if trial is not None:
            payload = {"trial_id": trial.trial_id, "status": trial.status,
                       "values": trial.hyperparameters.values}
        payload = self._cluster.broadcast_json(payload)
        if self._cluster.is_chief or payload is None:
            return trial
        hyperparameters = self.oracle.get_space()
        hyperparameters.values = dict(payload["values"] or {})
        return keras_tuner.engine.trial.Trial(
            hyperparameters, trial_id=payload["trial_id"], status=payload["status"]
        )

    def on_trial_end(self, trial):
        """Ends the trial with the oracle and saves the tuner (on a cluster's chief only).

        Args:
            trial: The `Trial` that ended.
        """
        if self._cluster is None or self._cluster.is_chief:
            super().on_trial_end(trial)

    # One trial ------------------------------------------------------------

    def _state_path(self, trial_id, execution: int) -> str:
        return os.path.join(self.get_trial_dir(trial_id), f"training_state_{execution}.npz")

    def _starting_state(self, trial, execution: int):
        """The checkpoint a trial's execution starts from: its own, else its parent's."""
        own = self._state_path(trial.trial_id, execution)
        if os.path.exists(own):
            return own
        parent = trial.hyperparameters.values.get("tuner/trial_id")
        if parent is None:
            return None
        for candidate in (execution, 0):
            path = self._state_path(parent, candidate)
            if os.path.exists(path):
                return path
        warnings.warn(
            f"Trial {trial.trial_id} continues trial {parent}, but no checkpoint of it was found "
            f"under {self.get_trial_dir(parent)}; it trains from scratch instead.",
            stacklevel=2,
        )
        return None

    def _try_build(self, hp):
        # keras-tuner clears the session and then collects garbage a second time;
        # one collection (inside `clear_session`) frees the previous trial alike.
        keras.backend.clear_session()
        model = self._build_hypermodel(hp)
        if not isinstance(model, keras.Model):
            raise keras_tuner.errors.FatalTypeError(
                "Expected the model-building function, or HyperModel.build() to return a "
                f"valid Keras Model instance. Received: {model} of type {type(model)}."
            )
        size = maybe_compute_model_size(model)
        if self.max_model_size and size > self.max_model_size:
            raise keras_tuner.errors.FailedTrialError(
                f"Oversized model: {size} parameters. Skip model."
            )
        path, self._resume_from = self._resume_from, None
        with maybe_distribute(self.distribution_strategy):
            if path is not None:
                _checkpoint.load_training_state(model, path)
            if self._cluster is not None and self._resume_epoch:
                self._cluster.broadcast_variables(
                    [*model.variables, *_checkpoint.optimizer_variables(model)]
                )
        return model

    def _plan_resume(self, trial, execution: int, keep_state: bool) -> None:
        """Picks the checkpoint the next execution starts from (the chief's, in a cluster)."""
        path = None
        if keep_state and (self._cluster is None or self._cluster.is_chief):
            path = self._starting_state(trial, execution)
        epoch = _checkpoint.checkpoint_epoch(path) if path is not None else 0
        if self._cluster is not None and keep_state:
            epoch = self._cluster.broadcast_int(epoch)
        self._resume_from, self._resume_epoch = path, epoch

    def _build_and_fit_model(self, trial, *args, **kwargs):
        if self._resume_epoch:
            kwargs["initial_epoch"] = self._resume_epoch
        try:
            return super()._build_and_fit_model(trial, *args, **kwargs)
        finally:
            self._resume_epoch = 0

    def run_trial(self, trial, *args, **kwargs):
        """Trains the trial's model `executions_per_trial` times, reporting every epoch.

        Args:
            trial: The `Trial` to run.
            *args: Passed on to `HyperModel.fit`.
            **kwargs: Passed on to `HyperModel.fit`.

        Returns:
            The list of what `HyperModel.fit` returned, one per execution.
        """
        values = trial.hyperparameters.values
        if "tuner/epochs" in values:
            kwargs["epochs"] = values["tuner/epochs"]
        kwargs.pop("initial_epoch", None)
        best_epoch = tuner_utils.SaveBestEpoch(
            objective=self.oracle.objective, filepath=self._get_checkpoint_fname(trial.trial_id)
        )
        user_callbacks = kwargs.pop("callbacks", [])
        keep_state = getattr(self._local_oracle, "continues_trials", False)
        results = []
        for execution in range(self.executions_per_trial):
            callbacks = self._deepcopy_callbacks(user_callbacks)
            self._configure_tensorboard_dir(callbacks, trial, execution)
            report = _OracleReport(
                self, trial, self._state_path(trial.trial_id, execution) if keep_state else None
            )
            callbacks += [tuner_utils.TunerCallback(self, trial), report, best_epoch]
            self._plan_resume(trial, execution, keep_state)
            result = self._build_and_fit_model(trial, *args, callbacks=callbacks, **kwargs)
            results.append(result)
            self._check_objective_logged(report, result)
            if report.stop_reason is not None:
                break
        return results

    def _check_objective_logged(self, report, result):
        if report.missing is None or isinstance(result, (dict, float, int)):
            return
        missing, logged = report.missing
        raise keras_tuner.errors.FatalValueError(
            f"The objective {missing[0]!r} is not among the metrics that fit logs: {logged}. "
            "Choose one of them as `objective`, or pass `validation_data` (or "
            "`validation_split`) to `search` for a `val_` metric."
        )

    def _run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        self._reported = False
        self._diverged = None
        results = self.run_trial(trial, *fit_args, **fit_kwargs)
        if self._reported:
            return
        # A user-defined `run_trial` or `HyperModel.fit` returned the results
        # instead of logging them epoch by epoch: report them the keras-tuner way.
        tuner_utils.validate_trial_results(results, self.oracle.objective, "Tuner.run_trial()")
        self.oracle.update_trial(
            trial.trial_id,
            tuner_utils.convert_to_metrics_dict(results, self.oracle.objective),
            step=tuner_utils.get_best_step(results, self.oracle.objective),
        )

    def _try_run_and_update_trial(self, trial, *fit_args, **fit_kwargs):
        super()._try_run_and_update_trial(trial, *fit_args, **fit_kwargs)
        if self._diverged is not None and trial.status == TrialStatus.COMPLETED:
            trial.status = TrialStatus.FAILED
            trial.message = self._diverged

    def load_model(self, trial):
        """Rebuilds a trial's model and loads its best epoch's weights (and optimizer state)."""
        self._resume_from, self._resume_epoch = None, 0
        model = self._try_build(trial.hyperparameters)
        if model.optimizer is not None and not model.optimizer.built:
            # Built first so the checkpoint's optimizer variables have a place to go.
            with maybe_distribute(self.distribution_strategy):
                model.optimizer.build(model.trainable_variables)
        if kt_backend.config.multi_backend() and not model.built:
            model.build_from_config(
                kt_utils.load_json(self._get_build_config_fname(trial.trial_id))
            )
        with maybe_distribute(self.distribution_strategy):
            model.load_weights(self._get_checkpoint_fname(trial.trial_id))
        return model
