"""How much each tracked face's mouth moves over time: the visual half of finding who speaks.

A speaker's lips open and close several times a second; a listener's barely move. Each face's mouth region is warped
to a small upright grey patch whose size follows the face (so a near and a far face measure alike, and a head that
turns or moves stays put in the patch), and the motion at a frame is how much the patch changed since the same
face's patch about :data:`LAG` seconds before. That lag, not the frame rate, sets what is measured: between frames
40 ms apart a mouth changes little more than compression noise does, while over a fifth of a second a speaking
mouth has opened or closed (measured on the shared GRID and CREMA-D clips: the correlation of the motion with the
clip's own speech rose from 0.3 at 40 ms to 0.5 at 0.12-0.2 s). Two things that are not speech are taken out:
landmark jitter and small head moves (the patch is compared at the best of a few pixel shifts, so a patch that
only slid scores as still), and overall brightness (each patch's mean is taken off).

Frames come one by one, in time order, with their tracked faces; nothing of a frame is kept beyond the face's last
patch, and the signal is kept as a mean per short bin of media time, so memory stays flat in the file's length
(a few bytes per face per bin).
"""

from __future__ import annotations

import math
from array import array
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from .align import eye_angle
from .detector import FaceBox

PATCH_SIZE = (32, 24)  # width, height of the mouth patch in pixels
# The mouth region in units of the face box's longer side, around the midpoint of the mouth corners: wide enough
# for both corners at any expression, tall enough for the lower lip and the chin's drop when the mouth opens.
REGION_WIDTH, REGION_DROP = 0.55, 0.06
MAX_SHIFT = 2  # pixels of the patch that a comparison may slide it by
LAG = 0.2  # seconds between the two patches compared (at least 3/4 of it; the default 5 fps sampling gives 0.2 s)
MAX_GAP = 0.5  # seconds: a face unseen for longer starts over (its old patch says nothing about the new one)
BIN_SECONDS = 0.1
GREY_SCALE = 32.0  # grey levels per unit of motion


@dataclass(frozen=True)
class TrackedFace:
    """A face in a frame with its track's id (``backend.faces.tracking``)."""

    face_id: int
    box: FaceBox


@dataclass(frozen=True)
class MouthSignal:
    """One face's mouth motion: bin ``i`` covers media time ``[start + i * bin_seconds, start + (i+1) * bin_seconds)``
    and holds the mean motion of the face's frames in it, NaN where the face was not compared in that bin."""

    face_id: int
    start: float
    bin_seconds: float
    motion: np.ndarray  # float32

    @property
    def times(self) -> np.ndarray:
        return self.start + (np.arange(len(self.motion)) + 0.5) * self.bin_seconds

    def bins(self, start: float, end: float) -> slice:
        """The bins whose centre lies in ``[start, end)`` seconds."""
        first = min(len(self.motion), max(0, math.ceil((start - self.start) / self.bin_seconds - 0.5)))
        last = min(len(self.motion), max(first, math.ceil((end - self.start) / self.bin_seconds - 0.5)))
        return slice(first, last)


