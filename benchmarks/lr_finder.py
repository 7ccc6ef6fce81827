"""How close `keras_hpt.lr_find`'s suggestion comes to the grid-best learning rate.

Six task/optimizer pairs on bundled or generated data (sklearn's digits as
an MLP with SGD-momentum and with Adam, as a small CNN on the 8x8 images
and as a logistic regression with plain SGD; an MLP regression on
Friedman #1 with a standardised target; an MLP on breast cancer with
SGD-momentum), inputs standardised, one fixed 80/20 split per task, batch
32, each repeated for `--runs` seeds (initial weights and data order).

Ground truth, per task and seed: the same initial weights train at each rate
of a log grid (5 per decade over [1e-5, 10]) for the same `--steps` steps
(300), and the rate with the lowest final validation loss is the best one.
A run that ends non-finite, or worse than the untrained model, is scored at
the untrained model's loss. Every suggestion is trained the same way at its
own rate: its regret is (its validation loss - the best) / the best.

Rules, all read from one `keras_hpt.lr_find(model, x, y, seed=seed)` call
with its defaults (100 steps from 1e-7 to 10, confirmation runs on):
ours (`suggested_lr`, the confirmed candidate), and `valley`, `steepest` and
`minimum` (min/10) of our zero-lag curve; and the anchors, re-implemented on
the same raw losses with their own smoothing, divergence stop and trimming:
fastai's `valley` (debiased EMA, beta 0.98, `lrs[num_it//10:-5]`) and
Lightning's steepest gradient (Lightning < 2.5.3: `np.gradient` against the
step index, `skip_begin=10, skip_end=1`, its EMA with the bias correction one
step ahead, as Lightning's `_LRCallback` computes it).

Targets for ours (research note, section 7): mean |log10(suggested / best)|
at most 0.5 decades, at least 60 % of runs within x3.16, mean regret at most
20 %; the cost of `lr_find` is reported in steps, epochs and seconds.

The grid runs train in one compiled loop each (`tf.function` over all steps,
the same optimizer class and batches of 32): on the same batches it gives
validation losses identical to `fit`'s (checked on three of the tasks), in a
small fraction of the time once traced. `--epochs` of the
shared parser does not apply here: the budget is `--steps`.

Run from the repository root:

    python benchmarks/lr_finder.py            # full run, updates benchmarks/RESULTS.md
    python benchmarks/lr_finder.py --quick    # smoke test: prints the tables only
"""

import functools
import math
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_digits, make_friedman1  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _results  # noqa: E402

import keras_hpt  # noqa: E402

BATCH_SIZE = 32
TARGET_DECADES, TARGET_WITHIN, TARGET_REGRET = 0.5, 0.6, 0.2
WITHIN_DECADES = 0.5  # x3.16
FULL = {"per_decade": 5, "steps": 300}
QUICK = {"per_decade": 1, "steps": 100, "tasks": 2}
GRID_RANGE = (1e-5, 10.0)

OURS = "ours (confirmed)"
RULES = (OURS, "ours valley", "ours steepest", "ours minimum/10", "fastai valley (EMA)",
         "Lightning steepest (EMA)")
CANDIDATE_RULES = ("steepest", "valley", "min/10", "min/3")  # `candidates()` order
# The regret of rates this far from the best, either side, shows the scale of the regret.
REFERENCE_FACTORS = (10 ** 0.2, 10 ** 0.5)


# Data and models.

def _standardise(train: np.ndarray, *others: np.ndarray) -> List[np.ndarray]:
    """Scales by the training set's mean and spread (constant columns are left at 0)."""
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    return [((a - mean) / std).astype("float32") for a in (train, *others)]


def _digits_split():
    """Raw digits, split 80/20 with stratification (the same split for both views)."""
    x, y = load_digits(return_X_y=True)
    return train_test_split(x, y, test_size=0.2, stratify=y, random_state=0)


