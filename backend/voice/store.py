"""Shipped voice models on disk (``voice_model/models``; training writes them, the runtime reads them):
``<name>/model.keras`` (Keras 3 native format, loaded with ``safe_mode=True``: no pickled code) beside
``model.json`` (architecture, feature parameters, labels, window) and, for the encoder networks, ``model.onnx``:
the same network in inference mode as an ONNX graph. Keras is the training format; the runtime runs the graph with
onnxruntime (:mod:`backend.onnx_network`), so an analysis never imports Keras, which took 3.5 s of every fresh
process's start-up (it loads scikit-learn and matplotlib)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from backend.config import DEFAULT_VOICE_MODEL, get_settings
from backend.emotions import EMOTIONS

from .features import FeatureParams

DEFAULT_NAME = DEFAULT_VOICE_MODEL  # what evaluate scores and backend.voice.models loads unless told otherwise
GRAPH = "model.onnx"
# The MFCC networks stay Keras at run time: their "same"-padded pooling pads by the input length modulo the pool,
# a branch no single graph holds for every length.
GRAPH_ARCHITECTURES = ("encoder",)
GRAPH_INPUT = "features"
EXAMPLE_OPEN_SIZE = (2, 50)  # batch, then any other open dimension (frames)


@dataclass
class ModelMeta:
    name: str
    architecture: str = "improved"  # baseline | improved (voice_model/network.py) | encoder (backend/voice/head.py)
    features: FeatureParams = field(default_factory=FeatureParams)
    labels: tuple[str, ...] = EMOTIONS
    input_frames: int | None = None  # fixed input length (baseline), None = any length
    window_seconds: float = 2.0  # the run-time window the model was trained for
    version: str = "1"
    notes: dict = field(default_factory=dict)
    # architecture "encoder": the Whisper encoder blocks (1-based) the network reads; features then only give the
    # training's trimming
    encoder_blocks: tuple[int, ...] | None = None
    # architecture "encoder": each window levelled to this many dBFS before the encoder (backend.voice.loudness); None:
    # the window as recorded
    input_level_dbfs: float | None = None

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
    if data.get("encoder_blocks"):
        data["encoder_blocks"] = tuple(data["encoder_blocks"])
    return ModelMeta(**data)


def save(model, meta: ModelMeta, root: Path | None = None) -> Path:
    folder = model_dir(meta.name, root)
    folder.mkdir(parents=True, exist_ok=True)
    model.save(folder / "model.keras")
    if meta.architecture in GRAPH_ARCHITECTURES:
        _write_graph(model, folder / GRAPH)
    write_meta(meta, root)
    return folder


def _write_graph(model, path: Path) -> Path:
    """The Keras ``model`` in inference mode (dropout off, batch norm on its moving statistics) as an ONNX graph
    at ``path``; every input dimension the model leaves open (the batch; the frames of an any-length model) stays
    open in the graph."""
    import torch

    class Inference(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model

        def forward(self, x):
            return self.model(x, training=False)

    shape = model.inputs[0].shape
    # an example size of 2 or more for each open dimension: torch.export fixes any dimension it sees at 0 or 1
    example = torch.zeros([EXAMPLE_OPEN_SIZE[i > 0] if size is None else size for i, size in enumerate(shape)])
    open_dims = {i: torch.export.Dim(f"dim{i}") for i, size in enumerate(shape) if size is None}
    # torch.export first: it refuses a network that would fix an open dimension (torch.onnx.export alone falls back
    # to a graph of the example's shape)
    program = torch.export.export(Inference().eval(), (example,), dynamic_shapes={"x": open_dims})
    torch.onnx.export(program, dynamo=True, input_names=[GRAPH_INPUT], output_names=["probabilities"],
                      verbose=False).save(str(path))  # fmt: skip
    return path


def write_shipped_graph(name: str, root: Path | None = None) -> Path:
    """``model.onnx`` for an encoder model's folder that has only ``model.keras`` (trained before graphs existed)."""
    model, meta = load(name, root)
    if meta.architecture not in GRAPH_ARCHITECTURES:
        raise ValueError(f"voice model '{name}' ({meta.architecture}) runs as Keras; only {GRAPH_ARCHITECTURES} "
                         "networks have a graph")  # fmt: skip
    return _write_graph(model, model_dir(name, root) / GRAPH)


def load(name: str, root: Path | None = None):
    """``(keras model, ModelMeta)``; raises FileNotFoundError naming the folder it looked in."""
    folder = model_dir(name, root)
    if not (folder / "model.keras").exists() or not (folder / "model.json").exists():
        raise FileNotFoundError(
            f"voice model '{name}' not found in {folder} (model.keras + model.json); "
            "train one with `python -m voice_model train`"
        )
    from backend.voice.head import keras  # registers the encoder network's layers for loading

    model = keras.saving.load_model(folder / "model.keras", compile=False, safe_mode=True)
    return model, read_meta(name, root)


def graph_path(name: str, root: Path | None = None) -> Path:
    return model_dir(name, root) / GRAPH


def weights_sha256(name: str, root: Path | None = None, file: str = "model.keras") -> str:
    return hashlib.sha256((model_dir(name, root) / file).read_bytes()).hexdigest()
