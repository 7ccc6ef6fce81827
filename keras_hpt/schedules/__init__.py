"""Learning-rate schedules: pure functions of the step, serializable, XLA-friendly."""

from keras_hpt.schedules.base import evaluate_schedule, schedule_length
from keras_hpt.schedules.cosine_decay import CosineDecay
from keras_hpt.schedules.cosine_warm_restarts import CosineWarmRestarts
from keras_hpt.schedules.exponential_decay import ExponentialDecay
from keras_hpt.schedules.one_cycle import OneCycle
from keras_hpt.schedules.step_decay import StepDecay
from keras_hpt.schedules.time_based_decay import TimeBasedDecay
from keras_hpt.schedules.warmup import Warmup

__all__ = [
    "CosineDecay",
    "CosineWarmRestarts",
    "ExponentialDecay",
    "OneCycle",
    "StepDecay",
    "TimeBasedDecay",
    "Warmup",
    "evaluate_schedule",
    "schedule_length",
]
