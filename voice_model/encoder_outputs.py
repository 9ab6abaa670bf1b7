"""An encoder network's outputs over encoded windows (:mod:`voice_model.encoded`), per window and per utterance: what
training, the probe and evaluation all read."""

from __future__ import annotations

import numpy as np

from backend.voice.head import predict
from backend.voice.windows import equal_length_batches

from .encoded import EncodedWindows


def window_outputs(model, encoded: EncodedWindows, windows: np.ndarray, blocks: tuple[int, ...]) -> np.ndarray:
    """``(len(windows), model outputs)``: each window whole, batched by equal length."""
    out = np.zeros((len(windows), model.output.shape[-1]), dtype=np.float32)
    for chunk in equal_length_batches(encoded.lengths[windows], 128):
        out[chunk] = predict(model, np.stack([encoded.window(int(windows[i]), blocks) for i in chunk]))
    return out


def utterance_means(values: np.ndarray, owner: np.ndarray, utterance_ids: np.ndarray) -> np.ndarray:
    """``(len(utterance_ids), ...)``: the mean of the rows of ``values`` whose ``owner`` is each utterance."""
    return np.stack([values[owner == i].mean(axis=0) for i in utterance_ids])


def utterance_probabilities(model, encoded: EncodedWindows, utterance_ids: np.ndarray, blocks) -> np.ndarray:
    """``(len(utterance_ids), 7)``: the mean of each utterance's window probabilities."""
    windows = encoded.subset(utterance_ids)
    return utterance_means(window_outputs(model, encoded, windows, blocks), encoded.utterance_index[windows],
                           utterance_ids)  # fmt: skip
