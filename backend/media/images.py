"""Still images, opened with Pillow: upright, on white, 8-bit RGB."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from backend.errors import MediaError

from .opening import check_pixels, checked_path, max_pixels

# Still-image formats opened with Pillow. A closed list, because Pillow's lenient plugins (TGA, MPEG) would
# otherwise claim garbage or video files as images.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")  # JPEG covers MPO (multi-picture JPEG)


def load_image(path: str | Path) -> np.ndarray:
    """A still image as upright RGB uint8 (H x W x 3): EXIF orientation applied (phones store photos sideways),
    transparency composited on white (what a viewer shows), grayscale and 16-bit expanded to 8-bit RGB."""
    path = checked_path(path)
    with open_image(path) as image:
        if image is None:
            raise MediaError(f"{path.name} is not an image that can be read", code="not_media")
        try:
            return _to_rgb(ImageOps.exif_transpose(image))
        except (OSError, ValueError, SyntaxError) as exc:  # Pillow's ways of saying the pixel data is broken
            raise MediaError(f"{path.name} is a damaged image ({exc})", code="corrupt_media") from None


@contextmanager
def open_image(path: Path) -> Iterator[Image.Image | None]:
    """A lazily opened Pillow image, or None when the content is not a still image we read. Sets Pillow's
    decompression-bomb cap from the settings first, and refuses a declared size above it before decoding."""
    limit = max_pixels()
    Image.MAX_IMAGE_PIXELS = limit
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise MediaError(f"{path.name} is larger than the limit of {limit} pixels", code="too_large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        image = None
    if image is None:
        yield None
        return
    with image:
        check_pixels(path, *image.size)
        yield image


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grayscale: Pillow's RGB conversion would clip it
        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
