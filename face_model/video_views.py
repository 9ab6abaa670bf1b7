"""A FER2013 face as a video would deliver it at a given size in the frame: what the fusion pairs and the face
model's calibration by size both see.

A video's faces are often small, and its codec works at the face's size in the frame, so a shrunk view is
JPEG-compressed there (a stand-in for H.264) before it is scaled up to the runtime's aligned crop. Without the
codec a small face only blurs and flattens, where a real one is often read confidently wrong.
"""

from __future__ import annotations

import cv2
import numpy as np

from backend.faces.align import CROP_SIZE

# The face's short side in the frame. 48 px is the face model's full detail; below, video faces lose it. The
# smaller sizes are the runtime's low-confidence range (under 24 px) and just above.
FACE_SIZES = (48, 32, 24, 16, 12)
CENTRAL_OFFSET = (2, 2)
VIEW_OFFSETS = (CENTRAL_OFFSET, (0, 0), (4, 0), (0, 4), (4, 4))  # 44 px crops of the 48 px face: a box is never exact
VIEW_SIDE = 44
CODEC_QUALITY = 50


def seen_at(face: np.ndarray, size: int, offset: tuple[int, int]) -> np.ndarray:
    """The 48 px gray face as the runtime would crop it from a video frame where its short side is ``size`` px: a
    44 px view, shrunk to ``size``, compressed at that size, then scaled up to the aligned crop's side (what
    ``aligned_crop`` hands over)."""
    x, y = offset
    view = face[y : y + VIEW_SIDE, x : x + VIEW_SIDE]
    small = cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA)
    _, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, CODEC_QUALITY])
    small = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return cv2.resize(small, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)


def as_classified(face: np.ndarray, size: int, offset: tuple[int, int]) -> np.ndarray:
    """The view ``seen_at`` gives, brought back to the face's own side as the runtime classifier brings every
    crop to its input (``INTER_AREA``): what the network reads of such a face."""
    side = face.shape[1::-1]
    return cv2.resize(seen_at(face, size, offset), side, interpolation=cv2.INTER_AREA)
