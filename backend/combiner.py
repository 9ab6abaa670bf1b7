"""The learned rule that fuses a face's and a voice's emotion into one calibrated distribution.

Weighted log-linear pooling: ``log q(y) = b_y + w_face * log p_face(y) + w_voice * log p_voice(y)``, normalised;
a recipe may fix the class biases ``b_y`` at 0. The weights act as each model's temperature, which is what
calibrates the fused distribution; in the gated recipe each is a softplus of a linear function of that modality's
reliability features (entropy, face size, speech share), in the constant recipe one number per modality. Either
way a small or turned face, whose distribution the face model already flattens, moves the fused log-odds less than
a clear one: what each modality contributed is reported as its share of the evidence (``Combiner.forward``). At
most thirteen numbers, fitted by ``fusion_model`` on labelled pairs built from the shared data and shipped as
``fusion_model/models/<name>/combiner.json``.

The torch module is the one definition both the fitting (autograd) and the runtime use.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass

import numpy as np
import torch

from .config import Settings, shown_path
from .emotions import EMOTIONS
from .errors import ModelUnavailableError
from .faces.classifiers.base import ModelInfo

COMBINER_FILE = "combiner.json"
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


def _centred(log_p: torch.Tensor) -> torch.Tensor:
    return log_p - log_p.mean(dim=-1, keepdim=True)  # the softmax does not see a constant: only this part counts


def _log(probabilities: torch.Tensor) -> torch.Tensor:
    p = probabilities.clamp_min(PROBABILITY_FLOOR)
    return torch.log(p / p.sum(dim=-1, keepdim=True))


def combiner_inputs(face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray,
                    speech_share: np.ndarray) -> list[torch.Tensor]:  # fmt: skip
    """The combiner's four inputs, from (N, 7) probabilities and the (N,) face sizes and speech shares."""
    arrays = (face, face_reliability(face, face_size_px), voice, voice_reliability(voice, speech_share))
    return [torch.as_tensor(np.asarray(a, dtype=np.float64)) for a in arrays]


def _vector(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


class Combiner(torch.nn.Module):
    """``forward`` returns the fused log-probabilities and the face's share of the evidence, for batches of
    windows (autograd, for fitting); ``fuse`` the same as arrays."""

    def __init__(self, reliability_gates: bool = True, class_biases: bool = True):
        super().__init__()
        self.reliability_gates = reliability_gates  # False: one constant weight per modality (the simpler recipe)
        self.class_biases = class_biases  # False: the biases stay 0 when fitted, the weights alone shape the fusion
        self.face_gate = torch.nn.Linear(len(FACE_FEATURES), 1, dtype=torch.float64)
        self.voice_gate = torch.nn.Linear(len(VOICE_FEATURES), 1, dtype=torch.float64)
        self.class_bias = torch.nn.Parameter(torch.zeros(len(EMOTIONS), dtype=torch.float64), class_biases)
        for gate in (self.face_gate, self.voice_gate):  # start at product pooling: softplus(log(e - 1)) = 1
            torch.nn.init.zeros_(gate.weight)
            torch.nn.init.constant_(gate.bias, math.log(math.e - 1))

    def weights(self, face_reliability: torch.Tensor, voice_reliability: torch.Tensor) -> tuple[torch.Tensor, ...]:
        def gated(gate: torch.nn.Linear, features: torch.Tensor) -> torch.Tensor:
            slope = features @ gate.weight.T if self.reliability_gates else features.new_zeros(len(features), 1)
            return torch.nn.functional.softplus(gate.bias + slope).squeeze(-1)

        return gated(self.face_gate, face_reliability), gated(self.voice_gate, voice_reliability)

    def forward(self, face: torch.Tensor, face_reliability: torch.Tensor, voice: torch.Tensor,
                voice_reliability: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """The fused log-probabilities, and the face's share of the evidence: each modality moves the fused
        log-odds by its weight times its own centred log-probabilities, so a flat (unsure) distribution moves them
        little whatever its weight; the share is the face's part of the two movements' lengths."""
        w_face, w_voice = self.weights(face_reliability, voice_reliability)
        pushes = [w[:, None] * _centred(_log(p)) for w, p in ((w_face, face), (w_voice, voice))]
        logits = self.class_bias + pushes[0] + pushes[1]
        face_push, voice_push = (push.norm(dim=-1) for push in pushes)
        return torch.log_softmax(logits, dim=-1), face_push / (face_push + voice_push).clamp_min(1e-12)

    def to_json(self) -> dict:
        return {"reliability_gates": self.reliability_gates, "class_biases": self.class_biases,
                "face_gate": {"bias": self.face_gate.bias.item(),
                              "weights": dict(zip(FACE_FEATURES, self.face_gate.weight[0].tolist()))},
                "voice_gate": {"bias": self.voice_gate.bias.item(),
                               "weights": dict(zip(VOICE_FEATURES, self.voice_gate.weight[0].tolist()))},
                "class_bias": dict(zip(EMOTIONS, self.class_bias.tolist()))}  # fmt: skip

    def fuse(self, face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray, speech_share: np.ndarray) -> Fused:
        """Windows in which both a face and speech were observed: (N, 7) face and voice probabilities, the face's
        short side in pixels and the window's speech share, (N,) each."""
        with torch.no_grad():
            log_q, face_share = self(*combiner_inputs(face, face_size_px, voice, speech_share))
        return Fused(torch.exp(log_q).numpy(), face_share.numpy())

    @classmethod
    def from_json(cls, spec: dict) -> Combiner:
        combiner = cls(spec["reliability_gates"], spec["class_biases"])
        with torch.no_grad():
            for gate, key, names in ((combiner.face_gate, "face_gate", FACE_FEATURES),
                                     (combiner.voice_gate, "voice_gate", VOICE_FEATURES)):  # fmt: skip
                gate.bias.fill_(spec[key]["bias"])
                gate.weight.copy_(_vector([spec[key]["weights"][name] for name in names]))
            combiner.class_bias.copy_(_vector([spec["class_bias"][name] for name in EMOTIONS]))
        return combiner.eval()


@dataclass(frozen=True)
class Fused:
    """Fused distributions (N, 7) and the face's share of the evidence (N,); the voice's is the rest."""

    probabilities: np.ndarray
    face_share: np.ndarray


class FusionModel:
    """A shipped combiner, loaded once per process (:func:`get_fusion_model`)."""

    def __init__(self, name: str, settings: Settings):
        path = settings.fusion_model_dir / name / COMBINER_FILE
        try:
            raw = path.read_bytes()
            self.combiner = Combiner.from_json(json.loads(raw))
        except (OSError, ValueError, KeyError) as exc:
            raise ModelUnavailableError(f"fusion model '{name}' cannot be read from {path}: {exc}",
                                        details={"model": name}) from exc  # fmt: skip
        self.info = ModelInfo(role="fusion", name=f"fusion/{name}", version=name, source=shown_path(path.parent),
                              sha256=hashlib.sha256(raw).hexdigest())  # fmt: skip

    def fuse(self, face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray, speech_share: np.ndarray) -> Fused:
        return self.combiner.fuse(face, face_size_px, voice, speech_share)


_loaded: dict[tuple[str, Settings], FusionModel] = {}
_lock = threading.Lock()


def get_fusion_model(settings: Settings, name: str | None = None) -> FusionModel:
    name = name or settings.fusion_model_name
    with _lock:
        if (name, settings) not in _loaded:
            _loaded[(name, settings)] = FusionModel(name, settings)
        return _loaded[(name, settings)]
