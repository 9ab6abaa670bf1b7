"""Shipped face models on disk (``face_model/models``; training writes them, the runtime reads them):
``<name>/weights.pt`` (a plain state dict, loaded with ``weights_only=True`` so no pickled code ever runs) beside
``model.json`` (architecture, labels, temperature) and, for the runtime, ``model-int8.onnx``
(:mod:`backend.faces.cnn_int8`). torch is imported only to read or write the float weights: the runtime's int8 path
reads ``model.json`` here and never starts it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from backend.config import get_settings
from backend.emotions import EMOTIONS

if TYPE_CHECKING:
    from .cnn_network import EmotionCNN, EmotionEnsemble

INPUT_SIZE = 48  # the side of the grayscale faces every face CNN here takes


@dataclass
class ModelMeta:
    name: str
    widths: tuple[int, ...] = (32, 64, 128, 256)
    dropout: float = 0.3
    input_size: int = INPUT_SIZE
    labels: tuple[str, ...] = EMOTIONS
    temperature: float = 1.0
    members: int = 1  # > 1: an ensemble of that many same-shaped networks (``python -m face_model ensemble``)
    flip_average: bool = True  # average each prediction with the mirrored face's (test-time flip)
    int8: dict = field(default_factory=dict)  # how model-int8.onnx was made (python -m face_model quantize); {} = none
    # face short side in px (a string, as JSON keys are) -> multiplier of ``temperature`` for faces of that size in
    # their frame (python -m face_model calibrate); {} = one temperature at every size
    size_temperatures: dict = field(default_factory=dict)
    version: str = "1"
    notes: dict = field(default_factory=dict)

    def build(self) -> EmotionCNN | EmotionEnsemble:
        """The float network with fresh weights."""
        from .cnn_network import EmotionCNN, EmotionEnsemble

        make = lambda: EmotionCNN(tuple(self.widths), len(self.labels), self.dropout)  # noqa: E731
        return make() if self.members == 1 else EmotionEnsemble([make() for _ in range(self.members)])


def model_dir(name: str, root: Path | None = None) -> Path:
    return (root or get_settings().face_model_dir) / name


def save(model: EmotionCNN | EmotionEnsemble, meta: ModelMeta, root: Path | None = None) -> Path:
    import torch

    folder = model_dir(meta.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    torch.save({k: v.detach().clone() for k, v in model.state_dict().items()}, folder / "weights.pt")
    write_meta(meta, root)
    return folder


def write_meta(meta: ModelMeta, root: Path | None = None) -> None:
    folder = model_dir(meta.name, root)
    (folder / "model.json").write_text(json.dumps(asdict(meta), indent=2) + "\n")


def read_meta(name: str, root: Path | None = None) -> ModelMeta:
    data = json.loads((model_dir(name, root) / "model.json").read_text())
    data["widths"] = tuple(data["widths"])
    data["labels"] = tuple(data["labels"])
    return ModelMeta(**data)


def load(name: str, root: Path | None = None) -> tuple[EmotionCNN | EmotionEnsemble, ModelMeta]:
    """The float network in eval mode with its metadata; raises FileNotFoundError naming the folder it looked in."""
    import torch

    folder = model_dir(name, root)
    if not (folder / "weights.pt").exists() or not (folder / "model.json").exists():
        raise FileNotFoundError(
            f"face model '{name}' not found in {folder} (weights.pt + model.json); "
            "train one with `python -m face_model train` or set EMOCLASSIFY_CNN_MODEL to a shipped model"
        )
    meta = read_meta(name, root)
    model = meta.build()
    model.load_state_dict(torch.load(folder / "weights.pt", map_location="cpu", weights_only=True))
    return model.eval(), meta


def weights_sha256(name: str, root: Path | None = None, file: str = "weights.pt") -> str:
    return hashlib.sha256((model_dir(name, root) / file).read_bytes()).hexdigest()
