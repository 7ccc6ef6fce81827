"""Driving an oracle without training: trials report a known curve epoch by epoch."""

import keras_tuner


def run_oracle(oracle, directory, curve, requests, tuner_id="tuner0", on_create=None):
    """Asks `oracle` for `requests` trials in turn and reports `curve(values, epoch)`.

    Each trial reports every epoch from `tuner/initial_epoch` (default 0) to
    `tuner/epochs` (default 1), unless the oracle stops it.

    Args:
        oracle: The oracle under test.
        directory: Where the oracle may save its trials.
        curve: `curve(values, epoch) -> float`, the objective after `epoch`.
        requests: How many trials to ask for.
        tuner_id: The worker's name.
        on_create: Optional `on_create(oracle, trial)` called before each trial runs.

    Returns:
        The trials in the order they were created (stopped answers excluded).
    """
    if getattr(oracle, "_directory", None) is None:
        oracle._set_project_dir(str(directory), "simulated")
        oracle.verbose = 0
    trials = []
    for _ in range(requests):
        trial = oracle.create_trial(tuner_id)
        if trial.status != "RUNNING":
            break
        if on_create is not None:
            on_create(oracle, trial)
        values = trial.hyperparameters.values
        first = values.get("tuner/initial_epoch", 0)
        last = values.get("tuner/epochs", 1)
        for epoch in range(first, last):
            answer = oracle.update_trial(
                trial.trial_id, {oracle.objective.name: curve(values, epoch)}, step=epoch
            )
            if answer.status == "STOPPED":
                break
        trial.status = keras_tuner.engine.trial.TrialStatus.COMPLETED
        oracle.end_trial(trial)
        trials.append(trial)
    return trials
