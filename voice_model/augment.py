"""Augmentation. Waveform variants (speed, added noise) are computed once with the features and cached; at
training time each example is a random crop of a random variant with random gain and SpecAugment-style masks."""

from __future__ import annotations

import numpy as np

SNR_DB = (10.0, 30.0)  # range of the added noise's signal-to-noise ratio
# name -> (speed factor, add noise)
VARIANTS: dict[str, tuple[float, bool]] = {
    "clean": (1.0, False),
    "slow": (0.9, False),
    "fast": (1.1, False),
    "noisy": (1.0, True),
    "slow_noisy": (0.9, True),
    "fast_noisy": (1.1, True),
}


def coloured_noise(n: int, rng: np.random.Generator) -> np.ndarray:
    """White, pink or brown noise (random choice) of unit RMS."""
    exponent = rng.choice([0.0, 1.0, 2.0])
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    freqs = np.arange(n // 2 + 1, dtype=np.float64)
    freqs[0] = 1.0
    noise = np.fft.irfft(spectrum / freqs ** (exponent / 2), n)
    return (noise / (np.sqrt(np.mean(noise**2)) + 1e-12)).astype(np.float32)


def apply_variant(signal: np.ndarray, variant: str, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """The signal sped up or slowed down (resampling: tempo and pitch together) and/or with noise at 10-30 dB SNR."""
    speed, noisy = VARIANTS[variant]
    y = signal
    if speed != 1.0:
        import librosa

        y = librosa.resample(y, orig_sr=sample_rate, target_sr=int(round(sample_rate / speed)), res_type="soxr_hq")
    if noisy:
        snr_db = rng.uniform(*SNR_DB)
        power = np.mean(y**2) + 1e-10
        y = y + coloured_noise(len(y), rng) * np.sqrt(power / 10 ** (snr_db / 10))
    return y.astype(np.float32)


def random_crop(features: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """A random crop of at most ``frames`` rows (time shift); shorter inputs are returned whole."""
    t = len(features)
    if t <= frames:
        return features
    start = int(rng.integers(0, t - frames + 1))
    return features[start : start + frames]


def random_pad(features: np.ndarray, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Normalised features shorter than ``frames`` placed at a random offset in zeros (the normalised mean)."""
    t = len(features)
    if t >= frames:
        return features
    out = np.zeros((frames, features.shape[1]), dtype=features.dtype)
    start = int(rng.integers(0, frames - t + 1))
    out[start : start + t] = features
    return out


def spec_augment(x: np.ndarray, rng: np.random.Generator, time_masks: int = 2, time_width: int = 20,
                 coef_masks: int = 1, coef_width: int = 6) -> np.ndarray:  # fmt: skip
    """Zero (the normalised mean) a few random time spans and coefficient bands of ``(T, C)`` features."""
    x = x.copy()
    t, c = x.shape
    for _ in range(time_masks):
        width = int(rng.integers(0, time_width + 1))
        start = int(rng.integers(0, max(1, t - width)))
        x[start : start + width] = 0.0
    for _ in range(coef_masks):
        width = int(rng.integers(0, coef_width + 1))
        start = int(rng.integers(1, max(2, c - width)))
        x[:, start : start + width] = 0.0
    return x
