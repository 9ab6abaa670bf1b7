"""The voice network over speech-encoder frames (Keras 3, torch backend), defined here so that the runtime
(``backend.voice.models``) and the training package (``voice_model``) build and load the same layers.

The seed's design kept: Conv1D layers over time, now over the frames of Whisper's encoder instead of MFCCs.
Input ``(frames, blocks, 512)``: the outputs of the chosen encoder blocks, mixed by learned softmax weights (one
block: the identity), normalised per frame (LayerNorm: a frame's own scale only, nothing taken from other windows
or from the speaker, so a file in which one person is angry throughout is not flattened), projected to
``channels`` per frame, two Conv1D layers, statistics pooling (mean and standard deviation over time), Dense,
7-way softmax. The projection first keeps a training epoch over five corpora at a few seconds on a 2-core CPU.
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402

PACKAGE = "emoclassify"


@keras.saving.register_keras_serializable(package=PACKAGE)
class BlockMix(keras.layers.Layer):
    """``(batch, frames, blocks, width) -> (batch, frames, width)``: a softmax-weighted sum of encoder blocks."""

    def build(self, input_shape):
        self.logits = self.add_weight(shape=(input_shape[-2],), initializer="zeros", name="logits")

    def call(self, x):
        weights = keras.ops.softmax(self.logits)
        return keras.ops.einsum("btkc,k->btc", x, weights)

    def compute_output_shape(self, input_shape):
        return input_shape[:2] + input_shape[3:]


@keras.saving.register_keras_serializable(package=PACKAGE)
class StatisticsPooling(keras.layers.Layer):
    """``(batch, frames, ...channels) -> (batch, ...2 * channels)``: mean and standard deviation over time."""

    def call(self, x):
        mean = keras.ops.mean(x, axis=1)
        std = keras.ops.sqrt(keras.ops.maximum(keras.ops.mean(keras.ops.square(x), axis=1) - mean**2, 1e-6))
        return keras.ops.concatenate([mean, std], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:1], *input_shape[2:-1], 2 * input_shape[-1])


def encoder_head(n_blocks: int, width: int = 512, n_classes: int = 7, channels: int = 128, hidden: int = 128,
                 dropout: float = 0.3, head: str = "conv") -> keras.Model:  # fmt: skip
    """Any number of frames; ``n_blocks`` encoder blocks per frame. ``head="linear"``: no mixing and no
    convolution, the statistics of every block read by one softmax layer (what a linear probe of the encoder
    does, trained by the same loop)."""
    if head == "linear":
        return _linear_head(n_blocks, width, n_classes, dropout)
    layers = keras.layers
    inputs = keras.Input((None, n_blocks, width))
    x = BlockMix(name="block_mix")(inputs)
    x = layers.LayerNormalization(name="frame_norm")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(channels, activation="relu", name="frame_projection")(x)
    x = layers.Conv1D(channels, 5, padding="same", activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Conv1D(channels, 3, padding="same", activation="relu")(x)
    x = StatisticsPooling(name="stats_pool")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="encoder_head")


def _linear_head(n_blocks: int, width: int, n_classes: int, dropout: float) -> keras.Model:
    layers = keras.layers
    inputs = keras.Input((None, n_blocks, width))
    x = layers.LayerNormalization(name="frame_norm")(inputs)  # each block of each frame on its own scale
    x = StatisticsPooling(name="stats_pool")(x)  # (batch, blocks, 2 * width)
    x = layers.Flatten()(x)
    x = layers.BatchNormalization(name="feature_norm")(x)  # the statistics on one scale, as a probe standardises
    x = layers.Dropout(dropout)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="encoder_linear_head")


def predict(model: keras.Model, batch: np.ndarray) -> np.ndarray:
    """Probabilities of a float32 batch, in inference mode, as numpy."""
    import torch

    with torch.no_grad():
        out = model(np.ascontiguousarray(batch, dtype=np.float32), training=False)
    return keras.ops.convert_to_numpy(out)
