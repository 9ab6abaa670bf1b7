"""What is in an interval [start, end] of a file, and how much each thing in it counts: one rule for every question of
this kind (the fused windows, the double check, the timelines, the emotions of a transcript's words).

**The rule: a record counts by the time it shares with the interval** (overlap-weighted). A voice or fused window
spans its own [start, end]. A face seen in a sampled frame at ``t`` stands for the time around that frame, up to
halfway to the next sample either side: ``[t - h, t + h]``, ``h`` half the sampling interval (given, or the median
gap between the sampled times with a face). So a frame on the border of two windows counts half in each, a word
shorter than the sampling interval still gets the face that was on screen while it was said, and a face seen longer
in a window outweighs one seen briefly. Where nothing shares a positive time with the interval, at an instant (a
still image's one frame, or a file of one sampled frame), each record at that instant counts once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from backend.results import FaceObservation


class SpanIndex:
    """Records with a time span each, sorted once for many questions: which share time with [start, end]?"""

    def __init__(self, starts: Sequence[float] | np.ndarray, ends: Sequence[float] | np.ndarray):
        starts, ends = np.asarray(starts, dtype=np.float64), np.asarray(ends, dtype=np.float64)
        self._order = np.argsort(starts, kind="stable")
        self._starts, self._ends = starts[self._order], ends[self._order]
        self._longest = float((ends - starts).max()) if len(starts) else 0.0

    def overlap(self, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
        """The positions (in the order the spans were given) of the records in [start, end] and each one's weight:
        the seconds it shares with the interval, or 1 each for the records at an instant (see the module)."""
        lo = int(np.searchsorted(self._starts, start - self._longest, side="left"))
        hi = int(np.searchsorted(self._starts, end, side="right"))
        starts, ends = self._starts[lo:hi], self._ends[lo:hi]
        shared = np.minimum(ends, end) - np.maximum(starts, start)
        keep = shared > 0
        if not keep.any():  # an instant: a zero-length interval, or zero-length records lying in it
            keep = (shared == 0) & ((starts == ends) | (start == end))
            shared = keep.astype(np.float64)
        return self._order[lo:hi][keep], shared[keep]


def weighted_mean(vectors: Sequence[np.ndarray] | np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The mean of ``vectors`` (N, 7), each counted by its weight."""
    vectors = np.asarray(vectors, dtype=np.float64)
    return (vectors * weights[:, None]).sum(axis=0) / weights.sum()


def sampling_interval(times: Sequence[float] | np.ndarray) -> float:
    """The median gap between the distinct sampled times; 0 with fewer than two."""
    distinct = np.unique(np.asarray(times, dtype=np.float64))
    return float(np.median(np.diff(distinct))) if len(distinct) > 1 else 0.0


@dataclass(frozen=True)
class FaceInInterval:
    """One face in an interval."""

    face_id: int
    seconds: float  # the time it was seen there (at an instant: its frames there)
    probabilities: np.ndarray  # (7,): the mean of its frames there, each by the time it shares with the interval
    size: float  # the median short side (px) of its frames there


class FaceIndex:
    """Face observations, each standing for its frame's share of time (see the module), for many intervals."""

    def __init__(self, observations: Sequence[FaceObservation], frame_interval: float | None = None):
        self._observations = list(observations)
        times = np.array([o.t for o in self._observations], dtype=np.float64)
        half = (sampling_interval(times) if frame_interval is None else frame_interval) / 2
        self._spans = SpanIndex(times - half, times + half)

    def faces_in(self, start: float, end: float) -> list[FaceInInterval]:
        """Every face seen in [start, end], in the order of their ids."""
        positions, weights = self._spans.overlap(start, end)
        by_face: dict[int, list[tuple[FaceObservation, float]]] = defaultdict(list)
        for position, weight in zip(positions, weights):
            observation = self._observations[position]
            by_face[observation.face_id].append((observation, float(weight)))
        return [
            FaceInInterval(face_id, round(sum(w for _, w in own), 9),  # rounded: equal times tie exactly
                           weighted_mean([o.vector() for o, _ in own], np.array([w for _, w in own])),
                           float(np.median([min(o.box[2] - o.box[0], o.box[3] - o.box[1]) for o, _ in own])))
            for face_id, own in sorted(by_face.items())
        ]  # fmt: skip

    def dominant_face(self, start: float, end: float) -> FaceInInterval | None:
        """The face seen longest in [start, end] (ties: the lower id, the face tracked first); None when none was."""
        return min(self.faces_in(start, end), key=lambda face: (-face.seconds, face.face_id), default=None)