@functools.lru_cache(maxsize=None)
def digits_flat():
    """Digits as 64 standardised features."""
    x_train, x_val, y_train, y_val = _digits_split()
    x_train, x_val = _standardise(x_train, x_val)
    return x_train, y_train, x_val, y_val


@functools.lru_cache(maxsize=None)
def digits_images():
    """Digits as 8x8x1 images, standardised by one mean and spread."""
    x_train, x_val, y_train, y_val = _digits_split()
    mean, std = x_train.mean(), x_train.std()
    x_train, x_val = (((a - mean) / std).reshape(-1, 8, 8, 1).astype("float32")
                      for a in (x_train, x_val))
    return x_train, y_train, x_val, y_val


@functools.lru_cache(maxsize=None)
def friedman():
    """Friedman #1 (10 features, 5 informative, noise 1), target standardised too."""
    x, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=0)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, random_state=0)
    x_train, x_val = _standardise(x_train, x_val)
    y_train, y_val = _standardise(y_train[:, None], y_val[:, None])
    return x_train, y_train, x_val, y_val


@functools.lru_cache(maxsize=None)
def breast_cancer():
    """Breast cancer (30 features, binary), stratified 80/20 split."""
    x, y = load_breast_cancer(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.2, stratify=y,
                                                      random_state=0)
    x_train, x_val = _standardise(x_train, x_val)
    return x_train, y_train.astype("float32"), x_val, y_val.astype("float32")


def _mlp(inputs: int, hidden: Sequence[int], outputs: int, activation: Optional[str]):
    """A builder of a ReLU MLP with the given hidden widths and output activation."""
    return lambda: keras.Sequential(
        [keras.Input((inputs,))]
        + [keras.layers.Dense(units, activation="relu") for units in hidden]
        + [keras.layers.Dense(outputs, activation=activation)])


def _cnn() -> keras.Model:
    """Two 3x3 convolutions (16, 32 filters) with a 2x2 max-pool between, then softmax."""
    return keras.Sequential([
        keras.Input((8, 8, 1)),
        keras.layers.Conv2D(16, 3, padding="same", activation="relu"),
        keras.layers.MaxPooling2D(2),
        keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])


@dataclass(frozen=True)
class Task:
    """A model, its data, its optimizer (the rate is set per run) and its loss."""

    name: str
    data: Callable[[], tuple]
    build: Callable[[], keras.Model]
    optimizer: Callable[[], keras.optimizers.Optimizer]
    loss: Callable[[], keras.losses.Loss]


def _sgd_momentum():
    """SGD with momentum 0.9; the rate is set by each run."""
    return keras.optimizers.SGD(1e-3, momentum=0.9)


TASKS = (
    Task("digits MLP, SGD(m=0.9)", digits_flat, _mlp(64, (64, 64), 10, "softmax"),
         _sgd_momentum, keras.losses.SparseCategoricalCrossentropy),
    Task("digits logistic regression, SGD", digits_flat, _mlp(64, (), 10, "softmax"),
         lambda: keras.optimizers.SGD(1e-3), keras.losses.SparseCategoricalCrossentropy),
    Task("digits MLP, Adam", digits_flat, _mlp(64, (64, 64), 10, "softmax"),
         lambda: keras.optimizers.Adam(1e-3), keras.losses.SparseCategoricalCrossentropy),
    Task("digits CNN, Adam", digits_images, _cnn, lambda: keras.optimizers.Adam(1e-3),
         keras.losses.SparseCategoricalCrossentropy),
    Task("Friedman #1 MLP regression, Adam", friedman, _mlp(10, (64, 64), 1, None),
         lambda: keras.optimizers.Adam(1e-3), keras.losses.MeanSquaredError),
    Task("breast cancer MLP, SGD(m=0.9)", breast_cancer, _mlp(30, (32,), 1, "sigmoid"),
         _sgd_momentum, keras.losses.BinaryCrossentropy),
)


# Ground truth: a fixed budget at a constant rate, from the same start.

