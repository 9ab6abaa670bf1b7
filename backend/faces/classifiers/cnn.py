"""The default classifier: our own CNN on 48x48 grayscale faces (trained by ``face_model``), shipped with the
project. It runs the model's int8 graph in onnxruntime where the model ships one (the default models do), else
its float weights in torch. A face small in its frame goes to a second model trained on faces seen that way
(``Settings.cnn_small_face_model``): the default model reads a face of 24 px in its frame little better than
chance, the second one at full size a point worse than the default (README, Face model, steps six and seven)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from backend.config import Settings, shown_path
from backend.errors import ModelUnavailableError
from backend.faces import cnn_store as store
from backend.faces.cnn_int8 import INT8_GRAPH, int8_graph, pixels
from backend.metrics import softmax
from backend.model_info import ModelInfo
from backend.onnx_network import OnnxNetwork

from .base import FaceClassifier


class CnnClassifier(FaceClassifier):
    def __init__(self, settings: Settings):
        name, root = settings.cnn_model_name, settings.face_model_dir
        try:
            self._meta = store.read_meta(name, root)
            self._int8 = settings.face_int8 and bool(self._meta.int8)
            self._logits = OnnxNetwork(int8_graph(name, root)) if self._int8 else _float_logits(name, root)
        except FileNotFoundError as exc:
            raise ModelUnavailableError(str(exc), details={"model": "cnn"}) from exc
        self.info = ModelInfo(
            role="face_classifier",
            name=f"cnn/{name}",
            version=f"{self._meta.version}+int8" if self._int8 else self._meta.version,
            source=shown_path(store.model_dir(name, root)),
            sha256=store.weights_sha256(name, root, INT8_GRAPH if self._int8 else "weights.pt"),
        )
        self._small, self._small_below = None, settings.small_face_model_below_px
        if settings.cnn_small_face_model and settings.cnn_small_face_model != name:
            self._small = CnnClassifier(settings.replace(cnn_model_name=settings.cnn_small_face_model,
                                                         cnn_small_face_model=""))  # fmt: skip
            self.components = (replace(self._small.info, role="face_classifier_small_faces"),)

    def predict(self, faces: list[np.ndarray], sizes: Sequence[float] | None = None) -> np.ndarray:
        """A face of known size under ``small_face_model_below_px`` is read by the small-face model, any other
        (an image classified as it is has no size) by this one."""
        if self._small is None or sizes is None:
            return self._predict(faces, sizes)
        small = np.asarray(sizes, dtype=np.float64) < self._small_below
        out = np.zeros((len(faces), len(self._meta.labels)), dtype=np.float32)
        for model, chosen in ((self._small, np.flatnonzero(small)), (self, np.flatnonzero(~small))):
            if len(chosen):
                out[chosen] = model._predict([faces[i] for i in chosen], [sizes[i] for i in chosen])
        return out

    def _predict(self, faces: list[np.ndarray], sizes: Sequence[float] | None = None) -> np.ndarray:
        if not faces:
            return np.zeros((0, len(self._meta.labels)), dtype=np.float32)
        logits = self._logits(pixels(np.stack([network_input(face, self._meta.input_size) for face in faces])))
        temperature = self._meta.temperature * size_scale(self._meta.size_temperatures, sizes, len(faces))
        return softmax(logits.astype(np.float64), temperature[:, None]).astype(np.float32)


def network_input(face: np.ndarray, side: int) -> np.ndarray:
    """An aligned face crop (RGB or gray) as the network reads it: gray, ``side`` px square, uint8."""
    gray = cv2.cvtColor(face, cv2.COLOR_RGB2GRAY) if face.ndim == 3 else face
    return cv2.resize(gray, (side, side), interpolation=cv2.INTER_AREA)


def size_scale(table: dict[str, float], sizes: Sequence[float] | None, n: int) -> np.ndarray:
    """(n,) multipliers of the temperature for faces of short side ``sizes`` (px in their frame): the fitted
    ``table``'s, interpolated in log2 of the size between its sizes and held at its ends; 1 without a table or
    sizes."""
    if not table or sizes is None:
        return np.ones(n)
    fitted = sorted((float(size), scale) for size, scale in table.items())
    return np.interp(np.log2(np.maximum(np.asarray(sizes, dtype=np.float64), 1.0)),
                     np.log2([size for size, _ in fitted]), [scale for _, scale in fitted])  # fmt: skip


def _float_logits(name: str, root: Path) -> Callable[[np.ndarray], np.ndarray]:
    """The float weights in torch (``EMOCLASSIFY_FACE_INT8=0``, or a model shipped without an int8 graph)."""
    import torch

    from backend.faces.cnn_network import predict_logits

    model, meta = store.load(name, root)
    # oneDNN's float convolutions run faster on channels-last tensors (4.5 -> 3.3 ms a face here)
    model = model.to(memory_format=torch.channels_last)

    def logits(pixels: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(pixels).contiguous(memory_format=torch.channels_last)
        return predict_logits(model, x, meta.flip_average).numpy()

    return logits
