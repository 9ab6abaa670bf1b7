"""Post-training int8 quantization of a trained face CNN (or ensemble), which the runtime classifier then runs.

Classifying faces is about a third of the time of analysing a video. The network (with its test-time flip) is
written as an ONNX graph and quantized by onnxruntime: QDQ format, per-channel int8 weights, uint8 activations
whose ranges are the minimum and maximum seen on FER2013 train faces. On FER2013 ``val`` the int8 graph scores
within a tenth of a point of the float network at a fifth of its time (the card shows both). The per-image
standardisation before the convolutions stays in float inside the graph.

The graph ships beside the float weights as ``model-int8.onnx`` (protobuf: loading it runs no code); ``model.json``
says how it was made. Float weights stay the reference: training, evaluation of the float model and ensembles use
them.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from backend.faces import cnn_store as store
from backend.faces.cnn_int8 import GRAPH_INPUT, GRAPH_OUTPUT, INT8_GRAPH, pixels
from backend.faces.cnn_network import FlipAveraged
from backend.onnx_export import export_graph

from .data import fer_dir, load_folder

CALIBRATION_IMAGES = 2000  # FER2013 train images (with their mirror images, inside the graph), seed below
CALIBRATION_SEED = 0
CALIBRATION_BATCH = 100


def calibration_images(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    train = load_folder(fer_dir("train"))
    return train.images[np.random.default_rng(seed).choice(len(train.images), count, replace=False)]


def quantize(name: str, root: Path | None = None) -> Path:
    """Write ``model-int8.onnx`` for the trained model ``name`` and record how in its ``model.json``."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    float_model, meta = store.load(name, root)
    network = FlipAveraged(float_model) if meta.flip_average else float_model
    calibration = pixels(calibration_images())

    class Faces(CalibrationDataReader):
        def __init__(self):
            self._batches = iter(range(0, len(calibration), CALIBRATION_BATCH))

        def get_next(self) -> dict | None:
            start = next(self._batches, None)
            return None if start is None else {GRAPH_INPUT: calibration[start : start + CALIBRATION_BATCH]}

    path = store.model_dir(name, root) / INT8_GRAPH
    with tempfile.TemporaryDirectory() as folder:
        exported, prepared = Path(folder) / "float.onnx", Path(folder) / "prepared.onnx"
        side = meta.input_size
        export_graph(network, torch.zeros(2, 1, side, side), exported, GRAPH_INPUT, [GRAPH_OUTPUT], {0: "batch"})
        quant_pre_process(str(exported), str(prepared))
        quantize_static(str(prepared), str(path), Faces(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)  # fmt: skip
    meta.int8 = {"file": INT8_GRAPH, "runtime": "onnxruntime", "format": "QDQ, per-channel int8 weights, uint8 "
                 "activations (min-max ranges)", "calibration": f"{CALIBRATION_IMAGES} FER2013 train images"
                 f"{' and their mirror images' if meta.flip_average else ''}, seed {CALIBRATION_SEED}"}  # fmt: skip
    store.write_meta(meta, root)
    return path
