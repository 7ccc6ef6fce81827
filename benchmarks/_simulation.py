"""Several workers on a simulated clock, sharing one keras-tuner oracle.

Trials do not train: a configuration's learning curve and its time per epoch
are functions of its hyperparameters, so an oracle's scheduling can be
measured for hours of simulated time in a second of real time. Workers ask
the oracle for a trial whenever they are free; a trial reports its epochs
when it ends (in simulated time order), and an `IDLE` answer leaves the
worker waiting until the next trial ends somewhere.
"""

import heapq
import math

import keras_tuner
import numpy as np


def curve_space() -> keras_tuner.HyperParameters:
    """Three hyperparameters that set a learning curve's ceiling, speed and cost."""
    hp = keras_tuner.HyperParameters()
    hp.Float("ceiling", 0.0, 1.0)
    hp.Float("speed", 0.05, 1.0, sampling="log")
    hp.Float("cost", 0.0, 1.0)
    return hp


def accuracy(values: dict, epoch: int) -> float:
    """`a - b * exp(-c * (epoch + 1))`: fast starters do not always end best."""
    ceiling = 0.7 + 0.29 * values["ceiling"] - 0.1 * values["speed"]
    return ceiling - 0.6 * math.exp(-values["speed"] * (epoch + 1))


def epoch_seconds(values: dict) -> float:
    """Seconds per epoch: log-normal with sigma 0.5 across configurations."""
    z = math.sqrt(2) * _erfinv(2 * values["cost"] - 1) if 0 < values["cost"] < 1 else 0.0
    return float(math.exp(0.5 * z))


def _erfinv(y: float) -> float:
    # Winitzki's approximation: plenty for spreading durations log-normally.
    a = 0.147
    ln = math.log(1 - y * y)
    first = 2 / (math.pi * a) + ln / 2
    return math.copysign(math.sqrt(math.sqrt(first**2 - ln / a) - first), y)


def simulate(oracle, directory, workers: int, epoch_budget: int, default_epochs: int = 27):
    """Runs `workers` simulated workers on `oracle` until `epoch_budget` epochs or the end.

    Args:
        oracle: A keras-tuner oracle with objective `"accuracy"` (max).
        directory: Where the oracle saves its trials.
        workers: Number of workers.
        epoch_budget: Stop handing out trials once this many epochs were started.

    Returns:
        `busy` and `idle` worker-seconds, `makespan`, `epochs`, `trials`,
        `best` (the best accuracy reported), `waiting` (worker-seconds spent on
        IDLE answers) and `steady_share`: the share of worker time spent
        training until the first worker was turned away (the budget spent or
        the oracle done), before the last trials drain.
    """
    oracle._set_project_dir(str(directory), "simulated")
    oracle.verbose = 0
    free = [(0.0, w) for w in range(workers)]  # (time the worker asks, worker)
    heapq.heapify(free)
    running = []  # (end time, worker, trial)
    busy = idle = 0.0
    epochs = trials = 0
    best = -np.inf
    now = 0.0
    spans = []  # (start, end) of every trial
    closed = None  # when the first worker was turned away: the search's steady state ends
    while free or running:
        if free and (not running or free[0][0] <= running[0][0]):
            now, worker = heapq.heappop(free)
            if epochs >= epoch_budget:
                closed = now if closed is None else closed
                continue
            trial = oracle.create_trial(f"tuner{worker}")
            if trial.status == "STOPPED":
                closed = now if closed is None else closed
                continue
            if trial.status == "IDLE":
                if not running:
                    continue
                wake = running[0][0]
                idle += wake - now
                heapq.heappush(free, (wake + 1e-9, worker))
                continue
            values = trial.hyperparameters.values
            first = values.get("tuner/initial_epoch", 0)
            last = values.get("tuner/epochs", default_epochs)
            duration = (last - first) * epoch_seconds(values)
            busy += duration
            spans.append((now, now + duration))
            epochs += last - first
            trials += 1
            heapq.heappush(running, (now + duration, worker, id(trial), trial))
            continue
        now, worker, _, trial = heapq.heappop(running)
        values = trial.hyperparameters.values
        first = values.get("tuner/initial_epoch", 0)
        for epoch in range(first, values.get("tuner/epochs", default_epochs)):
            value = accuracy(values, epoch)
            best = max(best, value)
            oracle.update_trial(trial.trial_id, {"accuracy": value}, step=epoch)
        trial.status = "COMPLETED"
        oracle.end_trial(trial)
        heapq.heappush(free, (now, worker))
    makespan = now
    closed = makespan if closed is None else closed
    steady = sum(max(0.0, min(end, closed) - start) for start, end in spans)
    # Workers that found nothing left to do before the last trial ended were idle too.
    return {"busy": busy, "idle": max(0.0, workers * makespan - busy), "makespan": makespan,
            "epochs": epochs, "trials": trials, "best": best, "waiting": idle,
            "steady_share": steady / (workers * closed) if closed > 0 else 1.0}
