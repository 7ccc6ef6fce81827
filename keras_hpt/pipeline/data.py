"""What `tune` accepts as data, checked and split before anything trains.

Features come as a 2-D array, a pandas DataFrame, a dict of columns or a
CSV file; targets as an array, a Series or a column's name. An array is
standardised outside the model during the search and by a `Normalization`
layer inside the model the user gets, which takes arrays; columns (numbers
or strings) go through Keras' `FeatureSpace`, kept inside the saved model,
which takes a dict of raw columns.
"""

import csv
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from keras_hpt._validation import check_choice, check_number

TASKS = ("auto", "classification", "binary", "regression")
#: Integer-valued targets with at most this many distinct values are classes.
MAX_CLASSES = 20


@dataclass
class Split:
    """Features and targets of one part of the data, as the search trains on them."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class TabularData:
    """The checked data: train and validation parts, the task and how to undo the encodings.

    Attributes:
        train: The part the models train on (encoded features, encoded targets).
        validation: The part that ranks trials, stops them and picks the ensemble.
        task: `"classification"`, `"binary"` or `"regression"`.
        num_outputs: Classes, 1 for binary, or targets for regression.
        classes: The original labels, in the order of the model's outputs
            (`None` for regression).
        feature_names: One name per input column.
        feature_space: The adapted `keras.utils.FeatureSpace` for data with
            string columns, else `None`.
        numeric: With a feature space, whether each column is numeric.
        mean, scale: Standardisation of numeric features (without a feature space).
        target_mean, target_scale: Standardisation of regression targets.
        inferred: Whether the task was inferred from the targets.
    """

    train: Split
    validation: Split
    task: str
    num_outputs: int
    classes: Optional[np.ndarray]
    feature_names: List[str]
    feature_space: object = None
    numeric: Optional[Dict[str, bool]] = None
    mean: Optional[np.ndarray] = None
    scale: Optional[np.ndarray] = None
    target_mean: Optional[np.ndarray] = None
    target_scale: Optional[np.ndarray] = None
    inferred: bool = False
    notes: List[str] = field(default_factory=list)

    @property
    def num_features(self) -> int:
        """Width of the encoded features the networks see."""
        return int(self.train.x.shape[1])


def read_csv(path: str) -> Dict[str, np.ndarray]:
    """Reads a CSV file with a header row into columns.

    A column whose every cell parses as a number becomes a float column
    (an empty cell is NaN); any other column keeps its strings.

    Args:
        path: The file.

    Returns:
        A dict from column name to a 1-D array, in the file's order.
    """
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    if not rows or not rows[0]:
        raise ValueError(f"`path` must be a CSV file with a header row. Received: path={path!r}")
    header, body = rows[0], rows[1:]
    if len(set(header)) != len(header):
        raise ValueError(f"The CSV file {path!r} repeats a column name: {header}")
    width = len(header)
    for number, row in enumerate(body, start=2):
        if len(row) != width:
            raise ValueError(f"Line {number} of {path!r} has {len(row)} cells; the header has "
                             f"{width}.")
    columns = {}
    for index, name in enumerate(header):
        cells = [row[index].strip() for row in body]
        try:
            columns[name] = np.array([float(c) if c else np.nan for c in cells], dtype=np.float64)
        except ValueError:
            columns[name] = np.array(cells, dtype=object)
    return columns


def _is_dataframe(x) -> bool:
    return type(x).__name__ == "DataFrame" and hasattr(x, "columns")


def _columns_of(x) -> Optional[Dict[str, np.ndarray]]:
    """The columns of a DataFrame or a dict of columns; `None` for array-like features."""
    if _is_dataframe(x):
        return {str(name): x[name].to_numpy() for name in x.columns}
    if isinstance(x, dict):
        return {str(name): np.asarray(values) for name, values in x.items()}
    return None


def _is_numeric(values: np.ndarray) -> bool:
    if values.dtype.kind in "biuf":
        return True
    if values.dtype.kind != "O":
        return False
    try:
        values.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _check_finite(x: np.ndarray, names: List[str]) -> None:
    bad = ~np.isfinite(x)
    if bad.any():
        column = int(np.flatnonzero(bad.any(axis=0))[0])
        count = int(bad[:, column].sum())
        raise ValueError(
            f"`x` must hold finite numbers: column {names[column]!r} has {count} NaN or "
            "infinite value(s). Impute or drop them before tuning."
        )


def _targets(y, columns, length: int) -> np.ndarray:
    if isinstance(y, str):
        if columns is None or y not in columns:
            known = sorted(columns) if columns is not None else None
            raise ValueError(
                f"`y` names a target column that is not in `x`. Received: y={y!r}"
                + (f"; the columns are {known}" if known else "")
            )
        return np.asarray(columns.pop(y))
    if y is None:
        raise ValueError("`y` must be given: the targets, or the name of their column in `x`. "
                         "Received: y=None")
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.ndim == 0 or values.ndim > 2:
        raise ValueError(f"`y` must be one target per row (or a 2-D array of targets). "
                         f"Received: y of shape {values.shape}")
    if len(values) != length:
        raise ValueError(f"`x` and `y` must have the same number of rows. Received: {length} "
                         f"rows in x and {len(values)} in y")
    return values


def _integer_valued(y: np.ndarray) -> bool:
    return y.dtype.kind in "biu" or (y.dtype.kind == "f" and bool(np.all(np.mod(y, 1) == 0)))


def infer_task(y: np.ndarray) -> str:
    """The task that targets `y` call for.

    Strings and booleans are classes; integer values with at most
    `MAX_CLASSES` distinct values are classes (two of them: binary);
    anything else is regression.
    """
    if y.ndim == 2:
        return "regression"
    if y.dtype.kind in "OUSb":
        return "binary" if len(np.unique(y.astype(str))) == 2 else "classification"
    if _integer_valued(y):
        count = len(np.unique(y))
        if count == 2:
            return "binary"
        if count <= MAX_CLASSES:
            return "classification"
    return "regression"


def _check_task(task: str, y: np.ndarray) -> str:
    check_choice("task", task, TASKS)
    if task == "auto":
        return infer_task(y)
    if task == "regression":
        if y.dtype.kind in "OUS":
            raise ValueError("`task` is 'regression', but `y` holds strings; use "
                             "task='classification' or 'auto'. Received: task='regression'")
        return task
    if y.ndim == 2:
        raise ValueError(f"`task` {task!r} needs one label per row; `y` has "
                         f"{y.shape[1]} columns. Received: task={task!r}")
    if y.dtype.kind == "f" and not _integer_valued(y):
        raise ValueError(f"`task` is {task!r}, but `y` holds non-integer numbers, which are not "
                         f"class labels; use task='regression' or 'auto'. Received: task={task!r}")
    count = len(np.unique(y.astype(str) if y.dtype.kind == "O" else y))
    if task == "binary" and count != 2:
        raise ValueError(f"`task` is 'binary', but `y` has {count} distinct labels; use "
                         "task='classification' or 'auto'. Received: task='binary'")
    if task == "classification" and count < 2:
        raise ValueError(f"`task` is 'classification', but `y` has {count} distinct label. "
                         "Received: task='classification'")
    return task


def _split_indices(n: int, fraction: float, labels: Optional[np.ndarray], seed) -> tuple:
    """Train and validation indices, stratified by `labels` when given."""
    rng = np.random.default_rng(seed)
    if labels is None:
        order = rng.permutation(n)
        cut = max(1, int(round(n * fraction)))
        return np.sort(order[cut:]), np.sort(order[:cut])
    validation = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        take = int(round(len(members) * fraction))
        if len(members) > 1:
            take = min(max(take, 1), len(members) - 1)
        validation.extend(members[:take])
    validation = np.sort(np.array(validation, dtype=int))
    return np.setdiff1d(np.arange(n), validation), validation


def _raw_features(x):
    """`x` as columns (a dict) or as a 2-D float array, checked."""
    columns = _columns_of(x)
    if columns is not None:
        return columns
    array = x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ValueError("`x` must be a 2-D array of features (rows x columns), a DataFrame or "
                         f"a dict of columns. Received: x of shape {array.shape}")
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError("`x` as an array must hold numbers; pass a DataFrame or a dict of "
                        "columns for string features. Received: x of dtype "
                        f"{array.dtype}") from None


def _column_length(columns: dict) -> int:
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"`x`'s columns must all have the same length. Received lengths "
                         f"{lengths}")
    return next(iter(lengths.values())) if lengths else 0


def _numeric_matrix(columns: dict) -> np.ndarray:
    return np.column_stack([columns[name].astype(np.float64) for name in columns])


def _feature_space(columns: dict, numeric: Dict[str, bool], seed):
    """An adapted `FeatureSpace`: numbers normalised, strings one-hot (unseen ones too)."""
    import keras
    import tensorflow as tf

    features = {
        name: ("float_normalized" if numeric[name] else keras.utils.FeatureSpace.string_categorical(
            num_oov_indices=1, output_mode="one_hot"))
        for name in columns
    }
    space = keras.utils.FeatureSpace(features=features, output_mode="concat")
    space.adapt(tf.data.Dataset.from_tensor_slices(as_model_inputs(columns, numeric)).batch(1024))
    return space


def as_model_inputs(columns: dict, numeric: Dict[str, bool]) -> dict:
    """Columns as a model with a feature space takes them: float32 numbers, string objects."""
    return {
        name: (values.astype("float32") if numeric[name] else values.astype(str).astype(object))
        for name, values in columns.items()
    }


def _encode_with_space(space, inputs: dict) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(space(inputs)), dtype="float32")


def prepare(x, y=None, *, validation_data=None, validation_split=None, task="auto",
            seed=None, use_feature_space=None) -> TabularData:
    """Checks the data, infers the task, splits off validation rows and encodes everything.

    Args:
        x: Features: a 2-D array, a DataFrame or a dict of columns.
        y: Targets, or the name of the target column of `x`.
        validation_data: `(x_val, y_val)` to rank trials on, or `None`.
        validation_split: Fraction of rows held out for validation when no
            `validation_data` is given. Defaults to 0.2 (stratified for
            classification).
        task: `"auto"`, `"classification"`, `"binary"` or `"regression"`.
        seed: Seed of the split.
        use_feature_space: Force (or refuse) Keras' `FeatureSpace`; `None`
            uses it for columns (a DataFrame or a dict), not for arrays.

    Returns:
        A `TabularData`.
    """
    if validation_data is not None and validation_split is not None:
        raise ValueError("Give `validation_data` or `validation_split`, not both. Received: "
                         f"validation_split={validation_split!r} with validation_data")
    fraction = check_number("validation_split", 0.2 if validation_split is None
                            else validation_split, low=0, high=1, low_open=True, high_open=True)
    raw = _raw_features(x)
    columns = raw if isinstance(raw, dict) else None
    length = _column_length(columns) if columns is not None else len(raw)
    targets = _targets(y, columns, length)
    names = list(columns) if columns is not None else [str(i) for i in range(raw.shape[1])]
    if length < 4:
        raise ValueError(f"`x` must have at least 4 rows to train and validate on. Received: "
                         f"{length} rows")
    if targets.dtype.kind in "fc" and not np.all(np.isfinite(targets)):
        raise ValueError("`y` must be finite: it holds NaN or infinite values. Drop those rows "
                         "before tuning.")
    chosen = _check_task(task, targets)
    classes = None
    encoded_y = targets
    if chosen != "regression":
        keys = targets.astype(str) if targets.dtype.kind == "O" else targets
        classes, encoded_y = np.unique(keys, return_inverse=True)
        encoded_y = encoded_y.astype("int32")
        if chosen == "binary":
            encoded_y = encoded_y.astype("float32")
    else:
        encoded_y = targets.astype(np.float64)
        if encoded_y.ndim == 1:
            encoded_y = encoded_y[:, None]

    val_rows = None
    if validation_data is not None:
        if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
            raise TypeError("`validation_data` must be a tuple `(x_val, y_val)`. Received: "
                            f"validation_data of type {type(validation_data).__name__}")
        val_raw = _raw_features(validation_data[0])
        val_columns = val_raw if isinstance(val_raw, dict) else None
        val_length = _column_length(val_columns) if val_columns is not None else len(val_raw)
        val_targets = _targets(validation_data[1], val_columns, val_length)
        if (val_columns is None) != (columns is None) or (
                val_columns is not None and set(val_columns) != set(columns)):
            raise ValueError("`validation_data` must have the same columns as `x`.")
        if val_columns is None and val_raw.shape[1] != raw.shape[1]:
            raise ValueError(f"`validation_data` must have {raw.shape[1]} feature columns like "
                             f"`x`. Received: {val_raw.shape[1]}")
        val_rows = (val_raw, val_targets)
        train_idx = np.arange(length)
    else:
        labels = encoded_y if chosen != "regression" else None
        train_idx, val_idx = _split_indices(length, fraction, labels, seed)

    numeric = ({name: _is_numeric(values) for name, values in columns.items()}
               if columns is not None else None)
    space_wanted = columns is not None if use_feature_space is None else use_feature_space
    if space_wanted and columns is None:
        columns = {name: raw[:, i] for i, name in enumerate(names)}
        numeric = {name: True for name in names}
    for source in ([columns] if columns is not None else []) + (
            [val_rows[0]] if val_rows is not None and isinstance(val_rows[0], dict) else []):
        numbers = {n: v for n, v in source.items() if numeric[n]}
        if numbers:
            _check_finite(_numeric_matrix(numbers), list(numbers))
    if columns is None:
        _check_finite(raw, names)
        if val_rows is not None:
            _check_finite(val_rows[0], names)

    def pick(values, rows):
        return {n: v[rows] for n, v in values.items()} if isinstance(values, dict) else values[rows]

    if val_rows is not None:
        train_x, val_x = (columns if columns is not None else raw), val_rows[0]
        train_y = encoded_y
        val_y = _encode_targets(val_rows[1], chosen, classes)
    else:
        source = columns if columns is not None else raw
        train_x, val_x = pick(source, train_idx), pick(source, val_idx)
        train_y, val_y = encoded_y[train_idx], encoded_y[val_idx]

    data = TabularData(Split(None, train_y), Split(None, val_y), chosen,
                       _num_outputs(chosen, classes, encoded_y), classes, names,
                       inferred=task == "auto")
    if space_wanted:
        if not isinstance(train_x, dict):
            train_x = {n: train_x[:, i] for i, n in enumerate(names)}
            val_x = {n: val_x[:, i] for i, n in enumerate(names)}
        data.feature_space = _feature_space(train_x, numeric, seed)
        data.numeric = numeric
        data.train.x = _encode_with_space(data.feature_space, as_model_inputs(train_x, numeric))
        data.validation.x = _encode_with_space(data.feature_space,
                                               as_model_inputs(val_x, numeric))
    else:
        if isinstance(train_x, dict):
            train_x, val_x = _numeric_matrix(train_x), _numeric_matrix(val_x)
        data.mean = train_x.mean(axis=0)
        std = train_x.std(axis=0)
        data.scale = np.where(std > 0, std, 1.0)
        data.train.x = ((train_x - data.mean) / data.scale).astype("float32")
        data.validation.x = ((val_x - data.mean) / data.scale).astype("float32")
    if chosen == "regression":
        data.target_mean = data.train.y.mean(axis=0)
        spread = data.train.y.std(axis=0)
        data.target_scale = np.where(spread > 0, spread, 1.0)
        data.train.y = ((data.train.y - data.target_mean) / data.target_scale).astype("float32")
        data.validation.y = ((data.validation.y - data.target_mean)
                             / data.target_scale).astype("float32")
    return data


def _encode_targets(y: np.ndarray, task: str, classes) -> np.ndarray:
    if task == "regression":
        y = y.astype(np.float64)
        return y[:, None] if y.ndim == 1 else y
    keys = y.astype(str) if y.dtype.kind == "O" else y
    positions = np.searchsorted(classes, keys)
    positions = np.clip(positions, 0, len(classes) - 1)
    if not np.all(classes[positions] == keys):
        unknown = sorted(set(np.asarray(keys)[classes[positions] != keys].tolist()))[:5]
        raise ValueError(f"`validation_data` has labels that `y` does not: {unknown}")
    return positions.astype("float32" if task == "binary" else "int32")


def _num_outputs(task: str, classes, y: np.ndarray) -> int:
    if task == "classification":
        return len(classes)
    if task == "binary":
        return 1
    return int(y.shape[1])
