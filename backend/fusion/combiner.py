"""The learned rule that fuses a face's and a voice's emotion into one calibrated distribution.

Weighted log-linear pooling: ``log q(y) = b_y + w_face * log p_face(y) + w_voice * log p_voice(y)``, normalised;
a recipe may fix the class biases ``b_y`` at 0. The weights act as each model's temperature, which is what
calibrates the fused distribution; in the gated recipe each is a softplus of a linear function of that modality's
reliability features (entropy, face size, speech share), in the constant recipe one number per modality. Either
way a small or turned face, whose distribution the face model already flattens, moves the fused log-odds less than
a clear one: what each modality contributed is reported as its share of the evidence (``Combiner.forward``). At
most thirteen numbers, fitted by ``fusion_model`` on labelled pairs built from the shared data and shipped as
``fusion_model/models/<name>/combiner.json`` (the numbers) beside ``combiner.onnx`` (the rule as a graph).

The rule is defined once, as the torch module that the fitting differentiates (``fusion_model/combiner.py``); the
runtime runs its graph in onnxruntime, so fusing never starts torch (1.4-2 s of a fresh process).
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass

import numpy as np

from backend.config import Settings, shown_path
from backend.emotions import EMOTIONS
from backend.errors import ModelUnavailableError
from backend.model_info import ModelInfo

COMBINER_FILE = "combiner.json"
COMBINER_GRAPH = "combiner.onnx"
GRAPH_INPUT = "windows"  # (N, PACKED_WIDTH): packed_inputs
GRAPH_OUTPUTS = ("fused_log_probabilities", "face_share")
FACE_FEATURES = ("face_entropy", "face_size")
VOICE_FEATURES = ("voice_entropy", "speech_share")
PROBABILITY_FLOOR = 1e-4  # a model's 0 would make its log -inf and veto the other modality outright
FULL_FACE_PX = 48  # the face model's input side: a larger face carries no more detail into it
SMALLEST_FACE_PX = 8


def normalised_entropy(probabilities: np.ndarray) -> np.ndarray:
    """Entropy over the 7 labels divided by log 7: 0 for a certain model, 1 for a uniform one."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), PROBABILITY_FLOOR, 1.0)
    p = p / p.sum(axis=-1, keepdims=True)
    return -(p * np.log(p)).sum(axis=-1) / math.log(len(EMOTIONS))


def face_reliability(probabilities: np.ndarray, size_px: np.ndarray | float) -> np.ndarray:
    """(..., 2): the face model's normalised entropy and log2 of the face's short side over 48 px, capped at 0."""
    size = np.clip(np.asarray(size_px, dtype=np.float64), SMALLEST_FACE_PX, FULL_FACE_PX)
    return np.stack(np.broadcast_arrays(normalised_entropy(probabilities), np.log2(size / FULL_FACE_PX)), axis=-1)


def voice_reliability(probabilities: np.ndarray, speech_share: np.ndarray | float) -> np.ndarray:
    """(..., 2): the voice model's normalised entropy and the share of the window that is speech."""
    share = np.clip(np.asarray(speech_share, dtype=np.float64), 0.0, 1.0)
    return np.stack(np.broadcast_arrays(normalised_entropy(probabilities), share), axis=-1)


PACKED_WIDTH = 2 * len(EMOTIONS) + len(FACE_FEATURES) + len(VOICE_FEATURES)


def packed_inputs(
    face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray, speech_share: np.ndarray
) -> np.ndarray:
    """``(N, PACKED_WIDTH)`` float64: each window's face probabilities, face reliability, voice probabilities and
    voice reliability side by side, the combiner graph's one input (:func:`unpacked` splits it)."""
    parts = (face, face_reliability(face, face_size_px), voice, voice_reliability(voice, speech_share))
    return np.concatenate([np.asarray(part, dtype=np.float64) for part in parts], axis=-1)


def unpacked(packed):
    """The four parts of :func:`packed_inputs`' rows (numpy arrays or torch tensors alike)."""
    n, f = len(EMOTIONS), len(FACE_FEATURES)
    return packed[:, :n], packed[:, n : n + f], packed[:, n + f : 2 * n + f], packed[:, 2 * n + f :]


@dataclass(frozen=True)
class Fused:
    """Fused distributions (N, 7) and the face's share of the evidence (N,); the voice's is the rest."""

    probabilities: np.ndarray
    face_share: np.ndarray


class FusionModel:
    """A shipped combiner, loaded once per process (:func:`get_fusion_model`)."""

    def __init__(self, name: str, settings: Settings):
        from backend.onnx_network import OnnxNetwork

        path = settings.fusion_model_dir / name / COMBINER_GRAPH
        try:
            raw = path.read_bytes()
            self._graph = OnnxNetwork(path)
        except Exception as exc:  # a missing, truncated or foreign file: onnxruntime raises its own error types
            raise ModelUnavailableError(f"fusion model '{name}' cannot be read from {path}: {exc}; write it with "
                                        f"`python -m fusion_model graph --name {name}`",
                                        details={"model": name}) from exc  # fmt: skip
        self.info = ModelInfo(role="fusion", name=f"fusion/{name}", version=name, source=shown_path(path.parent),
                              sha256=hashlib.sha256(raw).hexdigest())  # fmt: skip

    def fuse(self, face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray, speech_share: np.ndarray) -> Fused:
        """Windows in which both a face and speech were observed: (N, 7) face and voice probabilities, the face's
        short side in pixels and the window's speech share, (N,) each."""
        log_q, face_share = self._graph.outputs(packed_inputs(face, face_size_px, voice, speech_share))
        probabilities = np.exp(log_q.astype(np.float64))
        return Fused(probabilities / probabilities.sum(axis=1, keepdims=True), face_share.astype(np.float64))


_loaded: dict[tuple[str, Settings], FusionModel] = {}
_lock = threading.Lock()


def get_fusion_model(settings: Settings, name: str | None = None) -> FusionModel:
    name = name or settings.fusion_model_name
    with _lock:
        if (name, settings) not in _loaded:
            _loaded[(name, settings)] = FusionModel(name, settings)
        return _loaded[(name, settings)]
