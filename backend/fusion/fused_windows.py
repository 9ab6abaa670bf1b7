"""One answer per moment: per voice window (2 s every 1 s), per face seen in it (its frames each counted by the time
they share with the window, :mod:`backend.intervals`), the face's and the voice's emotion fused by the learned
combiner (:mod:`backend.fusion.combiner`). Where only one modality observed the window, the fused value is that
modality's own, and says so; windows with neither are left out.

A face is fused only with its own voice: where it is known whose face each speaker is (``face_of``,
``backend.people``), a speech window pairs with its speaker's face alone, and every other face in view keeps its own
value. Where it is not known (one voice and several faces), each speech window pairs with every face in view.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from backend.emotions import EMOTIONS
from backend.intervals import FaceIndex, FaceInInterval
from backend.results import FaceObservation, FusedWindow, VoiceRecord, probabilities_dict

from .combiner import FusionModel


def _window(start: float, end: float, face_id: int | None, probabilities: np.ndarray, modalities: list[str],
            face_share: float, face_size: float | None, voice: VoiceRecord | None) -> FusedWindow:  # fmt: skip
    best = int(np.argmax(probabilities))
    speech_share = None if voice is None or voice.speech_share is None else round(voice.speech_share, 3)
    return FusedWindow(start, end, face_id, modalities, probabilities_dict(probabilities), EMOTIONS[best],
                       round(float(probabilities[best]), 4),
                       {"face": round(face_share, 4), "voice": round(1.0 - face_share, 4)},
                       None if face_size is None else round(face_size, 1), speech_share,
                       None if voice is None else voice.speaker_id)  # fmt: skip


def _partners(record: VoiceRecord, seen: list[FaceInInterval], face_of: Mapping[str, int] | None) -> set[int]:
    """The faces in view that a speech window's voice is fused with: its speaker's own, or every one where whose face
    is whose is not known."""
    if face_of is None:
        return {face.face_id for face in seen}
    own = face_of.get(record.speaker_id) if record.speaker_id is not None else None
    return {face.face_id for face in seen if face.face_id == own}


def fuse(faces: Sequence[FaceObservation], voice: Sequence[VoiceRecord], model: FusionModel,
         bounds: Sequence[tuple[float, float]] = (),
         face_of: Mapping[str, int] | None = None) -> list[FusedWindow]:  # fmt: skip
    """Fused windows over the voice windows, or over ``bounds`` when the voice was not analysed (a face-only file:
    every fused value is then the face's own). ``face_of``: each speaker's face where known (see the module). All
    windows with both modalities go through the combiner at once."""
    index = FaceIndex(faces)
    windows = [(r.start, r.end, r) for r in voice] or [(start, end, None) for start, end in bounds]
    out: list[FusedWindow] = []
    both: list[tuple[int, VoiceRecord, FaceInInterval]] = []
    for start, end, record in windows:
        seen = index.faces_in(start, end)
        speech = record is not None and record.speech
        partners = _partners(record, seen, face_of) if speech else set()
        if speech and not partners:
            out.append(_window(start, end, None, record.vector(), ["voice"], 0.0, None, record))
        for face in seen:
            if face.face_id in partners:
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
                                face.size, record)  # fmt: skip
    return out
