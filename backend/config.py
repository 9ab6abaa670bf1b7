"""All settings in one place: defaults here, each overridable by an ``EMOCLASSIFY_*`` environment variable.

Modules read settings through :func:`get_settings` rather than the environment so that a test or the API can
build a :class:`Settings` of its own and pass it down.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_VOICE_MODEL = "voice-whisper-v1"  # a shipped folder of voice_model/models: the runtime's and evaluate's default
DEFAULT_ASR_MODEL = "whisper-base"  # backend.transcribe: Whisper base from the pinned model-data wheels
DEFAULT_CNN_MODEL = "cnn-v3-r"  # a shipped folder of face_model/models: the runtime's `cnn` face classifier
DEFAULT_CNN_SMALL_FACE_MODEL = "cnn-v3-v"  # the `cnn` classifier's network for faces small in their frame
DEFAULT_FUSION_MODEL = "fusion-v5"  # a shipped folder of fusion_model/models: the face + voice combiner


def shown_path(path: Path) -> str:
    """A path as a result shows it: the project's own files relative to the project (a served result should not
    tell where the server is installed), any other path as given."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _env(name: str, default: str) -> str:
    return os.environ.get(f"EMOCLASSIFY_{name}", default)


@dataclass(frozen=True)
class Settings:
    """Runtime settings. Paths are absolute; sizes in pixels, times in seconds."""

    data_dir: Path = field(default_factory=lambda: Path(_env("DATA", str(PROJECT_ROOT.parent / "shared" / "data"))))
    cache_dir: Path = field(default_factory=lambda: Path(_env("CACHE", str(PROJECT_ROOT / ".cache"))))
    # training runs (checkpoints) outlive the checkout, so a long run resumes in a later session or clone
    runs_dir: Path = field(default_factory=lambda: Path(_env("RUNS", str(Path.home() / ".cache" / "emoclassify"))))
    face_model_dir: Path = PROJECT_ROOT / "face_model" / "models"
    detector_model_dir: Path = PROJECT_ROOT / "face_model" / "mtcnn"  # MTCNN's graphs (python -m face_model mtcnn)
    voice_model_dir: Path = PROJECT_ROOT / "voice_model" / "models"
    fusion_model_dir: Path = PROJECT_ROOT / "fusion_model" / "models"
    device: str = field(default_factory=lambda: _env("DEVICE", "cpu"))
    face_model: str = field(default_factory=lambda: _env("FACE_MODEL", "cnn"))
    cnn_model_name: str = field(default_factory=lambda: _env("CNN_MODEL", DEFAULT_CNN_MODEL))
    # Faces whose short side in their frame is under `small_face_model_below_px` go to this model, trained on faces
    # seen as video delivers them (README, Face model, step seven); "" sends every face to `cnn_model_name`.
    cnn_small_face_model: str = field(
        default_factory=lambda: _env("CNN_SMALL_FACE_MODEL", DEFAULT_CNN_SMALL_FACE_MODEL)
    )
    small_face_model_below_px: float = 40.0
    # the `cnn` classifier runs the int8 graph (onnxruntime) where the model ships one (backend/faces/cnn_int8.py)
    face_int8: bool = field(default_factory=lambda: _env("FACE_INT8", "1") == "1")
    voice_model_name: str = field(default_factory=lambda: _env("VOICE_MODEL", DEFAULT_VOICE_MODEL))
    fusion_model_name: str = field(default_factory=lambda: _env("FUSION_MODEL", DEFAULT_FUSION_MODEL))
    vit_model: str = field(default_factory=lambda: _env("VIT_MODEL", "trpakov/vit-face-expression"))
    # Hub downloads are off unless asked for: the default run needs nothing from the network.
    allow_downloads: bool = field(default_factory=lambda: _env("ALLOW_DOWNLOADS", "0") == "1")
    sample_fps: float = field(default_factory=lambda: float(_env("SAMPLE_FPS", "5")))
    # MTCNN: the original project's thresholds; the minimum face size is a fraction of the frame's short side
    # (the original fixed 200 px finds nothing in 640x360 video).
    mtcnn_thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    # MTCNN's final probability below which a detection is dropped: at 0.7 it boxes textures (a patch of the
    # astronaut's suit scores 0.79); real faces in our test media score above 0.95.
    min_face_score: float = field(default_factory=lambda: float(_env("MIN_FACE_SCORE", "0.9")))
    min_face_fraction: float = field(default_factory=lambda: float(_env("MIN_FACE_FRACTION", "0.06")))
    min_face_px: int = 20
    # Frames are detected on a copy whose long side is at most this; crops come from the full frame.
    detect_max_side: int = field(default_factory=lambda: int(_env("DETECT_MAX_SIDE", "640")))
    face_batch_size: int = 32
    # Faces smaller than this (short side, px) are classified but flagged low-confidence.
    small_face_px: int = 24
    # Largest decoded image or frame accepted, in pixels (defends against decompression bombs).
    max_pixels: int = field(default_factory=lambda: int(_env("MAX_PIXELS", str(8192 * 8192))))
    audio_sample_rate: int = 16_000
    audio_chunk_seconds: float = 1.0

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (frozen dataclasses have no setters)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
