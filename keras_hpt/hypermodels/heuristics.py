"""Rules of thumb for the width of hidden layers."""

from typing import NamedTuple

from keras_hpt._validation import check_number


class WidthRange(NamedTuple):
    """A range of hidden-layer widths and a typical value inside it."""

    min_units: int
    max_units: int
    typical_units: int


def width_range(num_inputs: int, num_outputs: int) -> WidthRange:
    """Hidden-layer widths suggested by the classic rules of thumb.

    Three rules are folded together (Heaton, "Introduction to Neural Networks
    for Java", 2008): the width lies between the output and the input sizes,
    it is about two thirds of the input size plus the output size, and it
    stays below twice the input size. The range runs from the smaller of the
    two sizes to twice the input size (at least four times the lower end, so a
    log-scale search has room), and `typical_units` is the two-thirds rule.

    Args:
        num_inputs: Number of input features (after flattening).
        num_outputs: Number of outputs (classes, or regression targets).

    Returns:
        A `WidthRange(min_units, max_units, typical_units)`.

    Example:

    >>> keras_hpt.hypermodels.width_range(num_inputs=64, num_outputs=10)
    WidthRange(min_units=10, max_units=128, typical_units=53)
    """
    num_inputs = check_number("num_inputs", num_inputs, low=1, integer=True)
    num_outputs = check_number("num_outputs", num_outputs, low=1, integer=True)
    low = max(2, min(num_inputs, num_outputs))
    high = max(2 * num_inputs, 4 * low)
    typical = min(max(round(2 * num_inputs / 3 + num_outputs), low), high)
    return WidthRange(low, high, typical)
