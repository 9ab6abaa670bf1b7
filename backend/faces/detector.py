"""MTCNN face detection on batches of frames.

Frames are detected on a downscaled copy (long side <= ``detect_max_side``) because MTCNN's cost grows with
pixels while faces worth classifying stay well above its minimum size; boxes are mapped back to the full frame
so crops keep full resolution. The minimum face size is a fraction of the frame, not a fixed pixel count: the
original 200 px found nothing in 640x360 video.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from backend.config import Settings


@dataclass(frozen=True)
class FaceBox:
    """A detected face in full-frame pixel coordinates."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float | None  # MTCNN probability; None where the whole image stands in for an undetected face
    landmarks: np.ndarray | None = None  # (5, 2): left eye, right eye, nose, left and right mouth corners

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    def as_list(self) -> list[int]:
        return [round(self.x1), round(self.y1), round(self.x2), round(self.y2)]


MTCNN_MIN_SIDE = 12  # P-Net's input window


class FaceDetector:
    """Batched MTCNN (facenet-pytorch) with all faces per frame kept; weights ship inside the wheel."""

    name = "mtcnn"
    version = "facenet-pytorch-2.5.3"

    def __init__(self, settings: Settings):
        from facenet_pytorch import MTCNN  # imported here: torch start-up is paid only when faces are needed

        self._settings = settings
        self._mtcnn = MTCNN(keep_all=True, thresholds=list(settings.mtcnn_thresholds), device=settings.device)
        self._lock = threading.Lock()  # min_face_size is set per batch on the shared instance

    def min_face_size(self, height: int, width: int) -> int:
        return max(self._settings.min_face_px, round(self._settings.min_face_fraction * min(height, width)))

    def detect(self, frames: list[np.ndarray]) -> list[list[FaceBox]]:
        """Faces of each frame (RGB uint8 arrays); frames of different sizes are detected in separate batches."""
        results: list[list[FaceBox]] = [[] for _ in frames]
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            by_size.setdefault(frame.shape[:2], []).append(i)
        for (height, width), indices in by_size.items():
            scale = min(1.0, self._settings.detect_max_side / max(height, width))
            if min(height, width) * scale < MTCNN_MIN_SIDE:
                continue  # smaller than MTCNN's first-stage window: no face can be found (and MTCNN would raise)
            small = [self._downscale(frames[i], scale) for i in indices]
            with self._lock:
                self._mtcnn.min_face_size = self.min_face_size(*small[0].shape[:2])
                boxes, probs, points = self._mtcnn.detect(np.stack(small), landmarks=True)
            for j, i in enumerate(indices):
                faces = _to_face_boxes(boxes[j], probs[j], points[j], 1 / scale, width, height)
                results[i] = [f for f in faces if (f.score or 0.0) >= self._settings.min_face_score]
        return results

    @staticmethod
    def _downscale(frame: np.ndarray, scale: float) -> np.ndarray:
        if scale >= 1.0:
            return frame
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _to_face_boxes(boxes, probs, points, upscale: float, width: int, height: int) -> list[FaceBox]:
    """MTCNN's per-frame output (None or object arrays under numpy 2) as clipped FaceBoxes, best first."""
    if boxes is None:
        return []
    boxes = np.asarray(boxes, dtype=float).reshape(-1, 4) * upscale
    probs = np.asarray(probs, dtype=float).reshape(-1)
    points = np.asarray(points, dtype=float).reshape(-1, 5, 2) * upscale
    faces = []
    for box, prob, landmarks in zip(boxes, probs, points):
        x1, y1 = max(0.0, box[0]), max(0.0, box[1])
        x2, y2 = min(float(width), box[2]), min(float(height), box[3])
        if x2 - x1 >= 2 and y2 - y1 >= 2:
            faces.append(FaceBox(x1, y1, x2, y2, float(prob), landmarks))
    return sorted(faces, key=lambda f: -(f.score or 0.0))


_detectors: dict[Settings, FaceDetector] = {}
_detectors_lock = threading.Lock()


def get_detector(settings: Settings) -> FaceDetector:
    """The process-wide detector for these settings (MTCNN loads once, then every analysis shares it)."""
    with _detectors_lock:
        if settings not in _detectors:
            _detectors[settings] = FaceDetector(settings)
        return _detectors[settings]
