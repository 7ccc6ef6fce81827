"""Tuners: keras-tuner's `Tuner` with reports every epoch, and one-line tuners per oracle."""

from keras_hpt.tuners.asha import ASHA
from keras_hpt.tuners.bayesian import BayesianOptimization
from keras_hpt.tuners.evolution import Evolution
from keras_hpt.tuners.optuna_search import OptunaSearch
from keras_hpt.tuners.pbt import PBT
from keras_hpt.tuners.tuner import Tuner

__all__ = ["ASHA", "BayesianOptimization", "Evolution", "OptunaSearch", "PBT", "Tuner"]
