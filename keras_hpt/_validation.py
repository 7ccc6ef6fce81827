"""Argument checks shared by every public object, so that messages read alike.

Every check raises at construction time with Keras' wording:
"`patience` must be a non-negative integer. Received: patience=-1".
"""

import numbers
from typing import Any, Iterable, Optional


def _fail(name: str, value: Any, allowed: str, error=ValueError):
    raise error(f"`{name}` must be {allowed}. Received: {name}={value!r}")


def _describe(integer: bool, low, high, low_open: bool, high_open: bool) -> str:
    kind = "an integer" if integer else "a number"
    if low is not None and high is not None:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        return f"{kind} in {left}{low}, {high}{right}"
    if low is not None:
        if low == 0:
            adjective = "positive" if low_open else "non-negative"
            return f"a {adjective} {'integer' if integer else 'number'}"
        return f"{kind} {'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{kind} {'<' if high_open else '<='} {high}"
    return kind


def check_number(
    name: str,
    value: Any,
    *,
    low: Optional[float] = None,
    high: Optional[float] = None,
    low_open: bool = False,
    high_open: bool = False,
    integer: bool = False,
    allow_none: bool = False,
):
    """Checks that `value` is a finite real number (or integer) within bounds.

    Args:
        name: Argument name, used in the message.
        value: The value to check.
        low: Lower bound, or `None` for no lower bound.
        high: Upper bound, or `None` for no upper bound.
        low_open: Whether `low` itself is excluded.
        high_open: Whether `high` itself is excluded.
        integer: Whether only integers are allowed.
        allow_none: Whether `None` is accepted (and returned unchanged).

    Returns:
        The value, as `int` when `integer` is set, else as `float`.

    Example:

    >>> check_number("patience", 3, low=0, integer=True)
    3
    >>> check_number("factor", 2.0, low=0, high=1, low_open=True)
    Traceback (most recent call last):
    ValueError: `factor` must be a number in (0, 1]. Received: factor=2.0
    """
    if value is None and allow_none:
        return None
    allowed = _describe(integer, low, high, low_open, high_open)
    if allow_none:
        allowed += " or None"
    wanted = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, wanted):
        if integer and isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            _fail(name, value, allowed, TypeError)
    if value != value or value in (float("inf"), float("-inf")):
        _fail(name, value, allowed)
    if low is not None and (value < low or (low_open and value == low)):
        _fail(name, value, allowed)
    if high is not None and (value > high or (high_open and value == high)):
        _fail(name, value, allowed)
    return int(value) if integer else float(value)


def check_choice(name: str, value: Any, choices: Iterable[Any]):
    """Checks that `value` is one of `choices`.

    Args:
        name: Argument name, used in the message.
        value: The value to check.
        choices: The allowed values.

    Returns:
        The value, unchanged.

    Example:

    >>> check_choice("unit", "epoch", ("epoch", "step"))
    'epoch'
    """
    choices = tuple(choices)
    if value not in choices:
        listed = ", ".join(repr(c) for c in choices)
        _fail(name, value, f"one of {listed}")
    return value


def check_condition(condition: bool, name: str, value: Any, allowed: str):
    """Raises `ValueError` in the shared wording unless `condition` holds.

    Args:
        condition: Whether the value is acceptable.
        name: Argument name, used in the message.
        value: The offending value.
        allowed: What would be allowed, completing "`name` must be ...".

    Example:

    >>> check_condition(1 < 2, "min_learning_rate", 0.0, "below 2")
    """
    if not condition:
        _fail(name, value, allowed)
