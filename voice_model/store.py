"""Shipped voice models on disk: ``models/<name>/model.keras`` (Keras 3 native format, loaded with
``safe_mode=True``: no pickled code) beside ``model.json`` (architecture, feature parameters, labels, window)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backend.config import get_settings
from backend.emotions import EMOTIONS

from .features import FeatureParams

DEFAULT_NAME = "voice-cnn-v1"


@dataclass
class ModelMeta:
    name: str
    architecture: str = "improved"  # baseline | improved (voice_model/network.py)
    features: FeatureParams = field(default_factory=FeatureParams)
    labels: tuple[str, ...] = EMOTIONS
    input_frames: int | None = None  # fixed input length (baseline), None = any length
    window_seconds: float = 2.0  # the run-time window the model was trained for
    version: str = "1"
    notes: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def model_dir(name: str, root: Path | None = None) -> Path:
    return (root or get_settings().voice_model_dir) / name


def write_meta(meta: ModelMeta, root: Path | None = None) -> None:
    folder = model_dir(meta.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.json").write_text(json.dumps(meta.to_dict(), indent=2) + "\n")


def read_meta(name: str, root: Path | None = None) -> ModelMeta:
    data = json.loads((model_dir(name, root) / "model.json").read_text())
    data["features"] = FeatureParams(**data["features"])
    data["labels"] = tuple(data["labels"])
    return ModelMeta(**data)


def save(model, meta: ModelMeta, root: Path | None = None) -> Path:
    folder = model_dir(meta.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    write_meta(meta, root)
    return folder


def load(name: str, root: Path | None = None):
    """``(keras model, ModelMeta)``; raises FileNotFoundError naming the folder it looked in."""
    folder = model_dir(name, root)
    if not (folder / "model.keras").exists() or not (folder / "model.json").exists():
        raise FileNotFoundError(
            f"voice model '{name}' not found in {folder} (model.keras + model.json); "
            "train one with `python -m voice_model train`"
        )
    from .network import keras

    model = keras.saving.load_model(folder / "model.keras", compile=False, safe_mode=True)
    return model, read_meta(name, root)


def weights_sha256(name: str, root: Path | None = None) -> str:
    return hashlib.sha256((model_dir(name, root) / "model.keras").read_bytes()).hexdigest()
