"""TensorBoard's HParams dashboard for any search: one run per trial, written afterwards."""

import math
import os
from typing import Optional

from keras_hpt.reporting._search import load_search


def _domain(hp_api, hyperparameter):
    """The HParams domain of a keras-tuner hyperparameter, or `None` to let TensorBoard infer."""
    kind = type(hyperparameter).__name__
    if kind == "Float":
        return hp_api.RealInterval(float(hyperparameter.min_value),
                                   float(hyperparameter.max_value))
    if kind == "Int":
        return hp_api.IntInterval(int(hyperparameter.min_value), int(hyperparameter.max_value))
    if kind == "Choice":
        return hp_api.Discrete(list(hyperparameter.values))
    if kind == "Boolean":
        return hp_api.Discrete([False, True])
    return None


def _summary_value(value):
    if isinstance(value, (bool, int, float, str)):
        return value
    return None if value is None else str(value)


def log_hparams(source, logdir: str, objective: Optional[str] = None) -> str:
    """Writes every trial of a search to TensorBoard's HParams dashboard.

    Each trial becomes a run `<logdir>/trial_<id>` holding its active
    hyperparameters (the `tuner/` bookkeeping keys left out), its score as
    the scalar `score` at its best step, and every metric it reported, per
    step, so the dashboard's table, parallel coordinates and scatter views
    and the runs' curves all work. The domains of the hyperparameters go to
    `<logdir>` itself. Diverged or failed trials are logged without a score.
    Needs TensorFlow (imported here, not with keras_hpt).

    Args:
        source: A keras-tuner `Tuner`, an `Oracle`, or a search directory
            (see `trials_table`).
        logdir: The TensorBoard log directory (`tensorboard --logdir <logdir>`).
        objective: The objective's metric name; see `trials_table`.

    Returns:
        `logdir`.

    Example:

    >>> import os, tempfile
    >>> logdir = keras_hpt.reporting.log_hparams(
    ...     keras_tuner.oracles.RandomSearchOracle("val_loss", max_trials=1),
    ...     tempfile.mkdtemp())
    >>> len(os.listdir(logdir))  # the experiment's configuration
    1
    """
    import tensorflow as tf
    from tensorboard.plugins.hparams import api as hp_api

    record = load_search(source, objective)
    space = {}
    for trial in record.trials:
        for hyperparameter in trial.hyperparameters.space:
            space.setdefault(hyperparameter.name, hyperparameter)
    hparams = {
        name: hp_api.HParam(name, _domain(hp_api, hyperparameter))
        for name, hyperparameter in space.items() if not name.startswith("tuner/")
    }
    metrics = [hp_api.Metric("score", display_name=f"{record.objective} (best)")]
    with tf.summary.create_file_writer(logdir).as_default():
        hp_api.hparams_config(hparams=list(hparams.values()), metrics=metrics)
    for trial in record.trials:
        hp = trial.hyperparameters
        values = {}
        for name, value in hp.values.items():
            if name in hparams and hp.is_active(name) and _summary_value(value) is not None:
                values[hparams[name]] = _summary_value(value)
        writer = tf.summary.create_file_writer(os.path.join(logdir, f"trial_{trial.trial_id}"))
        with writer.as_default():
            hp_api.hparams(values, trial_id=trial.trial_id)
            if trial.score is not None and math.isfinite(trial.score):
                tf.summary.scalar("score", trial.score, step=trial.best_step or 0)
            for name in trial.metrics.metrics:
                for step, value, _ in record.history(trial, name):
                    if math.isfinite(value):
                        tf.summary.scalar(name, value, step=step)
        writer.close()
    return logdir
