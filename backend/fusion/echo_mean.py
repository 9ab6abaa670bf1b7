"""The echo mean: the whole file's mean emotion per modality (and fused), weighted by the time each observation
stands for."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from backend.emotions import top_label
from backend.results import FaceObservation, FusedWindow, probabilities_dict

if TYPE_CHECKING:
    from .double_check import VoiceSegment


def _time_weights(times: np.ndarray, cap: float) -> np.ndarray:
    """Each sample stands for the time until the next one (the last for the median gap), capped at ``cap``."""
    if len(times) == 1:
        return np.ones(1)
    gaps = np.diff(times)
    return np.minimum(np.append(gaps, np.median(gaps)), cap).clip(min=1e-3)


def _weighted_mean(vectors: np.ndarray, weights: np.ndarray) -> dict:
    mean = (vectors * weights[:, None]).sum(axis=0) / weights.sum()
    label, confidence = top_label(mean)
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
