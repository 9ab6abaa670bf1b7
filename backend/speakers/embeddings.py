"""Who a stretch of speech sounds like: one vector per short window, close for one voice and far for two.

The default is Resemblyzer's GE2E speaker encoder (Apache-2.0, the weights ship in its wheel: no download), a
3-layer LSTM over 40 mel bands of 1.6 s. Anything with ``window_seconds`` and ``embed`` can stand in for it (the
Whisper encoder frames the voice model already computes are a candidate not yet compared).
"""

from __future__ import annotations

import hashlib
import threading
from importlib.metadata import distribution
from pathlib import Path
from typing import Protocol

import numpy as np

from backend.model_info import ModelInfo
from backend.speakers.activity import SAMPLE_RATE

TARGET_DBFS = -30.0  # Resemblyzer's training level; every window is brought to it, so loudness says nothing
WEIGHTS_FILE = "resemblyzer/pretrained.pt"


class SpeakerEmbedder(Protocol):
    window_seconds: float

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``(N, D)`` unit vectors for ``(N, samples)`` float32 windows of ``window_seconds`` at 16 kHz."""
        ...


class GE2EEmbedder:
    """Resemblyzer's ``VoiceEncoder`` on the CPU, fed mel spectrograms computed as Resemblyzer computes them."""

    window_seconds = 1.6  # the encoder's "partial utterance": 160 mel frames of 10 ms

    def __init__(self) -> None:
        from resemblyzer.voice_encoder import VoiceEncoder

        self._encoder = VoiceEncoder(device="cpu", verbose=False).eval()
        package = distribution("resemblyzer")
        weights = Path(str(package.locate_file(WEIGHTS_FILE)))
        self.info = ModelInfo(role="speaker_encoder", name="resemblyzer-ge2e", version=package.version,
                              source=f"resemblyzer wheel, {WEIGHTS_FILE}",
                              sha256=hashlib.sha256(weights.read_bytes()).hexdigest())  # fmt: skip

    def embed(self, windows: np.ndarray) -> np.ndarray:
        import librosa
        import torch

        windows = np.asarray(windows, dtype=np.float32)
        rms = np.sqrt(np.mean(windows**2, axis=1, keepdims=True)) + 1e-9
        windows = windows * (10 ** (TARGET_DBFS / 20) / rms)
        mels = librosa.feature.melspectrogram(y=windows, sr=SAMPLE_RATE, n_fft=400, hop_length=160, n_mels=40)
        frames = int(self.window_seconds * 100)
        mels = np.ascontiguousarray(np.swapaxes(mels, 1, 2)[:, :frames], dtype=np.float32)
        with torch.inference_mode():
            return self._encoder(torch.from_numpy(mels)).numpy()


_embedder: GE2EEmbedder | None = None
_lock = threading.Lock()


def default_embedder() -> GE2EEmbedder:
    """One encoder per process, shared by the jobs (the weights are 17 MB; torch modules are safe to share for
    inference)."""
    global _embedder
    with _lock:
        if _embedder is None:
            _embedder = GE2EEmbedder()
        return _embedder
