"""The face model's temperature by face size: a small face in a video has lost the detail its expression is
read from, and the network, trained on 48 px faces, does not grow unsure as fast as it grows wrong (the fusion
card measures it). One temperature multiplier is fitted for each size of ``video_views.FACE_SIZES`` on the
faces of ``train`` held aside (never trained on; ``train --holdout``), each seen as a video delivers it at that
size, through the runtime classifier itself; the runtime interpolates between them (``size_scale``).

The multipliers are relative to the full-size face's, so the model's own temperature (fitted on ``val`` by its
card) still holds for large faces.
"""

from __future__ import annotations

import numpy as np

from backend.config import get_settings
from backend.faces import cnn_store as store
from backend.faces.classifiers.cnn import CnnClassifier

from .evaluate import fit_temperature
from .train import held_aside_faces
from .video_views import FACE_SIZES, VIEW_OFFSETS, seen_at

BATCH = 512  # crops per run of the classifier: memory stays flat over the 14,000 views of a size


def fit_size_temperatures(name: str, holdout: float) -> dict[str, float]:
    """Multipliers of the model's temperature by face short side (px), fitted on the holdout seen at each size
    (the negative log-likelihood of the runtime's own probabilities, read as logits)."""
    aside = held_aside_faces(holdout)
    faces, labels = aside.images, np.repeat(aside.labels, len(VIEW_OFFSETS))
    classifier = CnnClassifier(get_settings().replace(cnn_model_name=name))
    fitted = {}
    for size in FACE_SIZES:
        views = [seen_at(face, size, offset) for face in faces for offset in VIEW_OFFSETS]
        probabilities = np.concatenate([classifier.predict(views[s : s + BATCH]) for s in range(0, len(views), BATCH)])
        log_probabilities = np.log(np.clip(probabilities, 1e-12, 1.0)).astype(np.float64)
        fitted[size] = fit_temperature(log_probabilities, labels)
    full = fitted[max(FACE_SIZES)]
    return {str(size): round(value / full, 3) for size, value in sorted(fitted.items())}


def calibrate(name: str, holdout: float) -> dict[str, float]:
    """Fit the multipliers and write them into the model's ``model.json``, where the runtime reads them (the fit
    reads the classifier without sizes, so a table already there plays no part in it)."""
    meta = store.read_meta(name)
    meta.size_temperatures = fit_size_temperatures(name, holdout)
    store.write_meta(meta)
    return meta.size_temperatures
