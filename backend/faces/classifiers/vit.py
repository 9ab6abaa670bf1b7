"""Optional classifier: a ViT (default ``trpakov/vit-face-expression``) through transformers.

Loaded from a local folder or the Hugging Face cache only (``local_files_only``) unless downloads are allowed
in the settings, so an offline machine gets a clear message instead of a hang.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.errors import ModelUnavailableError
from backend.model_info import ModelInfo

from .base import FaceClassifier

LABEL_ALIASES = {"anger": "angry", "happiness": "happy", "sadness": "sad", "surprised": "surprise", "fearful": "fear"}


def _emotion_order(id2label: dict[int, str]) -> list[int]:
    """For each of our EMOTIONS, the index of the model's output that means it."""
    names = {LABEL_ALIASES.get(label.lower(), label.lower()): int(i) for i, label in id2label.items()}
    missing = [e for e in EMOTIONS if e not in names]
    if missing:
        raise ModelUnavailableError(
            f"the ViT's labels {sorted(id2label.values())} lack {missing}; it can't be used as a face model"
        )
    return [names[e] for e in EMOTIONS]


class VitClassifier(FaceClassifier):
    def __init__(self, settings: Settings, batch_size: int = 16):
        source = settings.vit_model
        try:
            import torch
            from transformers import AutoImageProcessor, AutoModelForImageClassification

            local_only = not settings.allow_downloads
            self._processor = AutoImageProcessor.from_pretrained(source, local_files_only=local_only)
            self._model = AutoModelForImageClassification.from_pretrained(source, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            where = source if Path(source).is_dir() else f"the Hugging Face cache (model id '{source}')"
            raise ModelUnavailableError(
                f"face model 'vit' could not be loaded from {where}: {str(exc).splitlines()[0]}. "
                "Put the model in a local folder and set EMOCLASSIFY_VIT_MODEL to it, or allow downloads with "
                "EMOCLASSIFY_ALLOW_DOWNLOADS=1, or use --face-model cnn.",
                details={"model": "vit", "source": source},
            ) from exc
        self._torch = torch
        self._model.eval().to(settings.device)
        self._device = settings.device
        self._order = _emotion_order(self._model.config.id2label)
        self._batch_size = batch_size
        digest = hashlib.sha256(str(sorted(self._model.config.to_dict().items())).encode()).hexdigest()
        self.info = ModelInfo(
            role="face_classifier",
            name="vit",
            version=getattr(self._model.config, "_commit_hash", None) or "local",
            source=source,
            sha256=digest,
        )

    def predict(self, faces: list[np.ndarray], sizes: Sequence[float] | None = None) -> np.ndarray:
        out = []  # one calibration at every size: the ViT's own
        with self._torch.no_grad():
            for start in range(0, len(faces), self._batch_size):
                inputs = self._processor(images=list(faces[start : start + self._batch_size]), return_tensors="pt")
                logits = self._model(**{k: v.to(self._device) for k, v in inputs.items()}).logits
                out.append(self._torch.softmax(logits, dim=1)[:, self._order].cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(EMOTIONS)), dtype=np.float32)
