"""MTCNN (Zhang et al., 2016) in numpy and onnxruntime: facenet-pytorch's detector, step for step, with its three
networks as ONNX graphs exported from the weights facenet-pytorch ships (``face_model/mtcnn``, MIT).

Why not facenet-pytorch itself: importing it starts torch and torchvision (for one NMS function), 3.5 s of every
fresh process before a frame is read, while the three networks hold 0.5 M weights. The steps below are
facenet-pytorch 2.5.3's ``detect_face``: the same image pyramid, the same area resampling (PyTorch's adaptive
average pooling, done here exactly on integer sums), the same box arithmetic in float32 and the same NMS, so
boxes, probabilities and landmarks agree with it to float rounding (a test compares both on real photos).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from backend.errors import ModelUnavailableError
from backend.onnx_network import OnnxNetwork

GRAPHS = {"pnet": "pnet.onnx", "rnet": "rnet.onnx", "onet": "onet.onnx"}
STAGE_SIDES = {"pnet": None, "rnet": 24, "onet": 48}  # P-Net scans whole images; the others see square crops
NETWORK_INPUT = "images"
OUTPUTS = {"pnet": ("offsets", "probabilities"), "rnet": ("offsets", "probabilities"),
           "onet": ("offsets", "landmarks", "probabilities")}  # fmt: skip
PNET_SIDE = 12  # P-Net's window: a face of ``min_face`` pixels is shrunk to this
PYRAMID_FACTOR = 0.709  # each pyramid level's scale over the previous one's (about 1/sqrt(2))


def graphs_sha256(folder: Path) -> str:
    """One digest of the three graphs (in stage order), for the result's list of models."""
    digest = hashlib.sha256()
    for stage in GRAPHS.values():
        digest.update((folder / stage).read_bytes())
    return digest.hexdigest()


class Mtcnn:
    """The three stages over batches of equal-size RGB uint8 images ``(N, H, W, 3)``."""

    def __init__(self, folder: Path, thresholds: tuple[float, float, float]):
        missing = [name for name in GRAPHS.values() if not (folder / name).is_file()]
        if missing:
            raise ModelUnavailableError(f"the face detector's graphs {missing} are missing from {folder}; write them "
                                        "with `python -m face_model mtcnn`", details={"model": "mtcnn"})  # fmt: skip
        self.pnet, self.rnet, self.onet = (OnnxNetwork(folder / GRAPHS[stage]) for stage in ("pnet", "rnet", "onet"))
        self.thresholds = thresholds

    def detect(self, images: np.ndarray, min_face: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Each image's faces of at least ``min_face`` pixels: boxes ``(k, 4)`` as x1, y1, x2, y2, probabilities
        ``(k,)`` and landmarks ``(k, 5, 2)`` (eyes, nose, mouth corners), best first."""
        boxes, owners = self._proposals(images, min_face)
        if len(boxes):
            boxes, owners = self._refined(images, boxes, owners)
        points = np.zeros((0, 5, 2), dtype=np.float32)
        if len(boxes):
            boxes, owners, points = self._finished(images, boxes, owners)
        return [(boxes[owners == i, :4], boxes[owners == i, 4], points[owners == i]) for i in range(len(images))]

    def onet_on_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """O-Net on 48x48 RGB uint8 crops: box offsets ``(k, 4)``, landmarks ``(k, 10)`` in crop units (x then y),
        face probabilities ``(k,)``."""
        offsets, landmarks, probabilities = self.onet.outputs(_normalised(crops))
        return offsets, landmarks, probabilities[:, 1]

    def _proposals(self, images: np.ndarray, min_face: int) -> tuple[np.ndarray, np.ndarray]:
        """Stage 1: P-Net over the pyramid; rows of x1, y1, x2, y2, score and the four offsets."""
        height, width = images.shape[1:3]
        column_sums = _column_sums(images)
        found, owners = [], []
        for scale in _pyramid(height, width, min_face):
            size = int(height * scale + 1), int(width * scale + 1)
            offsets, probabilities = self.pnet.outputs(_pnet_input(column_sums, size))
            boxes, image = _grid_boxes(offsets, probabilities[:, 1], scale, self.thresholds[0])
            keep = _batched_nms(boxes, image, 0.5)
            found.append(boxes[keep])
            owners.append(image[keep])
        if not found:  # the image is smaller than the smallest face wanted: no pyramid at all
            return np.zeros((0, 9), dtype=np.float32), np.zeros(0, dtype=np.int64)
        boxes, image = np.concatenate(found), np.concatenate(owners)
        keep = _batched_nms(boxes, image, 0.7)
        boxes, image = boxes[keep], image[keep]
        sides = np.stack([boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]] * 2, axis=1)
        moved = np.concatenate([boxes[:, :4] + boxes[:, 5:9] * sides, boxes[:, 4:5]], axis=1)
        return _squared(moved), image

    def _refined(self, images: np.ndarray, boxes: np.ndarray, owners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stage 2: R-Net on 24x24 crops of the proposals."""
        boxes, owners, crops = _crops(images, boxes, owners, STAGE_SIDES["rnet"])
        offsets, probabilities = self.rnet.outputs(_normalised(crops))
        passed = probabilities[:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[passed, :4], probabilities[passed, 1:2]], axis=1)
        owners, offsets = owners[passed], offsets[passed]
        keep = _batched_nms(boxes, owners, 0.7)
        return _squared(_regressed(boxes[keep], offsets[keep])), owners[keep]

    def _finished(self, images: np.ndarray, boxes: np.ndarray, owners: np.ndarray):
        """Stage 3: O-Net on 48x48 crops, landmarks, and NMS by the smaller box's area."""
        boxes, owners, crops = _crops(images, boxes, owners, STAGE_SIDES["onet"])
        offsets, landmarks, scores = self.onet_on_crops(crops)
        passed = scores > self.thresholds[2]
        boxes = np.concatenate([boxes[passed, :4], scores[passed, None]], axis=1)
        boxes, points = onet_placed(boxes, offsets[passed], landmarks[passed])
        owners = owners[passed]
        keep = _batched_nms(boxes, owners, 0.7, by_smaller=True)
        return boxes[keep], owners[keep], points[keep]


