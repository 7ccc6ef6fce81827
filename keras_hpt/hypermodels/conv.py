"""A ready HyperModel for small convolutional networks on images."""

from typing import Optional, Sequence

import keras
import keras_tuner

from keras_hpt._validation import check_number
from keras_hpt.hypermodels._space import check_range_spec
from keras_hpt.hypermodels.base import HyperModel
from keras_hpt.hypermodels.blocks import check_stack_arguments, conv_stack, dense_stack
from keras_hpt.hypermodels.mlp import check_input_shape, objective_for, output_head


class ConvHyperModel(HyperModel):
    """A small convnet whose blocks, filters, kernel, dropout, head and training are tuned.

    Convolution blocks (`conv_stack`) feed a global average pooling and a
    dense head (`dense_stack` with the `head_` prefix) before a softmax over
    `num_classes`. Block `i`'s filters and dropout exist only in trials with
    more than `i` blocks. Every range argument takes a `(low, high)` tuple, a
    list or a single value. Use `objective` as the tuner's objective.

    Args:
        input_shape: `(height, width, channels)`, or `(height, width)` for
            single-channel images.
        num_classes: Number of classes, at least 2.
        num_blocks: Convolution blocks. Defaults to `(1, 3)`.
        filters: Filters per block, log scale. Defaults to `(16, 128)`.
        kernel_size: Kernel size(s). Defaults to `[3, 5]`.
        dropout: Dropout after each block and head layer. Defaults to `(0.0, 0.5)`.
        batch_norm: Whether to normalise. Defaults to `[False, True]`.
        head_layers: Dense layers in the head, at least 1. Defaults to `1`.
        head_units: Width of the head's layers. Defaults to `(32, 256)`.
        name: Name of the HyperModel.
        **training_options: `TrainingSpace` arguments: `optimizers`,
            `learning_rate`, `weight_decay`, `momentum`, `batch_size`.

    Example:

    >>> hypermodel = keras_hpt.hypermodels.ConvHyperModel((8, 8), num_classes=10)
    >>> model = hypermodel.build(keras_tuner.HyperParameters())
    >>> model.input_shape, model.output_shape
    ((None, 8, 8), (None, 10))
    """

    def __init__(
        self,
        input_shape: Sequence[int],
        num_classes: int,
        *,
        num_blocks=(1, 3),
        filters=(16, 128),
        kernel_size=(3, 5),
        dropout=(0.0, 0.5),
        batch_norm=(False, True),
        head_layers=1,
        head_units=(32, 256),
        name: Optional[str] = None,
        **training_options,
    ):
        super().__init__(name=name, **training_options)
        shape = check_input_shape(input_shape)
        if len(shape) not in (2, 3):
            raise ValueError(
                "`input_shape` must be (height, width) or (height, width, channels). "
                f"Received: input_shape={input_shape!r}"
            )
        self.input_shape = shape
        self.num_classes = check_number("num_classes", num_classes, low=2, integer=True)
        batch_norm = list(batch_norm) if isinstance(batch_norm, tuple) else batch_norm
        (self.num_blocks, self.filters, self.dropout, _,
         self.batch_norm) = check_stack_arguments(
            "num_blocks", num_blocks, "filters", filters, dropout, "relu", batch_norm)
        kernel_size = list(kernel_size) if isinstance(kernel_size, tuple) else kernel_size
        self.kernel_size = check_range_spec("kernel_size", kernel_size, low=1, high=15,
                                            integer=True)
        self.head_layers, self.head_units = check_stack_arguments(
            "head_layers", head_layers, "head_units", head_units, dropout, "relu", batch_norm
        )[:2]

    @property
    def objective(self) -> keras_tuner.Objective:
        """The objective to give the tuner: validation accuracy."""
        return objective_for("classification")

    def build(self, hp) -> keras.Model:
        inputs = keras.Input(self.input_shape, name="images")
        x = inputs
        if len(self.input_shape) == 2:
            x = keras.layers.Reshape((*self.input_shape, 1), name="add_channel")(x)
        x = conv_stack(hp, x, num_blocks=self.num_blocks, filters=self.filters,
                       kernel_size=self.kernel_size, dropout=self.dropout,
                       batch_norm=self.batch_norm)
        x = keras.layers.GlobalAveragePooling2D(name="global_pool")(x)
        x = dense_stack(hp, x, num_layers=self.head_layers, units=self.head_units,
                        dropout=self.dropout, activation="relu", batch_norm=False,
                        prefix="head_")
        outputs, loss, metrics = output_head(hp, x, "classification", self.num_classes, None,
                                             None)
        model = keras.Model(inputs, outputs, name="convnet")
        return self.compile(hp, model, loss=loss, metrics=metrics)
