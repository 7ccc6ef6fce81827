"""The learning-rate range test and its suggestions."""

from keras_hpt.lr_finder.finder import lr_find
from keras_hpt.lr_finder.result import LRFinderResult

__all__ = ["LRFinderResult", "lr_find"]
