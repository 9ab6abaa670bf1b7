"""Voice emotion over a signal: the audio is cut into windows (default 2 s every 1 s), silence and non-speech sounds
are marked as such (never classified, never guessed), and speech windows are classified in batches by a voice model
(:mod:`backend.voice.models`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from backend.emotions import EMOTIONS

from .models.base import VoiceModel
from .speech_detection import VAD_MIN_FRACTION, speech_shares
from .windows import window_bounds


@dataclass(frozen=True)
class VoiceWindow:
    start: float  # seconds
    end: float
    speech: bool  # False = silence / no speech: never classified, never guessed
    probabilities: np.ndarray | None  # (7,) in EMOTIONS order; None when not speech
    speech_share: float = 0.0  # share of the window's 10 ms frames that are speech-like (speech: >= VAD_MIN_FRACTION)

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speech": self.speech,
                "speech_share": round(self.speech_share, 3),
                "probabilities": None if self.probabilities is None else
                {e: round(float(p), 4) for e, p in zip(EMOTIONS, self.probabilities)}}  # fmt: skip


def analyse_signal(signal: np.ndarray, sample_rate: int, model: VoiceModel, window: float = 2.0, hop: float = 1.0,
                   t0: float = 0.0) -> list[VoiceWindow]:  # fmt: skip
    """Windows over a mono signal with timestamps offset by ``t0``; speech windows classified in batches."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    if sample_rate != model.sample_rate and len(signal):
        import librosa

        signal = librosa.resample(signal, orig_sr=sample_rate, target_sr=model.sample_rate)
        sample_rate = model.sample_rate
    bounds = window_bounds(len(signal) / sample_rate, window, hop)
    shares = speech_shares(signal, sample_rate, window, hop)
    speech = [i for i in range(len(bounds)) if shares[i] >= VAD_MIN_FRACTION]
    segments = [signal[int(round(bounds[i][0] * sample_rate)) : int(round(bounds[i][1] * sample_rate))] for i in speech]
    probabilities = model.predict(segments) if segments else np.zeros((0, len(EMOTIONS)), dtype=np.float32)
    by_window = dict(zip(speech, probabilities))
    return [VoiceWindow(start=t0 + start, end=t0 + end, speech=i in by_window, probabilities=by_window.get(i),
                        speech_share=float(shares[i])) for i, (start, end) in enumerate(bounds)]  # fmt: skip
