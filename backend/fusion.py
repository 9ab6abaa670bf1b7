"""Face against voice: the double check (window by window agreement) and the echo mean (the whole file's mean
emotion per modality, weighted by the time each observation stands for).

Agreement per window is the Bhattacharyya coefficient of the two probability vectors (1 = identical
distributions, 0 = disjoint), beside the plain question "same top label?", so a near-tie disagreement is told
apart from a confident contradiction.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .emotions import EMOTIONS
from .results import FaceObservation, probabilities_dict


@dataclass(frozen=True)
class VoiceSegment:
    """The part of a voice window the fusion needs (kept here so fusion does not import the voice model)."""

    start: float
    end: float
    probabilities: np.ndarray  # speech windows only


@dataclass
class WindowCheck:
    start: float
    end: float
    face_id: int
    face_label: str
    face_confidence: float
    voice_label: str
    voice_confidence: float
    agree: bool
    score: float


def _label(p: np.ndarray) -> tuple[str, float]:
    best = int(np.argmax(p))
    return EMOTIONS[best], round(float(p[best]), 4)


def _dominant_face(observations: list[FaceObservation]) -> int:
    """The face seen most often in the window (ties: the lower id, i.e. the face tracked first)."""
    counts = Counter(o.face_id for o in observations)
    return min(counts, key=lambda face_id: (-counts[face_id], face_id))


def double_check(faces: Sequence[FaceObservation], voice: Sequence[VoiceSegment]) -> dict:
    """Per speech window with a face in it: the dominant face's mean emotion against the voice's."""
    checks: list[WindowCheck] = []
    ordered = sorted(faces, key=lambda o: o.t)
    times = np.array([o.t for o in ordered])
    skipped = 0
    for segment in voice:
        lo, hi = np.searchsorted(times, segment.start), np.searchsorted(times, segment.end)
        inside = ordered[lo:hi]
        if not inside:
            skipped += 1
            continue
        face_id = _dominant_face(inside)
        face_p = np.mean([o.vector() for o in inside if o.face_id == face_id], axis=0)
        face_label, face_conf = _label(face_p)
        voice_label, voice_conf = _label(segment.probabilities)
        score = float(np.sum(np.sqrt(np.clip(face_p, 0, None) * np.clip(segment.probabilities, 0, None))))
        checks.append(WindowCheck(round(segment.start, 3), round(segment.end, 3), face_id, face_label, face_conf,
                                  voice_label, voice_conf, face_label == voice_label, round(score, 4)))  # fmt: skip
    agreed = sum(c.agree for c in checks)
    return {
        "windows_compared": len(checks),
        "windows_without_face": skipped,
        "agreement_rate": round(agreed / len(checks), 4) if checks else None,
        "mean_score": round(float(np.mean([c.score for c in checks])), 4) if checks else None,
        "disagreements": [asdict(c) for c in checks if not c.agree],
        "windows": [asdict(c) for c in checks],
    }


def _time_weights(times: np.ndarray, cap: float) -> np.ndarray:
    """Each sample stands for the time until the next one (the last for the median gap), capped at ``cap``."""
    if len(times) == 1:
        return np.ones(1)
    gaps = np.diff(times)
    return np.minimum(np.append(gaps, np.median(gaps)), cap).clip(min=1e-3)


def _weighted_mean(vectors: np.ndarray, weights: np.ndarray) -> dict:
    mean = (vectors * weights[:, None]).sum(axis=0) / weights.sum()
    label, confidence = _label(mean)
    return {"dominant_emotion": label, "confidence": confidence, "probabilities": probabilities_dict(mean),
            "seconds": round(float(weights.sum()), 3)}  # fmt: skip


def echo_mean(faces: Sequence[FaceObservation], voice: Sequence[VoiceSegment], max_gap: float = 1.0) -> dict:
    """The duration-weighted mean emotion of the whole file, for the faces (all faces together) and the voice."""
    result: dict[str, dict | None] = {"face": None, "voice": None}
    if faces:
        vectors, weights = [], []
        for face_id in sorted({o.face_id for o in faces}):
            own = sorted((o for o in faces if o.face_id == face_id), key=lambda o: o.t)
            vectors += [o.vector() for o in own]
            weights.append(_time_weights(np.array([o.t for o in own]), max_gap))
        result["face"] = _weighted_mean(np.array(vectors), np.concatenate(weights))
    if voice:
        vectors = np.array([s.probabilities for s in voice])
        starts = np.array([s.start for s in voice])
        result["voice"] = _weighted_mean(vectors, _time_weights(starts, max(s.end - s.start for s in voice)))
    return result
