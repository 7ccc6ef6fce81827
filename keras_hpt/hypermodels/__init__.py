"""HyperModels and the building blocks to write your own."""

from keras_hpt.hypermodels.base import HyperModel
from keras_hpt.hypermodels.blocks import conv_stack, dense_stack
from keras_hpt.hypermodels.conv import ConvHyperModel
from keras_hpt.hypermodels.heuristics import WidthRange, width_range
from keras_hpt.hypermodels.mlp import MLPHyperModel
from keras_hpt.hypermodels.training import TrainingSpace

__all__ = [
    "ConvHyperModel",
    "HyperModel",
    "MLPHyperModel",
    "TrainingSpace",
    "WidthRange",
    "conv_stack",
    "dense_stack",
    "width_range",
]
