"""Post-training int8 quantization of a trained face CNN (or ensemble), which the runtime classifier then runs.

Classifying faces is about a third of the time of analysing a video. The network (with its test-time flip) is
written as an ONNX graph and quantized by onnxruntime: QDQ format, per-channel int8 weights, uint8 activations
whose ranges are read from FER2013 train faces: their minimum and maximum by default, or (``--ranges``) the
central share of the values (no better on the holdout: docs/research/face.md, step five). The int8 graph runs at a
fifth of the float network's time, at a loss that the card shows (for cnn-v2 a tenth of a point of accuracy). The
per-image standardisation before the convolutions stays in float inside the graph.

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
RANGES = {  # how each activation's range is read from the calibration faces: (onnxruntime's method, options, words)
    "minmax": ("MinMax", {}, "min-max ranges"),
    "percentile-99.999": ("Percentile", {"CalibPercentile": 99.999}, "ranges holding the central 99.999 % of values"),
    "percentile-99.99": ("Percentile", {"CalibPercentile": 99.99}, "ranges holding the central 99.99 % of values"),
}


def calibration_images(count: int = CALIBRATION_IMAGES, seed: int = CALIBRATION_SEED) -> np.ndarray:
    train = load_folder(fer_dir("train"))
    return train.images[np.random.default_rng(seed).choice(len(train.images), count, replace=False)]


def quantize(name: str, root: Path | None = None, ranges: str = "minmax") -> Path:
    """Write ``model-int8.onnx`` for the trained model ``name``, its activation ranges read as ``ranges`` (a key of
    ``RANGES``), and record how in its ``model.json``."""
    from onnxruntime import quantization as ort
    from onnxruntime.quantization.shape_inference import quant_pre_process

    float_model, meta = store.load(name, root)
    network = FlipAveraged(float_model) if meta.flip_average else float_model
    calibration = pixels(calibration_images())

    class Faces(ort.CalibrationDataReader):
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
        method, options, words = RANGES[ranges]
        ort.quantize_static(str(prepared), str(path), Faces(), quant_format=ort.QuantFormat.QDQ, per_channel=True,
                            activation_type=ort.QuantType.QUInt8, weight_type=ort.QuantType.QInt8,
                            calibrate_method=ort.CalibrationMethod[method], extra_options=options)  # fmt: skip
    meta.int8 = {"file": INT8_GRAPH, "runtime": "onnxruntime", "format": "QDQ, per-channel int8 weights, uint8 "
                 f"activations ({words})", "calibration": f"{CALIBRATION_IMAGES} FER2013 train images"
                 f"{' and their mirror images' if meta.flip_average else ''}, seed {CALIBRATION_SEED}"}  # fmt: skip
    store.write_meta(meta, root)
    return path
