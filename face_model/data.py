"""Folders of labelled face images (``<emotion>/*.png``) as arrays, cached once as ``.npz``.

Decoding 32k small PNGs takes longer than an epoch of training, so each folder is read once and cached under
the project's cache directory, keyed by its path and file count.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.faces.cnn_store import INPUT_SIZE

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


def to_model_input(image: Image.Image) -> np.ndarray:
    """Grayscale, resized to the network's square input, as uint8."""
    gray = image.convert("L")
    if gray.size != (INPUT_SIZE, INPUT_SIZE):
        gray = gray.resize((INPUT_SIZE, INPUT_SIZE), Image.Resampling.BILINEAR)
    return np.asarray(gray, dtype=np.uint8)


def load_folder(root: Path, use_cache: bool = True) -> FaceSet:
    files = _list_files(Path(root))
    key = hashlib.sha256(f"{Path(root).resolve()}:{len(files)}:{INPUT_SIZE}".encode()).hexdigest()[:16]
    cache = get_settings().cache_dir / f"faces-{key}.npz"
    if use_cache and cache.exists():
        with np.load(cache) as stored:
            return FaceSet(stored["images"], stored["labels"], list(stored["files"]))
    images = np.stack([to_model_input(Image.open(path)) for path, _ in files])
    labels = np.array([label for _, label in files], dtype=np.int64)
    names = [str(path.relative_to(root)) for path, _ in files]
    if use_cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images, labels=labels, files=np.array(names))
    return FaceSet(images, labels, names)
