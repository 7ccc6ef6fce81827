"""Search algorithms as `keras_tuner.Oracle`s: plug them into any keras-tuner `Tuner`."""

from keras_hpt.oracles.asha import ASHAOracle, rung_epochs
from keras_hpt.oracles.base import Oracle
from keras_hpt.oracles.evolution import EvolutionOracle
from keras_hpt.oracles.gaussian_process import GaussianProcessOracle
from keras_hpt.oracles.optuna_oracle import OptunaOracle
from keras_hpt.oracles.pbt import PBTOracle

__all__ = [
    "ASHAOracle",
    "EvolutionOracle",
    "GaussianProcessOracle",
    "OptunaOracle",
    "Oracle",
    "PBTOracle",
    "rung_epochs",
]
