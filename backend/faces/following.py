"""Faces through a video: a full MTCNN detection on key frames, the faces followed by O-Net alone in between.

A full detection scans the whole frame at every scale, which is most of the cost of analysing a video; a face
that moved a few pixels since the last sampled frame is found again for a small fraction of it. A full detection
still runs on the first frame, at least every ``redetect_seconds`` (so a person who walks in is found within that
time), whenever a followed face is lost, and on every frame while no face is being followed (so the first face
to appear is found at once). ``redetect_seconds=0`` detects every frame in full.
"""

from __future__ import annotations

from backend.media import Frame

from .detector import FaceBox, FaceDetector


class FollowingDetector:
    """The faces of each frame of one video, frames given in time order (one instance per analysis)."""

    def __init__(self, detector: FaceDetector, redetect_seconds: float):
        self._detector = detector
        self._redetect_seconds = redetect_seconds
        self._faces: list[FaceBox] = []  # the faces of the last frame, to follow into the next
        self._last_full: float | None = None
        self._faceless_run = 0  # frames detected in full in a row without a face

    def detect(self, frames: list[Frame]) -> list[list[FaceBox]]:
        if self._redetect_seconds <= 0:
            return self._detector.detect([frame.image for frame in frames])
        results: list[list[FaceBox]] = []
        while len(results) < len(frames):
            rest = frames[len(results) :]
            if self._faces and not self._full_due(rest[0].t):
                followed = self._detector.follow(rest[0].image, self._faces)
                if len(followed) == len(self._faces):
                    self._faces = followed
                    results.append(followed)
                    continue
            results += self._detect_in_full(rest)
        return results

    def _full_due(self, t: float) -> bool:
        return self._last_full is None or t - self._last_full >= self._redetect_seconds

    def _detect_in_full(self, frames: list[Frame]) -> list[list[FaceBox]]:
        """Full detections from ``frames[0]`` up to the first frame with a face. While no face has been seen,
        the next frames are detected in one batch (MTCNN is faster batched), betting that none of them has a
        face either; the batch is as long as the faceless run so far, so a face that appears wastes at most as
        many detections as there were faceless frames before it."""
        size = min(len(frames), max(1, self._faceless_run))
        detections = self._detector.detect([frame.image for frame in frames[:size]])
        kept = next((i + 1 for i, faces in enumerate(detections) if faces), size)
        self._faces, self._last_full = detections[kept - 1], frames[kept - 1].t
        self._faceless_run = 0 if self._faces else self._faceless_run + kept
        return detections[:kept]
