"""`keras_hpt.tune`: data in, a tuned Keras model out.

The steps a careful practitioner takes, on one epoch budget: a learning-rate
range test on the default network; a Bayesian search (Gaussian process)
over a small space that starts from a strong default configuration, every
trial stopped early on the validation objective at its best epoch; then
Caruana's ensemble selection over the finished trials, kept only where it
beats the best trial on validation. The model returned takes raw features:
the standardisation (or Keras' `FeatureSpace`) is inside it.
"""

import math
import random
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import keras
import keras_tuner
import numpy as np
from keras.src.utils import io_utils

from keras_hpt._validation import check_choice, check_number
from keras_hpt.lr_finder import LRFinderResult, lr_find
from keras_hpt.oracles.gaussian_process import GaussianProcessOracle
from keras_hpt.pipeline import calibration, ensemble
from keras_hpt.pipeline.data import TabularData, prepare
from keras_hpt.pipeline.hypermodel import Member, TabularHyperModel, output_layer
from keras_hpt.tuners.tuner import Tuner

#: Objectives `tune` can rank and ensemble on, per task, with the loss that stands for each.
OBJECTIVES = {
    "classification": {"val_loss": ensemble.log_loss, "val_accuracy": ensemble.error_rate},
    "regression": {"val_rmse": ensemble.mean_squared_error,
                   "val_loss": ensemble.mean_squared_error,
                   "val_mae": ensemble.mean_absolute_error},
}
_RANGE_TEST_STEPS = 100
_DEFAULT_RATE = 1e-3


