"""Callbacks for `model.fit`."""

from keras_hpt.callbacks.early_stopping import EarlyStopping
from keras_hpt.callbacks.learning_rate_logger import LearningRateLogger
from keras_hpt.callbacks.learning_rate_scheduler import LearningRateScheduler
from keras_hpt.callbacks.lr_finder import LRFinder
from keras_hpt.callbacks.snapshot_ensemble import SnapshotEnsemble
from keras_hpt.callbacks.validation_monitor import NonFiniteError, ValidationMonitor

__all__ = [
    "EarlyStopping",
    "LearningRateLogger",
    "LearningRateScheduler",
    "LRFinder",
    "NonFiniteError",
    "SnapshotEnsemble",
    "ValidationMonitor",
]
