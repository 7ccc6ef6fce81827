"""Map keras-tuner hyperparameter values to points of the unit cube and back.

A model-based oracle (a Gaussian process, for one) works on vectors in
`[0, 1]^D`. `SpaceEncoder` gives every hyperparameter of a
`keras_tuner.HyperParameters` space its own block of dimensions:

- `Int` and `Float`: one dimension, through the hyperparameter's `sampling`
  (`"log"` spaces decades evenly); `step` and integrality make it a grid.
- `Choice` with `ordered=True` (numeric values): one dimension, the rank of the
  value among the sorted values, spread evenly over `[0, 1]`.
- `Choice` with `ordered=False`: a one-hot block, so that no category sits
  "between" two others.
- `Boolean`: one dimension on the grid `{0, 1}`.
- `Fixed`, and `Int`/`Float`/`Choice` with a single possible value: no dimension.

A hyperparameter whose conditions (`parent_name`/`parent_values` scopes) are not
met gets a constant fill: 0.5 for a one-dimensional block, all zeros for a
one-hot block. All inactive trials then share one position in that block, half
way to every active value (or, for a one-hot block, a category of their own), so
a kernel sees them as alike in that respect and as equally far from every value
the hyperparameter could take.
"""

import math
from typing import Any, Dict, List, Mapping, Optional

import keras_tuner
import numpy as np

from keras_hpt._validation import check_number

# Differences below one part in ten million of a hyperparameter's range are
# float round-off (log/exp round trips), not different configurations.
_KEY_RESOLUTION = 1e-7


class _Block:
    """The dimensions of one hyperparameter. Subclasses set `size` and `grid`."""

    size = 1
    grid: Optional[np.ndarray] = None

    def __init__(self, hp, start: int):
        self.hp = hp
        self.start = start

    @property
    def fill(self) -> np.ndarray:
        return np.full(self.size, 0.5)

    def snap(self, u: np.ndarray) -> np.ndarray:
        """Snaps the block's columns `u`, shape `(n, size)`, to valid encodings."""
        return u


class _Constant(_Block):
    size = 0

    def __init__(self, hp, start: int, value):
        super().__init__(hp, start)
        self.value = value

    def encode(self, value) -> np.ndarray:
        return np.zeros(0)

    def decode(self, u: np.ndarray):
        return self.value


class _Numeric(_Block):
    """`Int` or `Float`, through the sampling transform, on a grid if discrete."""

    def __init__(self, hp, start: int, max_grid_size: int):
        super().__init__(hp, start)
        self.low, self.high = float(hp.min_value), float(hp.max_value)
        self.is_int = type(hp).__name__ == "Int"
        self.step = hp.step
        self.sampling = hp.sampling
        self.n_values = None
        if self.step is not None:
            if self.sampling == "linear":
                self.n_values = int((self.high - self.low) / self.step + 1e-9) + 1
            else:
                self.n_values = int(math.log(self.high / self.low, self.step) + 1e-9) + 1
        elif self.is_int:
            self.n_values = int(self.high - self.low) + 1
        if self.n_values is not None and self.n_values <= max_grid_size:
            self.grid = np.unique(self.to_unit(self._index_to_value(np.arange(self.n_values))))

    def to_unit(self, v):
        v = np.asarray(v, dtype=float)
        if self.sampling == "linear":
            return (v - self.low) / (self.high - self.low)
        span = math.log(self.high / self.low)
        if self.sampling == "log":
            return np.log(v / self.low) / span
        return 1.0 - np.log((self.high + self.low - v) / self.low) / span

    def from_unit(self, u):
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        if self.sampling == "linear":
            return self.low + u * (self.high - self.low)
        ratio = self.high / self.low
        if self.sampling == "log":
            return self.low * ratio**u
        return self.high + self.low - self.low * ratio ** (1.0 - u)

    def _value_to_index(self, v):
        if self.step is None:
            return v - self.low
        if self.sampling == "linear":
            return (v - self.low) / self.step
        if self.sampling == "log":
            return np.log(v / self.low) / math.log(self.step)
        return np.log((self.high + self.low - v) / self.low) / math.log(self.step)

    def _index_to_value(self, i):
        if self.step is None:
            return self.low + i
        if self.sampling == "linear":
            return self.low + i * self.step
        if self.sampling == "log":
            return self.low * float(self.step) ** i
        return self.high + self.low - self.low * float(self.step) ** i

    def _round(self, v):
        if self.n_values is None:
            return np.clip(v, self.low, self.high)
        index = np.clip(np.rint(self._value_to_index(v)), 0, self.n_values - 1)
        v = self._index_to_value(index)
        return np.rint(v) if self.is_int else v

    def encode(self, value) -> np.ndarray:
        return np.atleast_1d(self.to_unit(self._round(float(value))))

    def decode(self, u: np.ndarray):
        v = float(self._round(self.from_unit(u[0])))
        return int(v) if self.is_int else v

    def snap(self, u: np.ndarray) -> np.ndarray:
        if self.n_values is None:
            return np.clip(u, 0.0, 1.0)
        return self.to_unit(self._round(self.from_unit(u)))


