"""Data in, tuned model out: `keras_hpt.tune` and what it is made of."""

from keras_hpt.pipeline.calibration import TemperatureScaling
from keras_hpt.pipeline.data import read_csv
from keras_hpt.pipeline.hypermodel import TabularHyperModel
from keras_hpt.pipeline.tune import TuneResult, tune

__all__ = ["TabularHyperModel", "TemperatureScaling", "TuneResult", "read_csv", "tune"]
