"""The one interface every face-expression classifier implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from backend.model_info import ModelInfo


class FaceClassifier(ABC):
    info: ModelInfo
    components: tuple[ModelInfo, ...] = ()  # further models it runs on some faces, recorded beside ``info``

    @abstractmethod
    def predict(self, faces: list[np.ndarray], sizes: Sequence[float] | None = None) -> np.ndarray:
        """Probabilities (N, 7) in ``EMOTIONS`` order for N RGB uint8 face crops of any size. ``sizes``: each
        face's short side in its frame (px), before cropping scaled it; a classifier calibrated by face size
        (a small face's detail is lost, so its expression is less certain than the crop suggests) uses them."""