@dataclass
class TuneResult:
    """What `tune` found: the model to use, how it was chosen, and the search behind it.

    Attributes:
        model: A compiled Keras model taking raw features (a dict of columns
            for data with string columns); an average of several trials'
            networks where that scored better on validation.
        hyperparameters: The best trial's `keras_tuner.HyperParameters`.
        tuner: The `keras_hpt.tuners.Tuner` that ran the search.
        task: `"classification"`, `"binary"` or `"regression"`.
        objective: The objective trials were ranked on.
        classes: The labels in the order of the model's outputs (`None` for regression).
        ensemble: `{trial_id: weight}` of the networks inside `model`.
        validation_score: The objective of `model` on the validation rows,
            in the targets' own units.
        best_trial_score: The same for the best single trial.
        temperature: The temperature that calibrates the probabilities
            (fitted on validation log loss; 1.0 when none helps, and for regression).
        range_test: The learning-rate range test, or `None` when it was skipped.
        epochs_trained: Epochs trained in all (the range test's steps counted as epochs).
        seconds: Wall time of the whole `tune`.
        notes: What `tune` decided on its own (the task, the batch size, ...).
    """

    model: keras.Model
    hyperparameters: keras_tuner.HyperParameters
    tuner: Tuner
    task: str
    objective: keras_tuner.Objective
    classes: Optional[np.ndarray]
    ensemble: Dict[str, float]
    validation_score: float
    best_trial_score: float
    temperature: float
    range_test: Optional[LRFinderResult]
    epochs_trained: int
    seconds: float
    notes: List[str] = field(default_factory=list)

    def save(self, path: str) -> None:
        """Saves `model` to a `.keras` file, which `keras.models.load_model` reads back."""
        self.model.save(path)

    def summary(self) -> str:
        """A short markdown report of the result."""
        values = {k: v for k, v in self.hyperparameters.values.items()
                  if not k.startswith("tuner/")}
        members = ", ".join(f"{trial} x{weight:.2f}" for trial, weight in self.ensemble.items())
        rows = [
            ("task", self.task),
            ("objective", f"{self.objective.name} ({self.objective.direction})"),
            ("trials", str(len(self.tuner.oracle.trials))),
            ("epochs trained", str(self.epochs_trained)),
            ("best trial's validation score", f"{self.best_trial_score:.4f}"),
            ("final model's validation score", f"{self.validation_score:.4f}"),
            ("final model", (f"ensemble of {members}" if len(self.ensemble) > 1
                             else f"trial {members.split(' x')[0]}")
             + (f", temperature {self.temperature:.2f}" if self.temperature != 1.0 else "")),
            ("best hyperparameters", ", ".join(f"{k}={_short(v)}" for k, v in values.items())),
            ("time", f"{self.seconds:.1f} s"),
        ]
        lines = ["| result | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
        return "\n".join(lines + [f"- {note}" for note in self.notes])

    def __str__(self) -> str:
        return self.summary()


def _short(value) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


class _DefaultFirstOracle(GaussianProcessOracle):
    """The Gaussian-process oracle, whose first trial is the space's default configuration."""

    def populate_space(self, trial_id):
        if not self.trials:
            values = {hp.name: hp.default for hp in self.hyperparameters.space}
            return {"status": keras_tuner.engine.trial.TrialStatus.RUNNING, "values": values}
        return super().populate_space(trial_id)


class _SharedCallbacks(keras.callbacks.Callback):
    """The user's callbacks, shared by every trial's `fit` instead of copied for each.

    keras-tuner deep-copies a search's callbacks for every trial; `tune`
    promises that the user's own objects see every epoch, so copies of this
    wrapper are the wrapper itself.
    """

    def __init__(self, callbacks):
        super().__init__()
        self.callbacks = list(callbacks)

    def __deepcopy__(self, memo):
        return self

    def set_model(self, model):
        super().set_model(model)
        for callback in self.callbacks:
            callback.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        for callback in self.callbacks:
            callback.set_params(params)

    def __getattribute__(self, name):
        if name.startswith("on_"):
            callbacks = object.__getattribute__(self, "callbacks")

            def forward(*args, **kwargs):
                for callback in callbacks:
                    getattr(callback, name)(*args, **kwargs)
            return forward
        return object.__getattribute__(self, name)


def _check_callbacks(callbacks) -> list:
    callbacks = list(callbacks or [])
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError("`callbacks` must be a list of keras.callbacks.Callback. Received: "
                            f"an item of type {type(callback).__name__}")
    return callbacks


def _objective(objective, task: str) -> keras_tuner.Objective:
    family = "regression" if task == "regression" else "classification"
    allowed = OBJECTIVES[family]
    if objective is None:
        objective = "val_rmse" if family == "regression" else "val_loss"
    name = objective.name if isinstance(objective, keras_tuner.Objective) else objective
    if name not in allowed:
        raise ValueError(f"`objective` must be one of {sorted(allowed)} for task={task!r}. "
                         f"Received: objective={objective!r}")
    return keras_tuner.Objective(name, "max" if name == "val_accuracy" else "min")


def batch_size_for(rows: int) -> int:
    """AutoGluon's rule: 2^(3 + floor(log10 rows)), at most 512 and at most `rows`."""
    return int(max(1, min(2 ** (3 + int(math.log10(max(rows, 1)))), 512, rows)))


def trial_epochs(budget: int) -> tuple:
    """`(max_epochs, patience)` of each trial: about six full trials fit the budget."""
    max_epochs = int(min(100, max(2, budget // 6)))
    return max_epochs, int(min(10, max(2, max_epochs // 4)))


def _range_test(data: TabularData, batch_size: int, budget: int, seed: int, say):
    """The learning-rate range test on the default network; `(result, centre, epochs)`."""
    steps_per_epoch = math.ceil(len(data.train.x) / batch_size)
    cost = math.ceil(_RANGE_TEST_STEPS / steps_per_epoch)
    if cost > budget // 10:
        say(f"Learning rate: {_DEFAULT_RATE:g} (no range test: it would take {cost} of the "
            f"{budget} epochs).")
        return None, _DEFAULT_RATE, 0
    probe = TabularHyperModel(data.num_features, data.task, data.num_outputs, None,
                              learning_rate=(1e-5, _DEFAULT_RATE, 1.0), batch_size=batch_size,
                              max_epochs=1, patience=1)
    model = probe.build(keras_tuner.HyperParameters())
    result = lr_find(model, data.train.x, data.train.y, min_lr=1e-5, max_lr=1.0,
                     num_steps=_RANGE_TEST_STEPS, batch_size=batch_size, confirm=False,
                     seed=seed)
    cost = math.ceil(result.steps / steps_per_epoch)
    keras.backend.clear_session()
    if result.suggested_lr is None:
        say(f"Learning rate: {_DEFAULT_RATE:g} (the range test found none: {result.reason}).")
        return result, _DEFAULT_RATE, cost
    centre = float(np.clip(result.suggested_lr, 1e-4, 1e-2))
    say(f"Learning rate: range test suggests {result.suggested_lr:.2g}; searching around "
        f"{centre:.2g}.")
    return result, centre, cost


def _build_member(hypermodel: TabularHyperModel, member: Member) -> keras.Model:
    model = hypermodel.network(member.hyperparameters, name=f"trial_{member.trial_id}")
    model.set_weights(member.weights)
    return model


def _export(data: TabularData, hypermodel: TabularHyperModel, members: List[Member],
            counts: Dict[int, int], temperature: float = 1.0) -> keras.Model:
    """One Keras model: preprocessing, the chosen networks averaged and calibrated."""
    if data.feature_space is not None:
        # In the columns' own order, the order of `dict(frame)`.
        declared = data.feature_space.get_inputs()
        inputs = {name: declared[name] for name in data.feature_names}
        features = data.feature_space.get_encoded_features()
    else:
        inputs = keras.Input((len(data.feature_names),), name="features")
        features = keras.layers.Normalization(mean=data.mean, variance=data.scale ** 2,
                                              name="standardize")(inputs)
    total = sum(counts.values())
    outputs = []
    for index, count in counts.items():
        out = _build_member(hypermodel, members[index])(features)
        if count != total:
            out = keras.layers.Rescaling(count / total, name=f"weight_{index}")(out)
        outputs.append(out)
    output = outputs[0] if len(outputs) == 1 else keras.layers.Add(name="average")(outputs)
    if temperature != 1.0:
        output = calibration.TemperatureScaling(temperature, name="temperature")(output)
    if data.task == "regression":
        output = keras.layers.Normalization(mean=data.target_mean,
                                            variance=data.target_scale ** 2, invert=True,
                                            name="target_units")(output)
    model = keras.Model(inputs, output, name="keras_hpt_tuned")
    _, loss, metrics = output_layer(data.task, data.num_outputs)
    model.compile(optimizer="adam", loss=loss, metrics=metrics)
    # Built now, so that the saved file and a loaded model hold the same optimizer variables.
    model.optimizer.build(model.trainable_variables)
    return model


def _in_units(data: TabularData, objective: keras_tuner.Objective, loss: float) -> float:
    """A validation loss of `OBJECTIVES` as the objective reads, in the targets' units."""
    if objective.name == "val_accuracy":
        return 1.0 - loss
    if data.task != "regression":
        return loss
    scale = float(np.sqrt(np.mean(data.target_scale ** 2)))
    if objective.name == "val_rmse":
        return math.sqrt(loss) * scale
    if objective.name == "val_mae":
        return loss * float(np.mean(data.target_scale))
    return loss * scale ** 2


def tune(
    x,
    y=None,
    *,
    validation_data=None,
    validation_split=None,
    task: str = "auto",
    objective=None,
    epoch_budget: int = 200,
    time_budget: Optional[float] = None,
    seed: Optional[int] = None,
    directory: Optional[str] = None,
    callbacks=None,
    verbose: int = 1,
) -> TuneResult:
    """Tunes a dense network for tabular data and returns the model to use.

    The pipeline: a learning-rate range test on the default network, then a
    Gaussian-process search (its first trial a strong default: 3 x 256 ReLU,
    dropout 0.1, AdamW) over depth, width, dropout, learning rate and weight
    decay, each trial stopped early at its best validation epoch, then
    Caruana's ensemble selection over the trials, kept where it beats the
    best trial on validation, and for classification a temperature that
    calibrates its probabilities on validation. Every epoch counts towards `epoch_budget` (the
    range test's steps too, as whole epochs), and every trial's `fit` calls
    the same `callbacks` objects.

    Args:
        x: Features: a 2-D array, a pandas DataFrame or a dict of columns
            (string columns go through Keras' `FeatureSpace`).
        y: Targets, or the name of the target column in `x`.
        validation_data: `(x_val, y_val)` to rank trials on; by default a
            `validation_split` of the rows is held out.
        validation_split: Fraction of rows held out for validation
            (stratified for classification). Defaults to 0.2.
        task: `"auto"` (inferred from `y`, and said), `"classification"`,
            `"binary"` or `"regression"`.
        objective: `"val_loss"` (the default for classification: log loss) or
            `"val_accuracy"`; `"val_rmse"` (the default for regression),
            `"val_loss"` (MSE) or `"val_mae"`.
        epoch_budget: Epochs to train in all, a positive integer. Defaults to 200.
        time_budget: Seconds after which the search stops (the model is then
            built from the trials finished), or `None`.
        seed: Seed of the split, the networks and the search.
        directory: Folder of the search's files; a temporary one by default.
        callbacks: Keras callbacks every trial's `fit` calls.
        verbose: 0 silent, 1 a line per step and per trial.

    Returns:
        A `TuneResult`: `.model`, `.hyperparameters`, `.tuner`, a `summary()`.

    Example:

    >>> from sklearn.datasets import load_breast_cancer
    >>> x, y = load_breast_cancer(return_X_y=True)
    >>> result = keras_hpt.tune(x, y, epoch_budget=12, seed=0, verbose=0)
    >>> result.task, result.model.predict(x[:3], verbose=0).shape
    ('binary', (3, 1))
    """
    start = time.monotonic()
    budget = check_number("epoch_budget", epoch_budget, low=0, low_open=True, integer=True)
    time_budget = check_number("time_budget", time_budget, low=0, low_open=True,
                               allow_none=True)
    check_choice("verbose", verbose, (0, 1, 2))
    callbacks = _check_callbacks(callbacks)
    seed = check_number("seed", seed, low=0, integer=True, allow_none=True)
    seed = random.randint(0, 2 ** 31 - 1) if seed is None else seed

    def say(line):
        if verbose:
            io_utils.print_msg(line)

    data = prepare(x, y, validation_data=validation_data, validation_split=validation_split,
                   task=task, seed=seed)
    objective = _objective(objective, data.task)
    notes = []
    if data.inferred:
        kind = {"classification": f"classification ({data.num_outputs} classes)",
                "binary": "binary classification", "regression": "regression"}[data.task]
        notes.append(f"task='auto' chose {kind} from y.")
    batch_size = batch_size_for(len(data.train.x))
    notes.append(f"batch size {batch_size} for {len(data.train.x)} training rows; "
                 f"{len(data.validation.x)} validation rows.")
    for note in notes:
        say(note)

    keras.utils.set_random_seed(seed)
    found, centre, range_epochs = _range_test(data, batch_size, budget, seed, say)
    search_budget = budget - range_epochs
    max_epochs, patience = trial_epochs(search_budget)
    hypermodel = TabularHyperModel(
        data.num_features, data.task, data.num_outputs, objective,
        learning_rate=(max(centre / 10, 1e-5), centre, min(max(centre * 10, 1e-2), 0.1)),
        batch_size=batch_size, max_epochs=max_epochs, patience=patience)
    if directory is None:
        directory = tempfile.mkdtemp(prefix="keras_hpt_tune_")
        cleanup = True
    else:
        cleanup = False
    oracle = _DefaultFirstOracle(objective, num_initial_points=3, seed=seed)
    remaining = None if time_budget is None else max(time_budget - (time.monotonic() - start),
                                                     1e-3)
    search = Tuner(oracle, hypermodel, epoch_budget=search_budget, time_budget=remaining,
                   directory=directory, project_name="tune", overwrite=True)
    if cleanup:
        weakref.finalize(search, shutil.rmtree, directory, True)
    from keras_hpt.reporting import SearchProgress

    SearchProgress(verbose=1 if verbose else 0).attach(search)
    say(f"Search: up to {max_epochs} epochs a trial (patience {patience}), "
        f"{search_budget} epochs in all ...")
    validation = (data.validation.x, data.validation.y)
    search.search(data.train.x, data.train.y, validation_data=validation,
                  callbacks=[_SharedCallbacks(callbacks)] if callbacks else [], verbose=0)
    members = hypermodel.members
    if not members:
        raise RuntimeError("No trial of the search finished with finite predictions; see "
                           f"the trials in {search.project_dir}.")

    loss = OBJECTIVES["regression" if data.task == "regression" else "classification"][
        objective.name]
    predictions = [m.predictions for m in members]
    singles = [loss(p, data.validation.y) for p in predictions]
    counts = ensemble.select(predictions, data.validation.y, loss)
    blended = ensemble.blend(predictions, counts)
    temperature = 1.0
    if loss is ensemble.log_loss:
        temperature = calibration.fit_temperature(blended, data.validation.y, loss)
        blended = calibration.scale(blended, temperature)
    final_loss = loss(blended, data.validation.y)
    model = _export(data, hypermodel, members, counts, temperature)
    total = sum(counts.values())
    best = members[int(np.argmin(singles))]
    result = TuneResult(
        model=model, hyperparameters=best.hyperparameters, tuner=search, task=data.task,
        objective=objective, classes=data.classes,
        ensemble={members[i].trial_id: n / total for i, n in counts.items()},
        validation_score=_in_units(data, objective, final_loss),
        best_trial_score=_in_units(data, objective, min(singles)), temperature=temperature,
        range_test=found,
        epochs_trained=range_epochs + search.epochs_trained,
        seconds=time.monotonic() - start, notes=notes)
    say(result.summary())
    return result
