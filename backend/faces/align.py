"""Face crops for the classifiers: square, with a margin like FER2013's framing, rotated so the eyes are level.

One affine warp per face does crop, rotation and resize together, so a tilted head reaches the classifier the
way the training faces look (upright, eyes level) at no extra cost.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .detector import FaceBox

# FER2013 faces fill the frame from the forehead to the chin; a square on the longer side of MTCNN's box with no
# extra margin frames faces the same way (a 12 % margin showed hair and shoulders and shifted labels on CREMA-D).
DEFAULT_MARGIN = 0.0
CROP_SIZE = 128


def eye_angle(face: FaceBox) -> float:
    """Angle of the eye line in degrees (0 when level, positive when the right eye of the image is lower)."""
    if face.landmarks is None:
        return 0.0
    (lx, ly), (rx, ry) = face.landmarks[0], face.landmarks[1]
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return angle if abs(angle) <= 45 else 0.0  # implausible landmarks: do not spin the face


def aligned_crop(image: np.ndarray, face: FaceBox, size: int = CROP_SIZE, margin: float = DEFAULT_MARGIN) -> np.ndarray:
    """A ``size`` x ``size`` RGB crop centred on the face, level eyes, borders replicated where it leaves the frame."""
    cx, cy = (face.x1 + face.x2) / 2, (face.y1 + face.y2) / 2
    side = max(face.width, face.height) * (1 + 2 * margin)
    scale = size / side
    matrix = cv2.getRotationMatrix2D((cx, cy), eye_angle(face), scale)
    matrix[0, 2] += size / 2 - cx
    matrix[1, 2] += size / 2 - cy
    return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
