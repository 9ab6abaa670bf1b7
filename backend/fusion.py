"""Face against voice: the double check (window by window agreement; with the fused view, which modality it trusts
where they disagree, and why) and the echo mean (the whole file's mean emotion per modality and fused, weighted by
the time each observation stands for).

Agreement per window is the Bhattacharyya coefficient of the two probability vectors (1 = identical
distributions, 0 = disjoint), beside the plain question "same top label?", so a near-tie disagreement is told
apart from a confident contradiction.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .emotions import EMOTIONS
from .results import FaceObservation, FusedWindow, probabilities_dict


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
    trusted: str | None = None  # with the fused view: "face" or "voice", the modality with the larger weight
    fused_label: str | None = None
    reason: str | None = None


def _label(p: np.ndarray) -> tuple[str, float]:
    best = int(np.argmax(p))
    return EMOTIONS[best], round(float(p[best]), 4)


def _dominant_face(observations: list[FaceObservation]) -> int:
    """The face seen most often in the window (ties: the lower id, i.e. the face tracked first)."""
    counts = Counter(o.face_id for o in observations)
    return min(counts, key=lambda face_id: (-counts[face_id], face_id))


def _trust(check: WindowCheck, fused: FusedWindow) -> None:
    """Which modality the fused view leans on in this window, and the reliability facts that made it so."""
    check.trusted = "face" if fused.weights["face"] >= fused.weights["voice"] else "voice"
    check.fused_label = fused.label
    check.reason = (
        f"{check.trusted} carries {fused.weights[check.trusted]:.0%} of the fused evidence: the face is "
        f"{fused.face_size:.0f} px with confidence {check.face_confidence:.2f}; speech fills "
        f"{fused.speech_share or 0:.0%} of the window with voice confidence {check.voice_confidence:.2f}"
    )


def double_check(faces: Sequence[FaceObservation], voice: Sequence[VoiceSegment],
                 fused: Sequence[FusedWindow] = ()) -> dict:  # fmt: skip
    """Per speech window with a face in it: the dominant face's mean emotion against the voice's; with ``fused``,
    which of the two the fused view trusts."""
    by_window = {(w.start, w.end, w.face_id): w for w in fused if len(w.modalities) == 2}
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
        check = WindowCheck(round(segment.start, 3), round(segment.end, 3), face_id, face_label, face_conf,
                            voice_label, voice_conf, face_label == voice_label, round(score, 4))  # fmt: skip
        if (fused_window := by_window.get((check.start, check.end, face_id))) is not None:
            _trust(check, fused_window)
        checks.append(check)
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


def echo_mean(faces: Sequence[FaceObservation], voice: Sequence[VoiceSegment], max_gap: float = 1.0,
              fused: Sequence[FusedWindow] | None = None) -> dict:  # fmt: skip
    """The duration-weighted mean emotion of the whole file, for the faces (all faces together), the voice, and
    (when fused) the fused windows."""
    faces_by_id: dict[int, list] = defaultdict(list)
    for o in faces:
        faces_by_id[o.face_id].append((o.t, o.vector()))
    result = {"face": _lanes_mean(faces_by_id.values(), max_gap),
              "voice": _lanes_mean([[(s.start, s.probabilities) for s in voice]], _longest(voice))}  # fmt: skip
    if fused is not None:
        fused_by_id: dict[int | None, list] = defaultdict(list)
        for w in fused:
            fused_by_id[w.face_id].append((w.start, w.vector()))
        result["fused"] = _lanes_mean(fused_by_id.values(), _longest(fused))
    return result


def _longest(windows: Sequence[VoiceSegment] | Sequence[FusedWindow]) -> float:
    return max((w.end - w.start for w in windows), default=1.0) or 1.0


def _lanes_mean(lanes: Iterable[list[tuple[float, np.ndarray]]], cap: float) -> dict | None:
    """Each lane (a face, the voice) a time-ordered list of (time, probabilities); every sample stands for the time
    until the next one of its lane, at most ``cap``."""
    vectors, weights = [], []
    for lane in lanes:
        lane = sorted(lane, key=lambda item: item[0])
        if lane:
            vectors += [vector for _, vector in lane]
            weights.append(_time_weights(np.array([t for t, _ in lane]), cap))
    return _weighted_mean(np.array(vectors), np.concatenate(weights)) if vectors else None
