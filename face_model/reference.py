"""The ``fer`` package's mini-Xception (``../shared/reference/fer_emotion_model.hdf5``), to compare against.

Loaded with Keras 3 on the torch backend (never TensorFlow: it crashes beside torch 2.14 at import).
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

# fer's output order is angry, disgust, fear, happy, sad, surprise, neutral; ours is alphabetical.
FER_TO_OURS = [0, 1, 2, 3, 6, 4, 5]
INPUT_SIZE = 64


def reference_path(data_dir: Path) -> Path:
    return data_dir.parent / "reference" / "fer_emotion_model.hdf5"


class FerReference:
    name = "fer mini-Xception (fer 25.10.3)"

    def __init__(self, path: Path):
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        self._model = keras.saving.load_model(path, compile=False)

    def predict_proba(self, gray_faces: np.ndarray, batch: int = 256) -> np.ndarray:
        """Probabilities in our EMOTIONS order for uint8 (N, H, W) faces, preprocessed as the fer package does."""
        resized = np.stack([cv2.resize(face, (INPUT_SIZE, INPUT_SIZE)) for face in gray_faces]).astype(np.float32)
        x = ((resized / 255.0 - 0.5) * 2.0)[..., None]
        out = np.concatenate([np.asarray(self._model.predict(x[s : s + batch], verbose=0))
                              for s in range(0, len(x), batch)])  # fmt: skip
        return out[:, FER_TO_OURS]
