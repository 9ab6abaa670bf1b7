"""The test speakers heard at another recording gain, through the runtime's model: how much a model's labels follow
the microphone's level rather than the voice (``evaluate --gain-db``)."""

from __future__ import annotations

import numpy as np

from backend.config import get_settings
from backend.voice.models import get_voice_model

from .data import read_manifest, split_speakers
from .encoded import utterance_windows
from .scores import corpus_scores, headline


def recorded_at(signal: np.ndarray, gain_db: float) -> np.ndarray:
    """``signal`` as a 16-bit file would hold it had it been recorded ``gain_db`` louder: scaled, clipped at full
    scale and rounded to the 16-bit step, so a quiet recording loses its low bits as a real one does."""
    scaled = np.clip(signal * 10.0 ** (gain_db / 20.0), -1.0, 32767 / 32768)
    return (np.round(scaled * 32768) / 32768).astype(np.float32)


def scores_at_gain(name: str, gain_db: float) -> dict:
    """:func:`headline` figures of model ``name`` on the test speakers, each utterance recorded ``gain_db`` louder
    (:func:`recorded_at`) before its run-time windows are classified (an utterance's prediction is the mean of its
    windows')."""
    utterances = read_manifest()
    test = set(split_speakers(utterances)["test"])
    held = [u for u in utterances if u.speaker in test]
    model = get_voice_model(name, get_settings())
    probabilities = np.stack([model.predict([recorded_at(w, gain_db) for w in utterance_windows(u)]).mean(axis=0)
                              for u in held])  # fmt: skip
    return headline(corpus_scores(held, probabilities))
