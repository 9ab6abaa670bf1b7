"""Stable ``face_id`` per person across frames: greedy matching of boxes to live tracks by overlap.

Talking-head and interview video rarely needs more: a face moves little between samples a fraction of a
second apart. Where overlap fails (fast motion), a centre within one box-width still matches. A track that
has not been seen for ``max_gap`` seconds is closed, so a person who leaves and comes back may get a new id.
"""

from __future__ import annotations

from dataclasses import dataclass

from .detector import FaceBox, iou


def _centre_distance(a: FaceBox, b: FaceBox) -> float:
    """Distance of the centres in units of the larger box width."""
    dx = (a.x1 + a.x2 - b.x1 - b.x2) / 2
    dy = (a.y1 + a.y2 - b.y1 - b.y2) / 2
    return (dx * dx + dy * dy) ** 0.5 / max(a.width, b.width, 1.0)


@dataclass
class _Track:
    face_id: int
    box: FaceBox
    last_seen: float


class FaceTracker:
    def __init__(self, min_iou: float = 0.25, max_centre_distance: float = 1.0, max_gap: float = 2.0):
        self.min_iou = min_iou
        self.max_centre_distance = max_centre_distance
        self.max_gap = max_gap
        self._tracks: list[_Track] = []
        self._next_id = 0

    def assign(self, t: float, faces: list[FaceBox]) -> list[int]:
        """Face ids for the faces of the frame at time ``t`` (frames must come in time order)."""
        self._tracks = [track for track in self._tracks if t - track.last_seen <= self.max_gap]
        candidates = []
        for fi, face in enumerate(faces):
            for ti, track in enumerate(self._tracks):
                overlap = iou(face, track.box)
                distance = _centre_distance(face, track.box)
                if overlap >= self.min_iou or distance <= self.max_centre_distance:
                    candidates.append((-overlap, distance, fi, ti))
        ids: list[int | None] = [None] * len(faces)
        used_tracks: set[int] = set()
        for _, _, fi, ti in sorted(candidates):
            if ids[fi] is None and ti not in used_tracks:
                ids[fi] = self._tracks[ti].face_id
                used_tracks.add(ti)
                self._tracks[ti].box, self._tracks[ti].last_seen = faces[fi], t
        for fi, face_id in enumerate(ids):
            if face_id is None:
                ids[fi] = self._next_id
                self._tracks.append(_Track(self._next_id, faces[fi], t))
                self._next_id += 1
        return ids  # type: ignore[return-value]