class FixedBudgetTraining:
    """Trains one initial state at any constant rate for `steps` steps; scores validation loss.

    The whole run is one compiled loop, so a grid point costs little more
    than its arithmetic. Scores are cached by rate.
    """

    def __init__(self, task: Task, weights: list, seed: int, steps: int):
        x_train, y_train, self.x_val, self.y_val = task.data()
        self.model = task.build()
        self.model.set_weights(weights)
        self.loss = task.loss()
        self.optimizer = task.optimizer()
        self.optimizer.build(self.model.trainable_variables)
        self._start = [keras.ops.convert_to_numpy(v).copy()
                       for v in self.model.variables + self.optimizer.variables]
        order = np.concatenate([np.random.default_rng(seed).permutation(len(x_train))
                                for _ in range(math.ceil(steps * BATCH_SIZE / len(x_train)))])
        order = order[:steps * BATCH_SIZE].reshape(steps, BATCH_SIZE)
        self._x, self._y = tf.constant(x_train[order]), tf.constant(y_train[order])
        self._train = tf.function(self._steps)
        self.untrained = self._validation_loss()
        self._scores: Dict[float, float] = {}

    def _steps(self, x, y):
        for i in tf.range(tf.shape(x)[0]):
            with tf.GradientTape() as tape:
                loss = self.loss(y[i], self.model(x[i], training=True))
            grads = tape.gradient(loss, self.model.trainable_variables)
            self.optimizer.apply_gradients(zip(grads, self.model.trainable_variables))

    def _validation_loss(self) -> float:
        loss = float(self.loss(self.y_val, self.model(self.x_val, training=False)))
        return loss if math.isfinite(loss) else math.inf

    def score(self, rate: float) -> float:
        """Validation loss after the budget at `rate`, capped at the untrained model's."""
        if rate not in self._scores:
            for variable, value in zip(self.model.variables + self.optimizer.variables,
                                       self._start):
                variable.assign(value)
            self.optimizer.learning_rate = rate
            self._train(self._x, self._y)
            self._scores[rate] = min(self._validation_loss(), self.untrained)
        return self._scores[rate]


def grid(per_decade: int) -> np.ndarray:
    """The log grid of constant rates over `GRID_RANGE`, ends included."""
    decades = round(math.log10(GRID_RANGE[1] / GRID_RANGE[0]))
    return np.geomspace(*GRID_RANGE, decades * per_decade + 1)


# The anchors' rules, on the raw curve of our range test.

def debiased_ema(losses: np.ndarray, beta: float = 0.98, ahead: int = 0) -> np.ndarray:
    """fastai's `AvgSmoothLoss` (`ahead=0`); Lightning corrects the bias one step ahead."""
    average, smoothed = 0.0, []
    for i, loss in enumerate(losses):
        average = beta * average + (1 - beta) * loss
        smoothed.append(average / (1 - beta ** (i + 1 + ahead)))
    return np.array(smoothed)


def fastai_stop(smoothed: np.ndarray) -> Optional[int]:
    """The step at which fastai's `smooth > 4 * best` cancels the fit (it is recorded), or None."""
    best = math.inf
    for i, value in enumerate(smoothed):
        if value < best:
            best = value
        if value > 4 * best:
            return i
    return None


def lightning_stop(smoothed: np.ndarray) -> Optional[int]:
    """The step at which Lightning stops (recorded too): checked against `best`, then updated."""
    best = 0.0
    for i, value in enumerate(smoothed):
        stop = i > 0 and value > 4 * best
        if value < best or i == 0:
            best = value
        if stop:
            return i
    return None


def _recorded(smoothed: np.ndarray, stop: Optional[int]) -> int:
    """How many points the anchor records: up to and including its stop step."""
    return len(smoothed) if stop is None else stop + 1


