"""Folders of labelled face images (``<emotion>/*.png``) as arrays, cached once as ``.npz``.

Decoding 32k small PNGs takes longer than an epoch of training, so each folder is read once and cached under
the project's cache directory, keyed by its path and file count.

An image larger than the network's input (a film still such as SFEW's 143x181 faces, a photo) is read as the
runtime reads a face in a film: MTCNN finds the face and the runtime's square, eye-levelled crop is taken from its
box (the whole image where no face is found), then brought to the input in gray. Squashing the whole image instead
showed the network hair, background and a face of the wrong shape. An image of the input's size (FER2013's faces,
cropped by the dataset's authors) is already that crop and is taken as it is.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from backend.config import Settings, get_settings
from backend.emotions import EMOTIONS
from backend.faces.align import aligned_crop
from backend.faces.classifiers.cnn import network_input
from backend.faces.cnn_store import INPUT_SIZE
from backend.faces.detector import FaceBox, get_detector
from backend.media.images import load_image

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}


@dataclass(frozen=True)
class FaceSet:
    images: np.ndarray  # (N, 48, 48) uint8 grayscale
    labels: np.ndarray  # (N,) int64, index into EMOTIONS
    files: list[str]

    def counts(self) -> dict[str, int]:
        return {name: int((self.labels == i).sum()) for i, name in enumerate(EMOTIONS)}


def fer_dir(split: str) -> Path:
    return get_settings().data_dir / "faces" / "fer2013" / split


def sfew_dir(settings: Settings | None = None) -> Path:
    """SFEW's film faces (its train part: the validation films are held out of ../shared)."""
    return (settings or get_settings()).data_dir / "faces" / "sfew" / "train"


def _list_files(root: Path) -> list[tuple[Path, int]]:
    if not root.is_dir():
        raise FileNotFoundError(f"no image folder at {root} (expected <emotion>/*.png inside)")
    found = []
    for label, emotion in enumerate(EMOTIONS):
        folder = root / emotion
        if folder.is_dir():
            found += [(p, label) for p in sorted(folder.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
    if not found:
        raise FileNotFoundError(f"no images under {root}: expected sub-folders named {', '.join(EMOTIONS)}")
    return found


def as_runtime_reads(path: Path) -> np.ndarray:
    """The image's face as the network reads it at run time (uint8 gray, the input's side): the image itself where
    it is already a face of that size, else the runtime's aligned crop of the best face MTCNN finds in it."""
    with Image.open(path) as image:
        if image.size == (INPUT_SIZE, INPUT_SIZE):
            return np.asarray(image.convert("L"), dtype=np.uint8)
    picture = load_image(path)
    return network_input(aligned_crop(picture, best_face(picture)), INPUT_SIZE)


DETECTION_BORDER = 0.25  # of the long side, black, on each side of a picture searched for its face


def best_face(picture: np.ndarray) -> FaceBox:
    """MTCNN's most likely face in the picture, found with a black border around it: in a film frame the face has
    room around it, but a still cut to the face leaves none, and MTCNN then misses about half of SFEW's faces (with
    the border, about one in nine). The whole picture where no face is found, as the runtime falls back to."""
    height, width = picture.shape[:2]
    border = round(DETECTION_BORDER * max(height, width))
    framed = cv2.copyMakeBorder(picture, border, border, border, border, cv2.BORDER_CONSTANT, value=0)
    faces = get_detector(get_settings()).detect([framed])[0]  # the detector loads once, on the first picture
    if not faces:
        return FaceBox(0.0, 0.0, float(width), float(height), None)
    face = faces[0]
    landmarks = None if face.landmarks is None else face.landmarks - border
    return FaceBox(face.x1 - border, face.y1 - border, face.x2 - border, face.y2 - border, face.score, landmarks)


CROP_VERSION = "runtime-crop-2"  # in the cache key: how an image larger than the input becomes a face


def load_folder(root: Path, use_cache: bool = True) -> FaceSet:
    files = _list_files(Path(root))
    key = hashlib.sha256(f"{Path(root).resolve()}:{len(files)}:{INPUT_SIZE}:{CROP_VERSION}".encode()).hexdigest()
    cache = get_settings().cache_dir / f"faces-{key[:16]}.npz"
    if use_cache and cache.exists():
        with np.load(cache) as stored:
            return FaceSet(stored["images"], stored["labels"], list(stored["files"]))
    images = np.stack([as_runtime_reads(path) for path, _ in files])
    labels = np.array([label for _, label in files], dtype=np.int64)
    names = [str(path.relative_to(root)) for path, _ in files]
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images, labels=labels, files=np.array(names))
    return FaceSet(images, labels, names)
