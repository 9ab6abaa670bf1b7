"""Spectral features shared by training and run time (numpy + librosa only, no Keras).

A model's input is ``(frames, channels)``: 40 MFCCs (or, with ``kind="logmel"``, the 64 log-mel bands they are
computed from) of a 16 kHz signal, 32 ms windows every 10 ms, normalised per model input (each channel to zero
mean and unit variance over the segment the model sees, so a recording's level and microphone colour matter
less). Training caches the unnormalised features of whole utterances and normalises each crop; run time
normalises each window: the same rule on both sides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

EPS = 1e-5


@dataclass(frozen=True)
class FeatureParams:
    sample_rate: int = 16_000
    kind: str = "mfcc"  # "mfcc": the DCT of the log-mel bands, first n_mfcc kept; "logmel": the bands themselves
    n_mfcc: int = 40
    n_mels: int = 64
    n_fft: int = 512
    hop_length: int = 160
    fmin: float = 50.0
    fmax: float = 8000.0
    norm: str = "cmvn"  # per-input mean and variance per coefficient; "cmn": mean only; "none"
    trim_db: float = 30.0  # utterances are trimmed of leading/trailing silence quieter than peak - trim_db

    def to_dict(self) -> dict:
        return asdict(self)

    @property
    def channels(self) -> int:
        return self.n_mels if self.kind == "logmel" else self.n_mfcc

    def frames(self, seconds: float) -> int:
        return 1 + int(round(seconds * self.sample_rate)) // self.hop_length


def spectral_features(signals: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Unnormalised features, time-major: ``(frames, channels)`` for one signal, ``(N, frames, channels)`` for a
    batch of equal-length signals ``(N, samples)``.

    MFCCs are the same numbers as ``librosa.feature.mfcc`` of each signal on its own: the mel spectrogram is computed in
    one batched call, but the 80 dB floor of ``power_to_db`` is applied per signal (librosa's batched call would
    take it from the loudest signal of the whole batch, so one window would change the features of another).
    """
    import librosa
    import scipy.fft

    y = np.asarray(signals, dtype=np.float32)
    if y.shape[-1] < params.n_fft:
        y = np.pad(y, [(0, 0)] * (y.ndim - 1) + [(0, params.n_fft - y.shape[-1])])
    mel = librosa.feature.melspectrogram(y=y, sr=params.sample_rate, n_mels=params.n_mels, n_fft=params.n_fft,
                                         hop_length=params.hop_length, fmin=params.fmin, fmax=params.fmax)  # fmt: skip
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max(axis=(-2, -1), keepdims=True) - 80.0)
    if params.kind == "logmel":
        return np.swapaxes(db, -1, -2).astype(np.float32)
    features = scipy.fft.dct(db, axis=-2, type=2, norm="ortho")[..., : params.n_mfcc, :]
    return np.swapaxes(features, -1, -2).astype(np.float32)


def normalise(features: np.ndarray, params: FeatureParams) -> np.ndarray:
    """Per-input normalisation over time (axis -2) of ``(frames, channels)`` or ``(N, frames, channels)``."""
    x = np.asarray(features, dtype=np.float32)
    if params.norm == "none":
        return x
    x = x - x.mean(axis=-2, keepdims=True)
    if params.norm == "cmvn":
        x = x / (x.std(axis=-2, keepdims=True) + EPS)
    return x.astype(np.float32)


def trim(signal: np.ndarray, params: FeatureParams) -> np.ndarray:
    """The signal without leading and trailing silence (kept whole when it is all quiet)."""
    import librosa

    if len(signal) < params.n_fft:
        return signal
    trimmed, _ = librosa.effects.trim(signal, top_db=params.trim_db, frame_length=params.n_fft,
                                      hop_length=params.hop_length)  # fmt: skip
    return trimmed if len(trimmed) >= params.sample_rate // 4 else signal


def fit_length(features: np.ndarray, frames: int) -> np.ndarray:
    """Centre crop, or zero-pad at the end, ``(T, C)`` features to exactly ``frames`` rows."""
    t = len(features)
    if t >= frames:
        start = (t - frames) // 2
        return features[start : start + frames]
    return np.pad(features, ((0, frames - t), (0, 0)))
