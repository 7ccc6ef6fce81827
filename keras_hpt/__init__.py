"""keras_hpt: hyperparameter toolkit for Keras 3 and keras-tuner."""

__version__ = "0.1.0"

from keras_hpt import callbacks, distribute, hypermodels, oracles, schedules, tuners
from keras_hpt.lr_finder import LRFinderResult, lr_find
from keras_hpt.reporting import plot_schedule

__all__ = [
    "LRFinderResult",
    "__version__",
    "callbacks",
    "distribute",
    "hypermodels",
    "lr_find",
    "oracles",
    "plot_schedule",
    "schedules",
    "tuners",
]