def onet_placed(boxes: np.ndarray, offsets: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """O-Net's answer for crops of ``boxes`` (rows starting x1, y1, x2, y2) placed in the image: the boxes moved
    by its offsets, and its landmarks (crop units, x then y) as ``(k, 5, 2)`` points."""
    sides = boxes[:, 2:4] - boxes[:, 0:2] + 1
    points = np.stack([sides[:, :1] * landmarks[:, :5] + boxes[:, :1] - 1,
                       sides[:, 1:] * landmarks[:, 5:] + boxes[:, 1:2] - 1], axis=-1)  # fmt: skip
    return _regressed(boxes, offsets), points


def _pyramid(height: int, width: int, min_face: int) -> list[float]:
    """The scales at which a face of ``min_face`` pixels, and then ever larger ones, fill P-Net's window."""
    scale = PNET_SIDE / min_face
    shortest = min(height, width) * scale
    scales = []
    while shortest >= PNET_SIDE:
        scales.append(scale)
        scale *= PYRAMID_FACTOR
        shortest *= PYRAMID_FACTOR
    return scales


def _normalised(images: np.ndarray) -> np.ndarray:
    """NHWC pixels (uint8 or their float averages) as MTCNN's NCHW input in [-1, 1)."""
    return _scaled(images.astype(np.float32).transpose(0, 3, 1, 2))


def _scaled(pixels: np.ndarray) -> np.ndarray:
    return (pixels - np.float32(127.5)) * np.float32(0.0078125)


def _column_sums(images: np.ndarray) -> np.ndarray:
    """``(N, C, H + 1, W)``: sums of pixels down each column from the top, after a row of zeros; a bin of rows is
    then the difference of two rows. float32 holds these sums exactly (below 2**24) for frames the detector sees."""
    channels_first = images.transpose(0, 3, 1, 2)
    sums = np.zeros(channels_first.shape[:2] + (channels_first.shape[2] + 1, channels_first.shape[3]), np.float32)
    np.cumsum(channels_first, axis=2, dtype=np.float32, out=sums[:, :, 1:])
    return sums


def _bins(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive average pooling's bins (as PyTorch's ``interpolate(mode="area")`` uses them): output ``i`` averages
    inputs ``floor(i * n_in / n_out)`` to ``ceil((i + 1) * n_in / n_out)``, so bins overlap by a pixel where the
    ratio is not whole, and repeat pixels when enlarging."""
    i = np.arange(n_out)
    return (i * n_in) // n_out, -((-(i + 1) * n_in) // n_out)


def _pnet_input(column_sums: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The images (given by :func:`_column_sums`) area-resampled to ``size``, as P-Net's NCHW input."""
    (top, bottom), (left, right) = _bins(column_sums.shape[2] - 1, size[0]), _bins(column_sums.shape[3], size[1])
    rows = column_sums[:, :, bottom] - column_sums[:, :, top]  # (N, C, h, W): each output row's bin, summed
    sums = np.zeros(rows.shape[:3] + (rows.shape[3] + 1,), np.float32)
    np.cumsum(rows, axis=3, out=sums[:, :, :, 1:])
    inverse_area = 1 / ((bottom - top)[:, None] * (right - left)[None, :]).astype(np.float32)
    return _scaled((sums[:, :, :, right] - sums[:, :, :, left]) * inverse_area)


def _resized(image: np.ndarray, side: int) -> np.ndarray:
    """One crop ``(h, w, C)`` at ``side`` x ``side`` by the same bins as :func:`_pnet_input`, as two products with
    averaging matrices: for the many small crops of stages 2 and 3 that costs a tenth of the sums' way."""
    height, width, channels = image.shape
    rows = _pooling_matrix(height, side) @ image.reshape(height, width * channels).astype(np.float32)
    flat = rows.reshape(side, width, channels).transpose(0, 2, 1).reshape(side * channels, width)
    return (flat @ _pooling_matrix(width, side).T).reshape(side, channels, side).transpose(0, 2, 1)


@lru_cache(maxsize=1024)
def _pooling_matrix(n_in: int, n_out: int) -> np.ndarray:
    """``(n_out, n_in)``: row ``i`` averages bin ``i`` of :func:`_bins`."""
    start, end = _bins(n_in, n_out)
    inputs = np.arange(n_in)
    members = (inputs[None, :] >= start[:, None]) & (inputs[None, :] < end[:, None])
    return (members / (end - start)[:, None]).astype(np.float32)


def _grid_boxes(offsets: np.ndarray, probabilities: np.ndarray, scale: float, threshold: float):
    """P-Net's output cells at or above ``threshold`` as boxes in the image: each cell is a 12 px window every
    2 px at this scale."""
    image, y, x = np.nonzero(probabilities >= threshold)
    cells = np.stack([x, y], axis=1).astype(np.float32)
    scale = np.float32(scale)
    boxes = np.concatenate([np.floor((2 * cells + 1) / scale), np.floor((2 * cells + PNET_SIDE) / scale),
                            probabilities[image, y, x][:, None], offsets[image, :, y, x]], axis=1)  # fmt: skip
    return boxes.astype(np.float32), image


def _squared(boxes: np.ndarray) -> np.ndarray:
    """Each box grown to a square on its centre (facenet-pytorch's ``rerec``)."""
    boxes = boxes.copy()
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    boxes[:, 0] += w * 0.5 - side * 0.5
    boxes[:, 1] += h * 0.5 - side * 0.5
    boxes[:, 2:4] = boxes[:, 0:2] + side[:, None]
    return boxes


def _regressed(boxes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Boxes moved by a network's offsets, in units of the box's side (facenet-pytorch's ``bbreg``)."""
    boxes = boxes.copy()
    sides = boxes[:, 2:4] - boxes[:, 0:2] + 1
    boxes[:, :4] += offsets * np.concatenate([sides, sides], axis=1)
    return boxes


def _crops(images: np.ndarray, boxes: np.ndarray, owners: np.ndarray, side: int):
    """The boxes' pixels (clipped to the image) resampled to ``side``; boxes wholly outside the image are dropped."""
    height, width = images.shape[1:3]
    corners = np.trunc(boxes[:, :4]).astype(np.int32)
    x1, y1 = np.maximum(corners[:, 0], 1) - 1, np.maximum(corners[:, 1], 1) - 1
    x2, y2 = np.minimum(corners[:, 2], width), np.minimum(corners[:, 3], height)
    inside = (x2 > x1) & (y2 > y1)
    crops = [_resized(images[o, a:b, c:d], side) for o, a, b, c, d in
             zip(owners[inside], y1[inside], y2[inside], x1[inside], x2[inside])]  # fmt: skip
    return boxes[inside], owners[inside], np.stack(crops) if crops else np.zeros((0, side, side, 3), np.float32)


def _batched_nms(boxes: np.ndarray, owners: np.ndarray, threshold: float, by_smaller: bool = False) -> np.ndarray:
    """Indices of the boxes (rows of x1, y1, x2, y2, score) that survive greedy NMS within each image, best first.

    The default is torchvision's ``batched_nms``: intersection over union, areas without the +1, ties in score
    kept in their order. ``by_smaller`` is facenet-pytorch's last stage: MTCNN's "Min" (intersection over the
    smaller box, areas with the +1), the best box taken from the end of numpy's ascending sort of all the batch's
    boxes, so that boxes tied in score (O-Net's probability often rounds to 1.0) are chosen as there."""
    if not len(boxes):
        return np.zeros(0, dtype=np.int64)
    # images kept apart by shifting each image's boxes beyond the last one's
    shifted = boxes[:, :4] + (owners * (boxes[:, :4].max() + 1))[:, None].astype(boxes.dtype)
    extra = 1.0 if by_smaller else 0.0
    x1, y1, x2, y2 = shifted.T
    areas = (x2 - x1 + extra) * (y2 - y1 + extra)
    order = np.argsort(boxes[:, 4]) if by_smaller else np.argsort(-boxes[:, 4], kind="stable")[::-1]
    keep = []
    while order.size:
        best, rest = order[-1], order[:-1]
        keep.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + extra)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + extra)
        overlap = w * h
        base = np.minimum(areas[best], areas[rest]) if by_smaller else areas[best] + areas[rest] - overlap
        order = rest[overlap / base <= threshold]
    return np.array(keep, dtype=np.int64)
