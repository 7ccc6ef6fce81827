"""Closed forms of every schedule, written independently in float64 NumPy.

These follow the published formulas (Loshchilov & Hutter for SGDR, Smith for
one-cycle), not the package's code, so the tests compare against them.
"""

import math

import numpy as np


def step_decay(s, lr0, step_size, factor, floor):
    return np.maximum(lr0 * factor ** np.floor(s / step_size), floor)


def exponential_decay(s, lr0, decay_steps, decay_rate, floor):
    return np.maximum(lr0 * decay_rate ** (s / decay_steps), floor)


def time_based_decay(s, lr0, decay, decay_steps, floor):
    return np.maximum(lr0 / (1.0 + decay * s / decay_steps), floor)


def cosine_decay(s, lr0, decay_steps, floor):
    t = np.minimum(s, decay_steps) / decay_steps
    return floor + (lr0 - floor) * 0.5 * (1 + np.cos(np.pi * t))


def cosine_warm_restarts(s, lr0, first, t_mul, m_mul, floor, max_cycles=None):
    """SGDR by walking the cycles one by one (no closed-form cycle index)."""
    out = []
    for step in np.atleast_1d(s):
        start, length, cycle = 0.0, float(first), 0
        while step >= start + length - 1e-9:
            start += length
            length *= t_mul
            cycle += 1
        if max_cycles is not None and cycle >= max_cycles:
            out.append(floor)
            continue
        peak = max(lr0 * m_mul**cycle, floor)
        out.append(floor + (peak - floor) * 0.5 * (1 + math.cos(math.pi * (step - start) / length)))
    return np.array(out)


def one_cycle(s, peak, total, pct_start, div, final_div, anneal="cos"):
    start, end = peak / div, peak / div / final_div
    last = total - 1
    p = pct_start * last
    s = np.clip(s, 0, last)

    def interp(a, b, t):
        if anneal == "cos":
            return b + (a - b) * 0.5 * (1 + np.cos(np.pi * t))
        return a + (b - a) * t

    return np.where(s <= p, interp(start, peak, s / p), interp(peak, end, (s - p) / (last - p)))
