"""The faces that the report's key frames and the ``face-<id>.png`` files show, cut while the faces are analysed:
the frames are decoded once, for the face pass, and only small copies of them outlive it."""

from __future__ import annotations

import cv2
import numpy as np

from backend.results import FaceObservation

THUMB_PX = 112  # thumbnail height


def cut(image: np.ndarray, box: list[int]) -> np.ndarray:
    """The face in ``box`` with a margin around it, scaled to THUMB_PX high."""
    height, width = image.shape[:2]
    x1, y1, x2, y2 = box
    margin = 0.2 * max(x2 - x1, y2 - y1)
    x1, y1 = max(0, int(x1 - margin)), max(0, int(y1 - margin))
    x2, y2 = min(width, int(x2 + margin)), min(height, int(y2 + margin))
    crop = image[y1:y2, x1:x2] if x2 > x1 and y2 > y1 else image
    scale = THUMB_PX / crop.shape[0]
    size = (max(1, round(crop.shape[1] * scale)), THUMB_PX)
    return cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)


class FaceThumbnails:
    """Per face and emotion, the thumbnail of its most confident observation so far (the first of equals, in the
    order of the analysis). The pictures shown are chosen after the analysis, by these same rules (each face's
    most confident moment, overall or per emotion), so they are always among the kept ones; memory holds seven
    small pictures a face at most, however long the file."""

    def __init__(self) -> None:
        self._best: dict[tuple[int, str], tuple[float, int, np.ndarray]] = {}  # confidence, frame index, picture

    def offer(self, observation: FaceObservation, image: np.ndarray) -> None:
        """Keep the thumbnail of ``observation`` (seen in ``image``) if it beats the kept one."""
        key = (observation.face_id, observation.label)
        kept = self._best.get(key)
        if kept is None or observation.confidence > kept[0]:
            self._best[key] = (observation.confidence, observation.frame_index, cut(image, observation.box))

    def of(self, observation: FaceObservation) -> np.ndarray | None:
        """The thumbnail of ``observation``; None when it was never the best of its face and emotion."""
        kept = self._best.get((observation.face_id, observation.label))
        return kept[2] if kept is not None and kept[1] == observation.frame_index else None