def _fastai_valley_index(losses: np.ndarray) -> int:
    """fastai's O(n^2) longest-descent search, its bookkeeping quirks kept.

    The running maximum is checked inside the inner loop, so `start` is set
    the first time a run overtakes the longest one and can lag its final
    length; the valley's start is one point before the run's first point.
    """
    length = [1] * len(losses)
    start = end = 0
    for i in range(1, len(losses)):
        for j in range(i):
            if losses[i] < losses[j] and length[i] < length[j] + 1:
                length[i] = length[j] + 1
            if length[end] < length[i]:
                end, start = i, i - length[i]
    third = (end - start) / 3
    return start + int(third) + int(third / 2)


def fastai_valley(rates: np.ndarray, losses: np.ndarray, num_it: int = 100) -> Optional[float]:
    """fastai's default suggestion: valley of the debiased EMA on `[num_it//10:-5]`."""
    smoothed = debiased_ema(losses)
    kept = _recorded(smoothed, fastai_stop(smoothed))
    rates, smoothed = rates[:kept][num_it // 10:-5], smoothed[:kept][num_it // 10:-5]
    bad = np.flatnonzero(np.isnan(smoothed))
    if len(bad):
        rates, smoothed = rates[:bad[0]], smoothed[:bad[0]]
    return float(rates[_fastai_valley_index(smoothed)]) if len(smoothed) else None


def lightning_steepest(rates: np.ndarray, losses: np.ndarray, skip_begin: int = 10,
                       skip_end: int = 1) -> Optional[float]:
    """Lightning < 2.5.3: steepest index-spaced gradient of its EMA, ends skipped."""
    smoothed = debiased_ema(losses, ahead=1)
    kept = _recorded(smoothed, lightning_stop(smoothed))
    window = np.arange(kept)[skip_begin:kept - skip_end]
    window = window[np.isfinite(smoothed[window])]
    if len(window) < 2:
        return None
    return float(rates[window[np.argmin(np.gradient(smoothed[window]))]])


# One task and seed.

@dataclass
class Run:
    """Everything measured for one task and seed."""

    task: str
    seed: int
    best_rate: float
    best_loss: float
    suggested: Dict[str, Optional[float]]
    regret: Dict[str, Optional[float]]
    diverged: Dict[str, bool]
    steps: int
    epochs: float
    seconds: float
    picked: str = ""
    candidates: Dict[str, float] = field(default_factory=dict)
    candidate_regret: Dict[str, float] = field(default_factory=dict)
    anchors_cut_short: bool = False
    sweep_steps: int = 0
    reference_regret: Dict[float, float] = field(default_factory=dict)


def _finder(task: Task, weights: list, seed: int):
    """`lr_find` with its defaults on a fresh model holding `weights`; returns it and seconds."""
    model = task.build()
    model.set_weights(weights)
    model.compile(task.optimizer(), task.loss())
    x_train, y_train, _, _ = task.data()
    start = time.perf_counter()
    result = keras_hpt.lr_find(model, x_train, y_train, seed=seed)
    return result, time.perf_counter() - start


def _suggestions(result) -> Dict[str, Optional[float]]:
    """Every rule's suggestion from one range test (None where a rule has none)."""
    rates, losses = result.learning_rates, result.losses
    return {
        OURS: result.suggested_lr,
        "ours valley": result.suggestion("valley"),
        "ours steepest": result.suggestion("steepest"),
        "ours minimum/10": result.suggestion("minimum"),
        "fastai valley (EMA)": fastai_valley(rates, losses),
        "Lightning steepest (EMA)": lightning_steepest(rates, losses),
    }


def _candidates(result) -> Dict[str, float]:
    """Our confirmation candidates, each named by the first rule that proposed it."""
    lowest = result.suggestion("minimum")
    proposed = dict(zip(CANDIDATE_RULES, (result.suggestion("steepest"),
                                          result.suggestion("valley"), lowest,
                                          None if lowest is None else lowest * 10 / 3)))
    named = {}
    for rate in result.candidates():
        name = next(n for n, r in proposed.items()
                    if r is not None and abs(math.log10(rate / r)) <= 0.05)
        named[name] = rate
    return named


def _anchors_cut_short(result) -> bool:
    """Whether our test stopped for divergence before an anchor's own stop rule fired."""
    return result.diverged and (fastai_stop(debiased_ema(result.losses)) is None
                                or lightning_stop(debiased_ema(result.losses, ahead=1)) is None)


def measure(task: Task, seed: int, per_decade: int, steps: int) -> Run:
    """Grid truth, the finder's suggestions and their regrets for one task and seed."""
    keras.backend.clear_session()
    keras.utils.set_random_seed(seed)
    weights = task.build().get_weights()
    result, seconds = _finder(task, weights, seed)
    training = FixedBudgetTraining(task, weights, seed, steps)
    scores = {rate: training.score(rate) for rate in grid(per_decade)}
    best_rate = min(scores, key=scores.get)
    best = scores[best_rate]
    suggested = _suggestions(result)

    def regret(rate):
        return None if rate is None else (training.score(rate) - best) / best

    candidates = _candidates(result)
    return Run(
        task=task.name, seed=seed, best_rate=best_rate, best_loss=best, suggested=suggested,
        regret={rule: regret(rate) for rule, rate in suggested.items()},
        diverged={rule: rate is not None and training.score(rate) >= training.untrained
                  for rule, rate in suggested.items()},
        steps=result.steps,
        epochs=result.steps / math.ceil(len(task.data()[0]) / BATCH_SIZE),
        seconds=seconds,
        picked=next((n for n, r in candidates.items() if r == suggested[OURS]), "none"),
        candidates=candidates,
        candidate_regret={name: regret(rate) for name, rate in candidates.items()},
        anchors_cut_short=_anchors_cut_short(result),
        sweep_steps=len(result.losses),
        reference_regret={factor: (regret(best_rate / factor) + regret(best_rate * factor)) / 2
                          for factor in REFERENCE_FACTORS},
    )


# Statistics and tables.

def log_error(rate: Optional[float], best: float) -> Optional[float]:
    """|log10(rate / best)| in decades, or None for no suggestion."""
    return None if rate is None else abs(math.log10(rate / best))


def _mean(values) -> float:
    """Mean of the values that are not None; NaN when there are none."""
    values = [v for v in values if v is not None]
    return statistics.fmean(values) if values else math.nan


def rule_stats(runs: List[Run], rule: str) -> dict:
    """Mean error, fraction within x3.16 (None counts as a miss), mean regret, counts."""
    errors = [log_error(run.suggested[rule], run.best_rate) for run in runs]
    by_task: Dict[str, list] = {}
    for run in runs:
        if run.suggested[rule] is not None:
            by_task.setdefault(run.task, []).append(math.log10(run.suggested[rule]))
    spreads = [statistics.stdev(v) for v in by_task.values() if len(v) > 1]
    signed = [math.log10(run.suggested[rule] / run.best_rate) for run in runs
              if run.suggested[rule] is not None]
    return {
        "error": _mean(errors),
        "bias": statistics.median(signed) if signed else math.nan,
        "within": sum(e is not None and e <= WITHIN_DECADES for e in errors) / len(runs),
        "regret": _mean(run.regret[rule] for run in runs),
        "median regret": statistics.median(
            [run.regret[rule] for run in runs if run.regret[rule] is not None] or [math.nan]),
        "none": sum(e is None for e in errors),
        "diverged": sum(run.diverged[rule] for run in runs),
        "spread": _mean(spreads),
    }


def _fmt(value: float, digits: int = 2, percent: bool = False, signed: bool = False) -> str:
    """A table cell: `-` for missing, percent or fixed digits (with a sign if asked)."""
    if value is None or math.isnan(value):
        return "-"
    sign = "+" if signed else ""
    return f"{100 * value:{sign}.0f} %" if percent else f"{value:{sign}.{digits}f}"


def summary_table(runs: List[Run]) -> str:
    """One row per rule over every task and seed."""
    rows = []
    for rule in RULES:
        s = rule_stats(runs, rule)
        rows.append([rule, _fmt(s["error"]), _fmt(s["bias"], signed=True),
                     _fmt(s["within"], percent=True), _fmt(s["regret"], percent=True),
                     _fmt(s["median regret"], percent=True), s["none"], s["diverged"],
                     _fmt(s["spread"])])
    return _results.markdown_table(
        ["rule", "mean abs error (decades)", "median signed error", "within x3.16",
         "mean val-loss regret", "median regret", "no suggestion", "diverged",
         "seed std (decades)"], rows, "lrrrrrrrr")


def task_table(runs: List[Run]) -> str:
    """Ours (confirmed) per task, with the cost of `lr_find`."""
    rows = []
    for task in dict.fromkeys(run.task for run in runs):
        mine = [run for run in runs if run.task == task]
        s = rule_stats(mine, OURS)
        rows.append([
            task, f"{statistics.median(r.best_rate for r in mine):.2g}",
            _fmt_rate(statistics.median(_rates(mine))), _fmt(s["error"]),
            _fmt(s["within"], percent=True), _fmt(s["regret"], percent=True),
            f"{statistics.median(r.steps for r in mine):.0f}",
            f"{statistics.median(r.epochs for r in mine):.1f}",
            f"{statistics.median(r.seconds for r in mine):.1f}",
        ])
    return _results.markdown_table(
        ["task", "median grid-best lr", "median suggested", "mean abs error (decades)",
         "within x3.16", "mean regret", "lr_find steps", "lr_find epochs", "lr_find s"],
        rows, "lrrrrrrrr")


def _rates(runs: List[Run]) -> List[float]:
    """Our suggestions in `runs` (a NaN if there are none, so a median still exists)."""
    return [r.suggested[OURS] for r in runs if r.suggested[OURS] is not None] or [math.nan]


def _fmt_rate(rate: float) -> str:
    """A rate with two significant digits, `-` for NaN."""
    return "-" if math.isnan(rate) else f"{rate:.2g}"


def candidate_table(runs: List[Run]) -> str:
    """How often the confirmation picks each candidate, and how good each one is."""
    rows = []
    for name in CANDIDATE_RULES:
        present = [r for r in runs if name in r.candidates]
        errors = [log_error(r.candidates[name], r.best_rate) for r in present]
        rows.append([name, len(present), sum(r.picked == name for r in runs),
                     _fmt(_mean(errors)), _fmt(sum(e <= WITHIN_DECADES for e in errors)
                                               / max(len(errors), 1), percent=True),
                     _fmt(_mean(r.candidate_regret[name] for r in present), percent=True)])
    return _results.markdown_table(
        ["candidate", "runs proposing it", "times picked", "mean abs error (decades)",
         "within x3.16", "mean regret"], rows, "lrrrrr")


def verdict(runs: List[Run]) -> str:
    """PASS/FAIL of ours against the three targets, and the cost of `lr_find`."""
    s = rule_stats(runs, OURS)
    checks = [s["error"] <= TARGET_DECADES, s["within"] >= TARGET_WITHIN,
              s["regret"] <= TARGET_REGRET]
    met = ["met" if check else "missed" for check in checks]
    sweep = statistics.median(r.sweep_steps * r.epochs / r.steps for r in runs)
    return (
        f"{'PASS' if all(checks) else 'FAIL'}: ours (confirmed) has a mean error of "
        f"{_fmt(s['error'])} decades (target <= {TARGET_DECADES}: {met[0]}), "
        f"{_fmt(s['within'], percent=True)} of runs within x3.16 (target >= "
        f"{TARGET_WITHIN:.0%}: {met[1]}) and a mean regret of {_fmt(s['regret'], percent=True)} "
        f"(target <= {TARGET_REGRET:.0%}: {met[2]}), over {len(runs)} runs. "
        f"Cost of lr_find: median {statistics.median(r.steps for r in runs):.0f} optimizer "
        f"steps = {statistics.median(r.epochs for r in runs):.1f} epochs of the task's "
        f"training set, {statistics.median(r.seconds for r in runs):.1f} s; the sweep alone "
        f"takes {sweep:.1f} epochs (budget: one epoch plus the confirmation runs: "
        f"{'met' if sweep <= 1 else 'missed'}). For scale, the grid-best rate moved "
        + " and ".join(f"x{f:.2f} either way has a mean regret of "
                       f"{_fmt(_mean(r.reference_regret[f] for r in runs), percent=True)}"
                       for f in REFERENCE_FACTORS) + "."
    )


def confirmation_findings(runs: List[Run], steps: int) -> str:
    """Whether the candidates contain a good rate, and whether the confirmation finds it."""
    judged = [r for r in runs if r.candidates]
    inside = sum(min(r.candidates.values()) <= r.best_rate <= max(r.candidates.values())
                 for r in judged)
    near = sum(min(log_error(c, r.best_rate) for c in r.candidates.values()) <= WITHIN_DECADES
               for r in judged)
    largest = sum(r.suggested[OURS] == max(r.candidates.values()) for r in judged)
    oracle = _mean(min(r.candidate_regret.values()) for r in judged)
    return (
        f"Confirmation: the grid-best rate lies between the smallest and the largest candidate "
        f"in {inside} of {len(judged)} runs, and some candidate is within x3.16 of it in {near}; "
        f"the confirmation picks the largest candidate in {largest}. Picking the candidate with "
        f"the lowest {steps}-step validation loss instead would give a mean regret of "
        f"{_fmt(oracle, percent=True)}. Our test stopped for divergence before an anchor's own "
        f"stop rule fired in {sum(r.anchors_cut_short for r in runs)} runs (the anchors then "
        "read a shorter curve than they would record themselves)."
    )


def main(argv=None):
    """Measures every task and seed, then prints and publishes the section."""
    parser = _results.argument_parser(__doc__, runs=5, epochs=1, quick=(1, 1))
    parser.add_argument("--steps", type=int,
                        help=f"training budget of every grid point and suggestion (default "
                        f"{FULL['steps']}, quick {QUICK['steps']})")
    args = _results.parse_args(parser, argv)
    if args.epochs != 1:
        parser.error("--epochs does not apply to this benchmark; the budget is --steps")
    sizes = QUICK if args.quick else FULL
    steps = args.steps or sizes["steps"]
    tasks = TASKS[:sizes.get("tasks", len(TASKS))]
    load_before = _results.load_average()
    runs = []
    for seed in range(args.runs):
        for task in tasks:
            started = time.perf_counter()
            runs.append(measure(task, seed, sizes["per_decade"], steps))
            run = runs[-1]
            print(f"seed {seed} {task.name:<34} best {run.best_rate:.2g} ours "
                  f"{run.suggested[OURS] or math.nan:.2g} ({run.picked}) regret "
                  f"{_fmt(run.regret[OURS], percent=True)}  {time.perf_counter() - started:.1f} s",
                  file=sys.stderr, flush=True)
    load = (load_before, _results.load_average())
    method = (
        f"{len(tasks)} tasks x {args.runs} seeds; ground truth = lowest validation loss over "
        f"{len(grid(sizes['per_decade']))} constant rates in [1e-5, 10] ({sizes['per_decade']} "
        f"per decade), each trained {steps} steps (batch 32) from the seed's initial weights; "
        "suggestions trained the same way; lr_find defaults (1e-7 to 10 in 100 steps, "
        "confirmation runs of 50 steps scored on training loss); Lightning rule = < 2.5.3 "
        "index-spaced gradient"
    )
    body = [summary_table(runs), verdict(runs), task_table(runs),
            confirmation_findings(runs, steps), candidate_table(runs)]
    _results.publish(_results.section(
        "lr_finder.py", "Learning rate suggested by `keras_hpt.lr_find` (and by fastai's and "
        "Lightning's rules on the same curves) against the best rate of a dense grid.",
        args.command, load, method, body), args.output)


if __name__ == "__main__":
    main()
