"""Speech detection (frame level, 25 ms frames every 10 ms): a frame is speech-like when it is loud enough in
absolute terms (a level a quiet microphone still reaches), clearly above the recording's own noise floor (its
10th-percentile frame energy), and its 100-4000 Hz spectrum is neither as flat as noise nor as peaked as a pure tone;
a window is speech when enough of its frames are. A steady tone or steady noise never rises above its own floor, so
it is never speech."""

from __future__ import annotations

import numpy as np

from .windows import window_bounds

VAD_FRAME, VAD_HOP = 0.025, 0.010
# dBFS: below it a frame is taken for the quiet of the medium, never speech. Low enough for speech recorded 30 dB
# under RAVDESS's quietest (about -75 dBFS in its loudest frames); the floor and flatness tests do the rest.
VAD_MIN_DB = -85.0
VAD_ABOVE_FLOOR_DB = 8.0
VAD_FLATNESS = (1e-4, 0.35)
VAD_MIN_FRACTION = 0.2
VAD_CHUNK_FRAMES = 500  # frames whose spectra are computed at once (5 s)


def _frame_features(signal: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame level (dBFS) and spectral flatness in 100-4000 Hz, computed :data:`VAD_CHUNK_FRAMES` frames at a
    time: the frames' spectra of a whole 60 s block at once took 54 MB, and the analysis's peak memory grew with it."""
    size, step = int(VAD_FRAME * sample_rate), int(VAD_HOP * sample_rate)
    if len(signal) < size:
        signal = np.pad(signal, (0, size - len(signal)))
    every = np.lib.stride_tricks.sliding_window_view(signal, size)[::step]
    parts = [
        _chunk_features(every[i : i + VAD_CHUNK_FRAMES], sample_rate) for i in range(0, len(every), VAD_CHUNK_FRAMES)
    ]
    return np.concatenate([level for level, _ in parts]), np.concatenate([flatness for _, flatness in parts])


def _chunk_features(frames: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    import scipy.fft

    size = frames.shape[1]
    frames = frames - frames.mean(axis=1, keepdims=True)
    level = 10 * np.log10(np.mean(frames**2, axis=1, dtype=np.float64) + 1e-12)
    n_fft = 1 << (size - 1).bit_length()
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    in_band = (freqs >= 100) & (freqs <= min(4000, sample_rate / 2))
    spectrum = scipy.fft.rfft(frames * np.hanning(size).astype(np.float32), n_fft, axis=1, workers=-1)[:, in_band]
    band = spectrum.real**2 + spectrum.imag**2 + 1e-12
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    return level + 3.01, flatness  # +3 dB: a full-scale sine reads 0 dBFS


def speech_shares(signal: np.ndarray, sample_rate: int, window: float = 2.0, hop: float = 1.0) -> np.ndarray:
    """One fraction per window of :func:`window_bounds`: the share of its frames that are speech-like. Beside the
    yes/no of :func:`speech_mask`, it tells the fusion how much of a speech window the voice really heard."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    bounds = window_bounds(len(signal) / sample_rate, window, hop)
    if not bounds:
        return np.zeros(0, dtype=np.float32)
    level, flatness = _frame_features(signal, sample_rate)
    floor = np.percentile(level, 10)
    voiced = ((level >= VAD_MIN_DB) & (level >= floor + VAD_ABOVE_FLOOR_DB)
              & (flatness >= VAD_FLATNESS[0]) & (flatness <= VAD_FLATNESS[1]))  # fmt: skip
    centres = (np.arange(len(level)) * VAD_HOP) + VAD_FRAME / 2
    shares = np.zeros(len(bounds), dtype=np.float32)
    for i, (start, end) in enumerate(bounds):
        inside = (centres >= start) & (centres < end)
        shares[i] = voiced[inside].mean() if inside.any() else 0.0
    return shares


def speech_mask(signal: np.ndarray, sample_rate: int, window: float = 2.0, hop: float = 1.0) -> np.ndarray:
    """One bool per window of :func:`window_bounds`: does the window contain speech?"""
    return speech_shares(signal, sample_rate, window, hop) >= VAD_MIN_FRACTION
