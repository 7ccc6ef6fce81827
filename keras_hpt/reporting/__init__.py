"""Plots and reports."""

from keras_hpt.reporting.plots import plot_schedule

__all__ = ["plot_schedule"]
