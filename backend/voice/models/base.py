"""The one interface every voice classifier implements."""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from backend.model_info import ModelInfo


class VoiceModel(ABC):
    info: ModelInfo
    components: tuple[ModelInfo, ...] = ()  # models it runs on top of (the speech encoder), listed in the result
    sample_rate: int = 16_000

    @abstractmethod
    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        """Probabilities (N, 7) in ``EMOTIONS`` order for N mono float32 signals at :attr:`sample_rate`."""
