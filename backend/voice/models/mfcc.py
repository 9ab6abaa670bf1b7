"""The first shipped voice models: 40 MFCCs per window, normalised per window, through a Keras network. They stay
Keras at run time (see :data:`backend.voice.store.GRAPH_ARCHITECTURES`)."""

from __future__ import annotations

import numpy as np

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.voice import store
from backend.voice.windows import equal_length_batches

from .base import VoiceModel
from .shipped import shipped_info

BATCH = 64


class MfccVoiceModel(VoiceModel):
    """A shipped MFCC model (``voice_model/models/<name>``)."""

    def __init__(self, name: str, settings: Settings):
        self._meta, self.info = shipped_info(name, settings, "model.keras")
        self._model, _ = store.load(name, settings.voice_model_dir)
        self.sample_rate = self._meta.features.sample_rate

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        from backend.voice.features import fit_length, normalise, spectral_features
        from backend.voice.head import predict

        out = np.zeros((len(windows), len(EMOTIONS)), dtype=np.float32)
        params = self._meta.features
        for chunk in equal_length_batches(map(len, windows), BATCH):
            # Batched, with the 80 dB floor applied per window (see backend.voice.features.spectral_features).
            x = normalise(spectral_features(np.stack([windows[i] for i in chunk]), params), params)
            if self._meta.input_frames:
                x = np.stack([fit_length(f, self._meta.input_frames) for f in x])
            out[chunk] = predict(self._model, x)
        return out
