"""Building blocks for `build(hp)`: stacks of layers whose shape is tuned.

Each block takes the trial's `hp` and a tensor and returns a tensor. Layer
`i`'s hyperparameters live in a `conditional_scope` of the layer count, so
they exist only in trials that have that layer.
"""

import keras

from keras_hpt.hypermodels._space import (
    check_choice_spec,
    check_range_spec,
    choice_hp,
    float_hp,
    int_hp,
)

ACTIVATIONS = ("relu", "gelu", "swish", "elu", "tanh", "selu", "leaky_relu")


def _counts(spec) -> list:
    """Every value a count specification can take."""
    if isinstance(spec, tuple):
        return list(range(int(spec[0]), int(spec[1]) + 1))
    return list(spec) if isinstance(spec, list) else [int(spec)]


def check_stack_arguments(count_name, count, width_name, width, dropout, activation, batch_norm):
    """Validates a stack's specifications; returns them normalised, in the same order."""
    return (
        check_range_spec(count_name, count, low=1, high=64, integer=True),
        check_range_spec(width_name, width, low=1, integer=True),
        check_range_spec("dropout", dropout, low=0, high=1, high_open=True),
        check_choice_spec("activation", activation, ACTIVATIONS),
        check_choice_spec("batch_norm", batch_norm, (False, True)),
    )


def _block(x, layer, normalise: bool, activation: str, rate: float, prefix: str, index: int,
           pool: bool = False):
    """`layer`, then batch normalisation, activation, 2x2 max pooling and dropout as asked.

    Pooling is skipped once the feature map is less than 2 pixels high or wide.
    """
    x = layer(x)
    if normalise:
        x = keras.layers.BatchNormalization(name=f"{prefix}norm_{index}")(x)
    x = keras.layers.Activation(activation, name=f"{prefix}activation_{index}")(x)
    if pool and min(x.shape[1], x.shape[2]) >= 2:
        x = keras.layers.MaxPooling2D(2, name=f"{prefix}pool_{index}")(x)
    if rate > 0:
        x = keras.layers.Dropout(rate, name=f"{prefix}dropout_{index}")(x)
    return x


def _layer_scope(hp, count_hp_name, counts, index):
    """The scope in which layer `index` exists: trials with more than `index` layers."""
    return hp.conditional_scope(count_hp_name, [c for c in counts if c > index])


def dense_stack(hp, x, *, num_layers=(1, 3), units=(16, 256), dropout=(0.0, 0.5),
                activation=["relu", "gelu"], batch_norm=[False, True], prefix=""):
    """A stack of `Dense` layers with tuned depth, widths, dropout and normalisation.

    Hyperparameters (names start with `prefix`): `num_layers`; per layer
    `units_i` (log scale) and `dropout_i`; `activation` and `batch_norm` for
    the whole stack. Each argument is a `(low, high)` range, a list of
    choices or a fixed value.

    Args:
        hp: The trial's `keras_tuner.HyperParameters`.
        x: The input tensor.
        num_layers: Number of hidden layers, at least 1.
        units: Width of each layer.
        dropout: Dropout rate after each layer, in [0, 1).
        activation: Activation name(s).
        batch_norm: Whether to normalise before the activation.
        prefix: Prefix for the hyperparameter names, to use several stacks.

    Returns:
        The output tensor of the stack.

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> inputs = keras.Input((64,))
    >>> outputs = keras_hpt.hypermodels.dense_stack(hp, inputs, num_layers=2, units=32)
    >>> sorted(hp.values)
    ['activation', 'batch_norm', 'dropout_0', 'dropout_1', 'num_layers', 'units_0', 'units_1']
    """
    num_layers, units, dropout, activation, batch_norm = check_stack_arguments(
        "num_layers", num_layers, "units", units, dropout, activation, batch_norm
    )
    count = int_hp(hp, f"{prefix}num_layers", num_layers)
    activation = choice_hp(hp, f"{prefix}activation", activation, default="relu")
    normalise = choice_hp(hp, f"{prefix}batch_norm", batch_norm, default=False)
    counts = _counts(num_layers)
    for i in range(max(counts)):
        with _layer_scope(hp, f"{prefix}num_layers", counts, i):
            width = int_hp(hp, f"{prefix}units_{i}", units, sampling="log")
            rate = float_hp(hp, f"{prefix}dropout_{i}", dropout)
        if i >= count:
            continue
        layer = keras.layers.Dense(width, use_bias=not normalise, name=f"{prefix}hidden_{i}")
        x = _block(x, layer, normalise, activation, rate, f"{prefix}hidden_", i)
    return x


def conv_stack(hp, x, *, num_blocks=(1, 3), filters=(16, 128), kernel_size=[3, 5],
               dropout=(0.0, 0.5), activation="relu", batch_norm=[False, True], prefix="conv_"):
    """Blocks of `Conv2D` (+ normalisation) + activation + max pooling + dropout.

    Hyperparameters (names start with `prefix`): `num_blocks`; per block
    `filters_i` (log scale) and `dropout_i`; `kernel_size`, `activation` and
    `batch_norm` for the whole stack. A block pools only while the feature
    map is at least 2 pixels high and wide, so small images are safe.

    Args:
        hp: The trial's `keras_tuner.HyperParameters`.
        x: A 4-D input tensor `(batch, height, width, channels)`.
        num_blocks: Number of convolution blocks, at least 1.
        filters: Filters of each block's convolution.
        kernel_size: Kernel size(s) of the convolutions.
        dropout: Dropout rate after each block, in [0, 1).
        activation: Activation name(s).
        batch_norm: Whether to normalise before the activation.
        prefix: Prefix for the hyperparameter names.

    Returns:
        The output tensor of the stack (still 4-D).

    Example:

    >>> hp = keras_tuner.HyperParameters()
    >>> outputs = keras_hpt.hypermodels.conv_stack(hp, keras.Input((8, 8, 1)), num_blocks=1)
    >>> tuple(outputs.shape[1:3])
    (4, 4)
    """
    num_blocks, filters, dropout, activation, batch_norm = check_stack_arguments(
        "num_blocks", num_blocks, "filters", filters, dropout, activation, batch_norm
    )
    kernel_size = check_range_spec("kernel_size", kernel_size, low=1, high=15, integer=True)
    count = int_hp(hp, f"{prefix}num_blocks", num_blocks)
    kernel = int_hp(hp, f"{prefix}kernel_size", kernel_size, default=3)
    activation = choice_hp(hp, f"{prefix}activation", activation, default="relu")
    normalise = choice_hp(hp, f"{prefix}batch_norm", batch_norm, default=False)
    counts = _counts(num_blocks)
    for i in range(max(counts)):
        with _layer_scope(hp, f"{prefix}num_blocks", counts, i):
            width = int_hp(hp, f"{prefix}filters_{i}", filters, sampling="log")
            rate = float_hp(hp, f"{prefix}dropout_{i}", dropout)
        if i >= count:
            continue
        layer = keras.layers.Conv2D(width, kernel, padding="same", use_bias=not normalise,
                                    name=f"{prefix}{i}")
        x = _block(x, layer, normalise, activation, rate, prefix, i, pool=True)
    return x
