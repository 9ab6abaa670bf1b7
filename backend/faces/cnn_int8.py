"""The face CNN in int8, as the runtime runs it: one ONNX graph (``model-int8.onnx``) of the trained network with
test-time flip averaging inside, its convolutions and linear layer quantized (QDQ: per-channel int8 weights, uint8
activations calibrated on FER2013 train faces) and run by onnxruntime, so an analysis never starts torch for faces.
``python -m face_model quantize`` makes the graph from the float weights, which stay the reference for training,
evaluation and ensembling."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import cnn_store as store

INT8_GRAPH = "model-int8.onnx"
GRAPH_INPUT = "faces"  # (N, 1, side, side) pixels in [0, 1]
GRAPH_OUTPUT = "logits"


def pixels(faces: np.ndarray) -> np.ndarray:
    """uint8 ``(N, side, side)`` grayscale faces as the graph's float32 ``(N, 1, side, side)`` input in [0, 1]."""
    return (faces.astype(np.float32) / 255)[:, None]


def int8_graph(name: str, root: Path | None = None) -> Path:
    """The shipped int8 graph of model ``name``; FileNotFoundError, saying how to make it, when it has none."""
    meta = store.read_meta(name, root)
    path = store.model_dir(name, root) / INT8_GRAPH
    if meta.int8.get("file") != INT8_GRAPH or not path.exists():
        raise FileNotFoundError(f"face model '{name}' has no {INT8_GRAPH}; make it with `python -m face_model "
                                f"quantize --name {name}`")  # fmt: skip
    return path