def mouth_patch(image: np.ndarray, face: FaceBox) -> np.ndarray | None:
    """The mouth region of ``face`` as a float32 grey patch with its mean taken off, or None without landmarks."""
    if face.landmarks is None:
        return None
    (lx, ly), (rx, ry) = face.landmarks[3], face.landmarks[4]
    side = max(face.width, face.height)
    angle = eye_angle(face)
    # the centre sits a little below the corners, along the face's own vertical
    down = math.radians(angle)
    cx = (lx + rx) / 2 - REGION_DROP * side * math.sin(down)
    cy = (ly + ry) / 2 + REGION_DROP * side * math.cos(down)
    width, height = PATCH_SIZE
    scale = width / (REGION_WIDTH * side)
    matrix = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    matrix[0, 2] += width / 2 - cx
    matrix[1, 2] += height / 2 - cy
    patch = cv2.warpAffine(image, matrix, PATCH_SIZE, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return (grey - grey.mean()) / GREY_SCALE


def patch_motion(previous: np.ndarray, current: np.ndarray, max_shift: int = MAX_SHIFT) -> float:
    """Mean absolute change between two patches at the best of the shifts up to ``max_shift`` pixels, measured on
    the part both cover."""
    height, width = current.shape
    core = current[max_shift : height - max_shift, max_shift : width - max_shift]
    best = math.inf
    for dy in range(-max_shift, max_shift + 1):
        for dx in range(-max_shift, max_shift + 1):
            moved = previous[max_shift + dy : height - max_shift + dy, max_shift + dx : width - max_shift + dx]
            best = min(best, float(np.mean(np.abs(core - moved))))
    return best


class _Bins:
    """Running sums and counts per time bin, grown as time goes on."""

    def __init__(self, start: float, bin_seconds: float):
        self.start, self.bin_seconds = start, bin_seconds
        self.sums, self.counts = array("f"), array("H")

    def add(self, t: float, value: float) -> None:
        index = int((t - self.start) / self.bin_seconds)
        missing = index + 1 - len(self.sums)
        if missing > 0:
            self.sums.extend([0.0] * missing)
            self.counts.extend([0] * missing)
        self.sums[index] += value
        self.counts[index] = min(self.counts[index] + 1, 65535)

    def means(self) -> np.ndarray:
        sums = np.frombuffer(self.sums, dtype=np.float32)
        counts = np.frombuffer(self.counts, dtype=np.uint16).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(counts > 0, sums / counts, np.nan).astype(np.float32)


class MouthMotion:
    """Mouth motion of every tracked face of one video; feed it frames in time order with :meth:`add`.

    Frames may come at any rate: at the default 5 fps of the face pass each patch is compared with the face's
    previous one; denser frames (10-25 fps) give more comparisons a second, each still about :data:`LAG` apart.
    Frames between the face pass's frames need no detection of their own: given without faces, a frame is read
    at the boxes of the last frame that had them (up to ``max_gap`` seconds before), since a face moves little in
    a fraction of a second and the patch comparison forgives a pixel or two.
    """

    def __init__(self, lag: float = LAG, bin_seconds: float = BIN_SECONDS, max_gap: float = MAX_GAP):
        self.lag, self.bin_seconds, self.max_gap = lag, bin_seconds, max_gap
        self._recent: dict[int, deque[tuple[float, np.ndarray]]] = {}  # face id -> its patches of the last lag
        self._bins: dict[int, _Bins] = {}
        self._held: tuple[float, Sequence[TrackedFace]] = (-math.inf, ())  # the last faces given, and when

    def add(self, t: float, image: np.ndarray, faces: Sequence[TrackedFace] | None = None) -> None:
        """The frame at ``t`` seconds (RGB uint8) with its tracked faces (landmarks needed), or with None for a
        frame between detections."""
        if faces is None:
            held_at, faces = self._held
            if t - held_at > self.max_gap:
                return
        else:
            self._held = (t, faces)
        for gone in [face_id for face_id, recent in self._recent.items() if t - recent[-1][0] > self.max_gap]:
            del self._recent[gone]  # a closed track's patches
        for face in faces:
            patch = mouth_patch(image, face.box)
            if patch is None:
                continue
            recent = self._recent.setdefault(face.face_id, deque())
            while recent and t - recent[0][0] > self.max_gap:
                recent.popleft()
            earlier = [p for p in recent if t - p[0] >= 0.75 * self.lag]
            if earlier:
                bins = self._bins.setdefault(face.face_id, _Bins(0.0, self.bin_seconds))
                bins.add(t, patch_motion(earlier[-1][1], patch))
                while len(recent) > 1 and t - recent[1][0] >= 0.75 * self.lag:
                    recent.popleft()  # only the latest patch old enough is ever compared again
            recent.append((t, patch))

    def signals(self) -> list[MouthSignal]:
        """One signal per face that was compared at least once, by face id, all on one grid of bins from 0 s."""
        return [MouthSignal(face_id, bins.start, bins.bin_seconds, bins.means())
                for face_id, bins in sorted(self._bins.items())]  # fmt: skip
