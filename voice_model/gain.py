"""The test speakers heard at another recording gain, through the runtime's model: how much a model's labels follow
the microphone's level rather than the voice (``evaluate --gain-db``)."""

from __future__ import annotations

import numpy as np

from backend.config import get_settings
from backend.voice.models import get_voice_model

from .data import read_manifest, split_speakers
from .encoded import utterance_windows
from .scores import corpus_scores, headline


def scores_at_gain(name: str, gain_db: float) -> dict:
    """:func:`headline` figures of model ``name`` on the test speakers, each utterance scaled by ``gain_db`` before
    its run-time windows are classified (an utterance's prediction is the mean of its windows')."""
    utterances = read_manifest()
    test = set(split_speakers(utterances)["test"])
    held = [u for u in utterances if u.speaker in test]
    model = get_voice_model(name, get_settings())
    scale = np.float32(10.0 ** (gain_db / 20.0))
    probabilities = np.stack([model.predict([w * scale for w in utterance_windows(u)]).mean(axis=0) for u in held])
    return headline(corpus_scores(held, probabilities))
