"""One answer per moment: per voice window (2 s every 1 s), per face seen in it (its frames each counted by the time
they share with the window, :mod:`backend.intervals`), the face's and the voice's emotion fused by the learned
combiner (:mod:`backend.fusion.combiner`). Where only one modality observed the window, the fused value is that
modality's own, and says so; windows with neither are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from backend.emotions import EMOTIONS
from backend.intervals import FaceIndex, FaceInInterval
from backend.results import FaceObservation, FusedWindow, VoiceRecord, probabilities_dict

from .combiner import FusionModel


def _window(start: float, end: float, face_id: int | None, probabilities: np.ndarray, modalities: list[str],
            face_share: float, face_size: float | None, speech_share: float | None) -> FusedWindow:  # fmt: skip
    best = int(np.argmax(probabilities))
    return FusedWindow(start, end, face_id, modalities, probabilities_dict(probabilities), EMOTIONS[best],
                       round(float(probabilities[best]), 4),
                       {"face": round(face_share, 4), "voice": round(1.0 - face_share, 4)},
                       None if face_size is None else round(face_size, 1),
                       None if speech_share is None else round(speech_share, 3))  # fmt: skip


def fuse(faces: Sequence[FaceObservation], voice: Sequence[VoiceRecord], model: FusionModel,
         bounds: Sequence[tuple[float, float]] = ()) -> list[FusedWindow]:  # fmt: skip
    """Fused windows over the voice windows, or over ``bounds`` when the voice was not analysed (a face-only file:
    every fused value is then the face's own). All windows with both modalities go through the combiner at once."""
    index = FaceIndex(faces)
    windows = [(r.start, r.end, r) for r in voice] or [(start, end, None) for start, end in bounds]
    out: list[FusedWindow] = []
    both: list[tuple[int, VoiceRecord, FaceInInterval]] = []
    for start, end, record in windows:
        seen = index.faces_in(start, end)
        speech = record is not None and record.speech
        if speech and not seen:
            out.append(_window(start, end, None, record.vector(), ["voice"], 0.0, None, record.speech_share))
        for face in seen:
            if speech:
                both.append((len(out), record, face))
                out.append(None)  # type: ignore[arg-type]  # filled below, in one batch
            else:
                out.append(_window(start, end, face.face_id, face.probabilities, ["face"], 1.0, face.size, None))
    if both:
        share = np.array([1.0 if r.speech_share is None else r.speech_share for _, r, _ in both])
        fused = model.fuse(np.array([f.probabilities for _, _, f in both]), np.array([f.size for _, _, f in both]),
                           np.array([r.vector() for _, r, _ in both]), share)  # fmt: skip
        for (slot, record, face), p, face_share in zip(both, fused.probabilities, fused.face_share):
            out[slot] = _window(record.start, record.end, face.face_id, p, ["face", "voice"], float(face_share),
                                face.size, record.speech_share)  # fmt: skip
    return out
