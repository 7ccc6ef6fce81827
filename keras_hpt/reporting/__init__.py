"""Reports of searches (trial tables, plots, TensorBoard HParams) and schedule plots."""

from keras_hpt.reporting.history import plot_history, plot_hyperparameters, plot_learning_curves
from keras_hpt.reporting.hparams import log_hparams
from keras_hpt.reporting.plots import plot_schedule
from keras_hpt.reporting.progress import SearchProgress
from keras_hpt.reporting.trials import format_table, trial_rows, trials_table, write_trials

__all__ = [
    "SearchProgress",
    "format_table",
    "log_hparams",
    "plot_history",
    "plot_hyperparameters",
    "plot_learning_curves",
    "plot_schedule",
    "trial_rows",
    "trials_table",
    "write_trials",
]
