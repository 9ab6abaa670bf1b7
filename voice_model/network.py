"""The two architectures (Keras 3 on the torch backend), both ``(frames, 40 MFCC) -> 7 softmax``.

- ``baseline``: the original project's model (``seed_model3.h5``) as it was, on a fixed-length input of 225
  frames: Conv1D 256 k5 same, ReLU, MaxPool 8, Dropout 0.2, Conv1D 128 k5 same, ReLU, MaxPool 4, Dropout 0.1,
  Flatten, Dense 64 (linear), Dense 7, softmax (273,287 parameters, like the original).
- ``improved``: the same convolutions with shorter pools (4, 2) and global average + max pooling over time
  instead of Flatten, so any length works (run time feeds 2 s windows).
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402

from backend.voice.head import predict  # noqa: E402, F401  (one inference helper for every voice network)

BASELINE_FRAMES = 225


def baseline(n_features: int = 40, n_classes: int = 7, frames: int = BASELINE_FRAMES) -> keras.Model:
    layers = keras.layers
    return keras.Sequential([
        keras.Input((frames, n_features)),
        layers.Conv1D(256, 5, padding="same"), layers.Activation("relu"), layers.MaxPooling1D(8),
        layers.Dropout(0.2),
        layers.Conv1D(128, 5, padding="same"), layers.Activation("relu"), layers.MaxPooling1D(4),
        layers.Dropout(0.1),
        layers.Flatten(), layers.Dense(64), layers.Dense(n_classes), layers.Activation("softmax"),
    ], name="baseline")  # fmt: skip


def improved(n_features: int = 40, n_classes: int = 7, widths: tuple[int, ...] = (256, 128),
             pools: tuple[int, ...] = (4, 2), dropout: float = 0.3) -> keras.Model:  # fmt: skip
    """The original's convolutions (k5, ReLU, max-pool, dropout 0.2 / 0.1) with shorter pools, then global
    average + max pooling over time instead of Flatten, dropout, Dense 64, Dense 7 softmax. Any input length."""
    layers = keras.layers
    inputs = keras.Input((None, n_features))
    x = inputs
    for i, (width, pool) in enumerate(zip(widths, pools)):
        x = layers.Conv1D(width, 5, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(pool, padding="same")(x)
        x = layers.Dropout(0.2 if i == 0 else 0.1)(x)
    x = layers.Concatenate()([layers.GlobalAveragePooling1D()(x), layers.GlobalMaxPooling1D()(x)])
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(64)(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="improved")


ARCHITECTURES = {"baseline": baseline, "improved": improved}
