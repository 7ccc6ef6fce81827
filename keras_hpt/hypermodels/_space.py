"""Range specifications: how a constructor argument becomes a hyperparameter.

Every tunable argument of keras_hpt's HyperModels takes one of:
- a `(low, high)` tuple: tuned over that range;
- a list: tuned as a choice among its values;
- a single value: fixed (recorded with `hp.Fixed`, never searched).
"""

import numbers
from typing import Any, Optional, Sequence


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _describe(low, high, low_open, high_open) -> str:
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    return f"{left}{low}, {high}{right}"


def _within(value, low, high, low_open, high_open) -> bool:
    above = value > low if low_open else value >= low
    below = high is None or (value < high if high_open else value <= high)
    return above and below


def check_range_spec(
    name: str,
    spec: Any,
    *,
    low: float,
    high: Optional[float] = None,
    integer: bool = False,
    low_open: bool = False,
    high_open: bool = False,
):
    """Validates a numeric range specification at construction time.

    Args:
        name: The constructor argument's name, for the message.
        spec: A `(low, high)` tuple, a non-empty list of values, or one value.
        low: Smallest allowed value.
        high: Largest allowed value, or `None`.
        integer: Whether values must be integers.
        low_open: Whether `low` itself is excluded.
        high_open: Whether `high` itself is excluded.

    Returns:
        The specification, with a list turned into a sorted, de-duplicated list.
    """
    bounds = f"{'integers' if integer else 'numbers'} in " + _describe(
        low, "inf" if high is None else high, low_open, high_open or high is None
    )
    allowed = f"a (low, high) tuple, a list or a single value, of {bounds}"

    def valid(value) -> bool:
        if not _is_number(value) or (integer and not float(value).is_integer()):
            return False
        return _within(value, low, high, low_open, high_open)

    values = list(spec) if isinstance(spec, (tuple, list)) else [spec]
    if not values or not all(valid(v) for v in values):
        raise ValueError(f"`{name}` must be {allowed}. Received: {name}={spec!r}")
    if isinstance(spec, tuple):
        if len(spec) != 2 or spec[0] >= spec[1]:
            raise ValueError(
                f"`{name}` as a tuple must be (low, high) with low < high. "
                f"Received: {name}={spec!r}"
            )
    if isinstance(spec, list):
        return sorted(set(spec))
    return spec


def check_choice_spec(name: str, spec: Any, allowed: Sequence[str]):
    """Validates a categorical specification: one name or a non-empty list of names."""
    values = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    unknown = [v for v in values if v not in allowed]
    if not values or unknown:
        raise ValueError(
            f"`{name}` must be one of {', '.join(map(repr, allowed))}, or a non-empty list of "
            f"them. Received: {name}={spec!r}"
        )
    return list(dict.fromkeys(values)) if isinstance(spec, (list, tuple)) else spec


def int_hp(hp, name: str, spec, *, sampling: str = "linear", default=None) -> int:
    """Declares an integer hyperparameter from a specification and returns its value."""
    if isinstance(spec, tuple):
        return hp.Int(name, int(spec[0]), int(spec[1]), sampling=sampling, default=default)
    if isinstance(spec, list):
        return hp.Choice(name, [int(v) for v in spec], default=default if default in spec else None)
    return hp.Fixed(name, int(spec))


def float_hp(hp, name: str, spec, *, sampling: str = "linear", default=None) -> float:
    """Declares a float hyperparameter from a specification and returns its value."""
    if isinstance(spec, tuple):
        return hp.Float(name, float(spec[0]), float(spec[1]), sampling=sampling, default=default)
    if isinstance(spec, list):
        return hp.Choice(name, [float(v) for v in spec])
    return hp.Fixed(name, float(spec))


def choice_hp(hp, name: str, spec, default=None):
    """Declares a categorical hyperparameter (or a fixed one) and returns its value."""
    if isinstance(spec, (list, tuple)):
        if len(spec) == 1:
            return hp.Fixed(name, spec[0])
        if all(isinstance(v, bool) for v in spec):
            # keras-tuner's Choice would store booleans as 0 and 1.
            return hp.Boolean(name, default=bool(default))
        return hp.Choice(name, list(spec), default=default if default in spec else None)
    return hp.Fixed(name, spec)


def spec_max(spec):
    """The largest value a specification can take."""
    return max(spec) if isinstance(spec, (tuple, list)) else spec


def spec_min(spec):
    """The smallest value a specification can take."""
    return min(spec) if isinstance(spec, (tuple, list)) else spec
