"""keras_hpt: hyperparameter toolkit for Keras 3 and keras-tuner."""

__version__ = "0.1.0"

from keras_hpt import callbacks, distribute, hypermodels, oracles, pipeline, schedules, tuners
from keras_hpt.lr_finder import LRFinderResult, lr_find
from keras_hpt.pipeline import TuneResult, tune
from keras_hpt.reporting import plot_schedule

__all__ = [
    "LRFinderResult",
    "TuneResult",
    "__version__",
    "callbacks",
    "distribute",
    "hypermodels",
    "lr_find",
    "oracles",
    "pipeline",
    "plot_schedule",
    "schedules",
    "tune",
    "tuners",
]