class _Ordinal(_Block):
    """A numeric `Choice` with `ordered=True`: the value's rank, spread over [0, 1]."""

    def __init__(self, hp, start: int):
        super().__init__(hp, start)
        self.values = sorted(hp.values)
        self.grid = np.linspace(0.0, 1.0, len(self.values))

    def encode(self, value) -> np.ndarray:
        index = int(np.argmin([abs(float(v) - float(value)) for v in self.values]))
        return self.grid[index : index + 1].copy()

    def decode(self, u: np.ndarray):
        return self.values[int(np.argmin(np.abs(self.grid - u[0])))]

    def snap(self, u: np.ndarray) -> np.ndarray:
        index = np.rint(np.clip(u, 0.0, 1.0) * (len(self.values) - 1))
        return index / (len(self.values) - 1)


class _Boolean(_Block):
    grid = np.array([0.0, 1.0])

    def encode(self, value) -> np.ndarray:
        return np.array([1.0 if value else 0.0])

    def decode(self, u: np.ndarray):
        return bool(u[0] >= 0.5)

    def snap(self, u: np.ndarray) -> np.ndarray:
        return (u >= 0.5).astype(float)


class _OneHot(_Block):
    """An unordered `Choice`: one dimension per value, the largest one wins."""

    def __init__(self, hp, start: int):
        super().__init__(hp, start)
        self.values = list(hp.values)
        self.size = len(self.values)

    @property
    def fill(self) -> np.ndarray:
        return np.zeros(self.size)

    def encode(self, value) -> np.ndarray:
        if value not in self.values:
            raise ValueError(
                f"`{self.hp.name}` must be one of {self.values}. Received: {self.hp.name}={value!r}"
            )
        return np.eye(self.size)[self.values.index(value)]

    def decode(self, u: np.ndarray):
        return self.values[int(np.argmax(u))]

    def snap(self, u: np.ndarray) -> np.ndarray:
        return np.eye(self.size)[np.argmax(u, axis=1)]


def _make_block(hp, start: int, max_grid_size: int) -> _Block:
    kind = type(hp).__name__
    if kind == "Fixed":
        return _Constant(hp, start, hp.value)
    if kind == "Boolean":
        return _Boolean(hp, start)
    if kind == "Choice":
        if len(hp.values) == 1:
            return _Constant(hp, start, hp.values[0])
        return _Ordinal(hp, start) if hp.ordered else _OneHot(hp, start)
    if kind in ("Int", "Float"):
        if hp.min_value == hp.max_value:
            return _Constant(hp, start, hp.min_value)
        return _Numeric(hp, start, max_grid_size)
    raise TypeError(f"Unsupported hyperparameter type {kind} for `{hp.name}`.")


