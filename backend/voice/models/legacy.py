"""Models in the original project's format (``seed_model3.h5``): Keras HDF5, input ``(225, 40)`` MFCCs of a 44 kHz
signal cut or median-padded to 115,181 samples (``librosa.feature.mfcc(y, sr=44000, n_mfcc=40).T``), outputs
``{0: fear, 1: disgust ("negative": angry + disgust), 2: neutral (calm included), 3: happy, 4: sad, 5: surprise}``
and an untrained index 6.

Mapping into our 7 labels: the "negative" probability is split in equal halves between angry and disgust (the
model cannot tell them apart; an equal split keeps their sum, which is what the 6-way collapse compares); index 6
is dropped and the rest renormalised. :class:`LegacyVoiceModel` runs such a model behind :class:`VoiceModel`
(``legacy:PATH``).
"""

from __future__ import annotations

import hashlib
import math
import os
from pathlib import Path

import numpy as np

from backend.emotions import EMOTIONS
from backend.errors import ModelUnavailableError
from backend.model_info import ModelInfo

from .base import VoiceModel

SAMPLE_RATE = 44_000
LENGTH = 115_181
FRAMES, N_MFCC = 225, 40
LEGACY_LABELS = ("fear", "negative", "neutral", "happy", "sad", "surprise")


def to_ours(outputs: np.ndarray) -> np.ndarray:
    """(N, 7) legacy softmax outputs -> (N, 7) probabilities in EMOTIONS order."""
    p = np.asarray(outputs, dtype=np.float64)[:, :6]
    p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-12)
    ours = np.zeros((len(p), len(EMOTIONS)))
    for j, name in enumerate(LEGACY_LABELS):
        if name == "negative":
            ours[:, EMOTIONS.index("angry")] += p[:, j] / 2
            ours[:, EMOTIONS.index("disgust")] += p[:, j] / 2
        else:
            ours[:, EMOTIONS.index(name)] += p[:, j]
    return ours.astype(np.float32)


def fit_signal(y: np.ndarray) -> np.ndarray:
    """The original cut (the first 115,181 samples) or median padding (ceil of half the gap on both sides)."""
    if len(y) > LENGTH:
        return y[:LENGTH]
    if len(y) < LENGTH:
        y = np.pad(y, math.ceil((LENGTH - len(y)) / 2), mode="median")
    return y[:LENGTH]


def features(y44: np.ndarray) -> np.ndarray:
    import librosa

    return librosa.feature.mfcc(y=fit_signal(np.asarray(y44, dtype=np.float32)), sr=SAMPLE_RATE, n_mfcc=N_MFCC).T


class LegacyModel:
    def __init__(self, path: Path):
        os.environ.setdefault("KERAS_BACKEND", "torch")
        import keras

        self.path = Path(path)
        self._model = keras.saving.load_model(self.path, compile=False)
        shape = tuple(self._model.input_shape[1:])
        if shape != (FRAMES, N_MFCC):
            raise ValueError(f"{self.path} takes input {shape}, not the original (225, 40)")
        self.sha256 = hashlib.sha256(self.path.read_bytes()).hexdigest()

    def predict_features(self, x: np.ndarray, batch: int = 64) -> np.ndarray:
        """Our 7-label probabilities of (N, 225, 40) legacy features."""
        from backend.voice.head import predict

        if len(x) == 0:
            return np.zeros((0, len(EMOTIONS)), dtype=np.float32)
        return to_ours(np.concatenate([predict(self._model, x[s : s + batch]) for s in range(0, len(x), batch)]))

    def predict_signals(self, signals: list[np.ndarray], sample_rate: int) -> np.ndarray:
        import librosa

        x = [features(librosa.resample(np.asarray(s, np.float32), orig_sr=sample_rate, target_sr=SAMPLE_RATE))
             for s in signals]  # fmt: skip
        return self.predict_features(np.stack(x).astype(np.float32) if x else np.zeros((0, FRAMES, N_MFCC)))

    def predict_files(self, paths: list[Path]) -> np.ndarray:
        """The original preprocessing end to end: ``librosa.load(path, sr=44000)`` of each file."""
        import librosa

        x = [features(librosa.load(str(p), sr=SAMPLE_RATE)[0]) for p in paths]
        return self.predict_features(np.stack(x).astype(np.float32))


class LegacyVoiceModel(VoiceModel):
    """An original-format ``.h5`` (its 44 kHz, 115,181-sample, 225x40 MFCC preprocessing); its "negative" class
    is split equally between angry and disgust."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise ModelUnavailableError(f"legacy voice model not found at {path}", details={"model": str(path)})
        try:
            self._model = LegacyModel(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load {path} as an original-format voice model: {exc}",
                                        details={"model": str(path)}) from exc  # fmt: skip
        self.info = ModelInfo(role="voice_classifier", name=f"legacy/{path.name}", version="legacy",
                              source=str(path), sha256=self._model.sha256)  # fmt: skip

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        return self._model.predict_signals(windows, self.sample_rate)
