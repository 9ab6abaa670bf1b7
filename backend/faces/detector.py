"""MTCNN face detection on batches of frames.

Frames are detected on a downscaled copy (long side <= ``detect_max_side``) because MTCNN's cost grows with
pixels while faces worth classifying stay well above its minimum size; boxes are mapped back to the full frame
so crops keep full resolution. The minimum face size is a fraction of the frame, not a fixed pixel count: the
original 200 px found nothing in 640x360 video.

:meth:`FaceDetector.follow` looks for known faces again with MTCNN's last stage alone (O-Net on a square around
each previous box): in video most of the detector's cost is its first stage scanning the whole frame, which a face
that moved a few pixels does not need (``backend.faces.following`` decides when a full detection is due).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from backend.config import Settings, shown_path
from backend.model_info import ModelInfo

from .mtcnn import PNET_SIDE, STAGE_SIDES, Mtcnn, graphs_sha256, onet_placed


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


class FaceDetector:
    """Batched MTCNN (:mod:`backend.faces.mtcnn`, facenet-pytorch's detector in onnxruntime) with all faces per frame
    kept; its graphs ship in ``face_model/mtcnn``."""

    name = "mtcnn"
    version = "facenet-pytorch-2.5.3-onnx"

    def __init__(self, settings: Settings):
        self._settings = settings
        self._mtcnn = Mtcnn(settings.detector_model_dir, settings.mtcnn_thresholds)
        self.info = ModelInfo(role="face_detector", name=self.name, version=self.version,
                              source=shown_path(settings.detector_model_dir),
                              sha256=graphs_sha256(settings.detector_model_dir))  # fmt: skip

    def min_face_size(self, height: int, width: int) -> int:
        return max(self._settings.min_face_px, round(self._settings.min_face_fraction * min(height, width)))

    def _scale(self, height: int, width: int) -> float:
        return min(1.0, self._settings.detect_max_side / max(height, width))

    def can_search(self, height: int, width: int) -> bool:
        """Whether a frame this size can hold a face MTCNN finds: its first stage shrinks the frame until the
        smallest face wanted fits its 12 px window, so a frame narrower than that face gives it no image at all."""
        scale = self._scale(height, width)
        small = max(1, round(height * scale)), max(1, round(width * scale))
        return min(small) >= max(PNET_SIDE, self.min_face_size(*small))

    def detect(self, frames: list[np.ndarray]) -> list[list[FaceBox]]:
        """Faces of each frame (RGB uint8 arrays); frames of different sizes are detected in separate batches."""
        results: list[list[FaceBox]] = [[] for _ in frames]
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, frame in enumerate(frames):
            by_size.setdefault(frame.shape[:2], []).append(i)
        for (height, width), indices in by_size.items():
            if not self.can_search(height, width):
                continue  # no face can be found (and MTCNN would raise on its empty image pyramid)
            scale = self._scale(height, width)
            small = [self._downscale(frames[i], scale) for i in indices]
            found = self._mtcnn.detect(np.stack(small), self.min_face_size(*small[0].shape[:2]))
            for i, (boxes, probs, points) in zip(indices, found):
                faces = _to_face_boxes(boxes, probs, points, 1 / scale, width, height)
                results[i] = [f for f in faces if (f.score or 0.0) >= self._settings.min_face_score]
        return results

    def follow(self, frame: np.ndarray, faces: list[FaceBox]) -> list[FaceBox]:
        """``faces`` (found in an earlier frame) looked for again in ``frame`` by O-Net alone: each comes back
        moved to where the face now is, with its new probability and landmarks, or is dropped when O-Net no
        longer sees a face there; faces that end up on the same person are merged. Crops come from the full
        frame: O-Net sees every face at 48x48 whatever the frame's size, so the frame is not downscaled."""
        if not faces:
            return []
        boxes = np.array([[f.x1, f.y1, f.x2, f.y2] for f in faces], dtype=np.float32)
        boxes = _square(boxes)
        crops = np.stack([_crop_resized(frame, box, STAGE_SIDES["onet"]) for box in boxes])
        moves, points, probs = self._mtcnn.onet_on_crops(crops)
        boxes, landmarks = onet_placed(boxes, moves, points)
        found = _to_face_boxes(boxes, probs, landmarks, 1.0, frame.shape[1], frame.shape[0])
        return _merge_overlapping([f for f in found if (f.score or 0.0) >= self._settings.min_face_score])

    @staticmethod
    def _downscale(frame: np.ndarray, scale: float) -> np.ndarray:
        if scale >= 1.0:
            return frame
        size = (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


def _to_face_boxes(boxes, probs, points, upscale: float, width: int, height: int) -> list[FaceBox]:
    """One frame's MTCNN output as clipped FaceBoxes, best first."""
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


def _square(boxes: np.ndarray) -> np.ndarray:
    """Each box widened to a square around its centre, as MTCNN feeds its later stages."""
    side = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])[:, None]
    centre = np.stack([boxes[:, 0] + boxes[:, 2], boxes[:, 1] + boxes[:, 3]], axis=1) / 2
    return np.concatenate([centre - side / 2, centre + side / 2], axis=1)


def _crop_resized(image: np.ndarray, box: np.ndarray, side: int) -> np.ndarray:
    """The box's pixels at ``side`` x ``side``; parts outside the image are black, as in MTCNN's training."""
    x1, y1, x2, y2 = (int(v) for v in np.round(box))
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)
    canvas = np.zeros((y2 - y1, x2 - x1, 3), dtype=np.uint8)
    ix1, iy1, ix2, iy2 = max(x1, 0), max(y1, 0), min(x2, image.shape[1]), min(y2, image.shape[0])
    if ix2 > ix1 and iy2 > iy1:
        canvas[iy1 - y1 : iy2 - y1, ix1 - x1 : ix2 - x1] = image[iy1:iy2, ix1:ix2]
    return cv2.resize(canvas, (side, side), interpolation=cv2.INTER_AREA)


def _merge_overlapping(faces: list[FaceBox], max_iou: float = 0.5) -> list[FaceBox]:
    """The best-scoring of faces that overlap by more than ``max_iou`` (``faces`` come best first)."""
    kept: list[FaceBox] = []
    for face in faces:
        if all(iou(face, other) <= max_iou for other in kept):
            kept.append(face)
    return kept


def iou(a: FaceBox, b: FaceBox) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


_detectors: dict[Settings, FaceDetector] = {}
_detectors_lock = threading.Lock()


def get_detector(settings: Settings) -> FaceDetector:
    """The process-wide detector for these settings (MTCNN loads once, then every analysis shares it)."""
    with _detectors_lock:
        if settings not in _detectors:
            _detectors[settings] = FaceDetector(settings)
        return _detectors[settings]