class SpaceEncoder:
    """Encodes the values of a keras-tuner search space as points of `[0, 1]^D`.

    The blocks of dimensions follow `hyperparameters.space` in order; the
    module docstring lists what each hyperparameter type becomes and how
    inactive conditional hyperparameters are filled. `encode(decode(x))` is the
    canonical form of any `x`: a valid value for every active hyperparameter and
    the fill everywhere else.

    Args:
        hyperparameters: The `keras_tuner.HyperParameters` search space.
        max_grid_size: An `Int` or stepped `Float` with more possible values
            than this is listed among `continuous_dims` (an optimizer may move
            it freely; `snap` and `decode` round it) rather than `discrete_dims`.
            Defaults to `32`.

    Attributes:
        dim: Number of dimensions `D`.
        continuous_dims: Integer array of the dimensions an optimizer can move
            continuously.
        discrete_dims: Dict from a dimension to the sorted array of its allowed
            positions (ordered `Choice`, `Boolean`, small `Int`/stepped grids).
        onehot_groups: List of integer arrays, the dimensions of each unordered
            `Choice`; exactly one of them is 1 when the choice is active.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> hp.Float("lr", 1e-4, 1e-1, sampling="log")
    0.0001
    >>> hp.Choice("act", ["relu", "tanh", "gelu"])
    'relu'
    >>> encoder = SpaceEncoder(hp)
    >>> encoder.encode({"lr": 1e-2, "act": "tanh"}).round(4).tolist()
    [0.6667, 0.0, 1.0, 0.0]
    >>> encoder.decode(np.array([1.0, 0.2, 0.1, 0.7]))
    {'lr': 0.1, 'act': 'gelu'}
    """

    def __init__(self, hyperparameters: keras_tuner.HyperParameters, max_grid_size: int = 32):
        check_number("max_grid_size", max_grid_size, low=1, integer=True)
        self._blocks: List[_Block] = []
        start = 0
        for hp in hyperparameters.space:
            block = _make_block(hp, start, max_grid_size)
            self._blocks.append(block)
            start += block.size
        self.dim = start
        self.continuous_dims = np.array(
            [b.start for b in self._blocks if isinstance(b, _Numeric) and b.grid is None],
            dtype=int,
        )
        self.discrete_dims: Dict[int, np.ndarray] = {
            b.start: b.grid for b in self._blocks if b.size == 1 and b.grid is not None
        }
        self.onehot_groups = [
            np.arange(b.start, b.start + b.size) for b in self._blocks if isinstance(b, _OneHot)
        ]

    def _walk(self, get_value):
        """Yields `(block, value)` for the active blocks, in the order of the space."""
        values: Dict[str, Any] = {}
        for block in self._blocks:
            if all(condition.is_active(values) for condition in block.hp.conditions):
                values[block.hp.name] = get_value(block)
                yield block, values[block.hp.name]

    def encode(self, values: Mapping[str, Any]) -> np.ndarray:
        """Encodes a dict of values; a missing active value takes its default.

        Args:
            values: Dict from hyperparameter name to value. Keys of no
                hyperparameter (such as keras-tuner's `tuner/...` keys) are ignored.

        Returns:
            A float array of shape `(dim,)` in `[0, 1]`.
        """
        vector = np.concatenate([b.fill for b in self._blocks] + [np.zeros(0)])
        for block, value in self._walk(lambda b: values.get(b.hp.name, b.hp.default)):
            vector[block.start : block.start + block.size] = block.encode(value)
        return vector

    def decode(self, vector: np.ndarray) -> Dict[str, Any]:
        """Decodes a vector into the values of the active hyperparameters.

        Numeric values are rounded to their integer or `step` grid, an ordered
        `Choice` takes the nearest value and a one-hot block its largest entry.

        Args:
            vector: Float array of shape `(dim,)`; values outside `[0, 1]` are clipped.

        Returns:
            Dict from hyperparameter name to value, for active hyperparameters only.
        """
        vector = np.asarray(vector, dtype=float)
        active = self._walk(lambda b: b.decode(vector[b.start : b.start + b.size]))
        return {block.hp.name: value for block, value in active}

    def canonical(self, vector: np.ndarray) -> np.ndarray:
        """Returns `encode(decode(vector))`: the encoding of the configuration it stands for."""
        return self.encode(self.decode(vector))

    def snap(self, vectors: np.ndarray) -> np.ndarray:
        """Snaps a batch of vectors to valid encodings, ignoring conditions.

        Faster than `canonical` row by row; inactive blocks keep whatever valid
        value they snapped to, so pass the result through `canonical` before use.

        Args:
            vectors: Float array of shape `(n, dim)`.

        Returns:
            Float array of shape `(n, dim)`.
        """
        out = np.array(vectors, dtype=float, copy=True)
        for b in self._blocks:
            if b.size:
                out[:, b.start : b.start + b.size] = b.snap(out[:, b.start : b.start + b.size])
        return out

    def vector_key(self, vector: np.ndarray) -> bytes:
        """A hashable key of an encoded vector, equal for equal configurations.

        Args:
            vector: A canonical vector (see `canonical`) of shape `(dim,)`.

        Returns:
            Bytes, the vector rounded to `1e-7` of each range.
        """
        return np.rint(np.asarray(vector) / _KEY_RESOLUTION).astype(np.int64).tobytes()

    def key(self, values: Mapping[str, Any]) -> bytes:
        """A hashable key of a dict of values, to detect duplicate configurations.

        Inactive hyperparameters do not count, and floats closer than `1e-7` of
        their range (after the `sampling` transform) are the same.

        Args:
            values: Dict from hyperparameter name to value.

        Returns:
            Bytes; equal keys mean the same configuration.
        """
        return self.vector_key(self.encode(values))
