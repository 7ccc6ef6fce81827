"""plot_schedule draws the schedule's true values and marks restarts."""

import sys

import keras
import numpy as np
import pytest

import keras_hpt
from keras_hpt import schedules


def test_plotted_line_is_the_schedule(tmp_path):
    schedule = schedules.Warmup(schedules.CosineWarmRestarts(0.1, 20, t_mul=2.0), 10)
    figure = keras_hpt.plot_schedule(schedule, steps=200, log_scale=True)
    ax = figure.axes[0]
    x, y = ax.lines[0].get_data()
    np.testing.assert_array_equal(x, np.arange(200))
    np.testing.assert_allclose(y, [float(schedule(s)) for s in range(200)], rtol=1e-6)
    restart_lines = [line.get_xdata()[0] for line in ax.lines[1:]]
    assert restart_lines == [30, 70, 150]  # 10 warm-up steps + restarts at 20, 60, 140
    assert ax.get_yscale() == "log"
    figure.savefig(tmp_path / "schedule.png")
    assert (tmp_path / "schedule.png").stat().st_size > 1000


def test_plots_keras_schedules_functions_and_epochs_on_one_axis():
    figure = keras_hpt.plot_schedule(keras.optimizers.schedules.CosineDecay(0.1, 50), 60,
                                     steps_per_epoch=10)
    keras_hpt.plot_schedule(lambda step: 0.1 / (1 + step), 60, ax=figure.axes[0], label="f",
                            steps_per_epoch=10)
    ax = figure.axes[0]
    assert ax.get_xlabel() == "epoch" and len(ax.lines) == 2
    assert ax.lines[0].get_xdata()[-1] == pytest.approx(5.9)
    assert ax.lines[1].get_ydata()[3] == pytest.approx(0.025)


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"keras-hpt\[plot\]"):
        keras_hpt.plot_schedule(0.1, 10)
