"""The fusion rule (:mod:`backend.fusion.combiner`) as the torch module that the fitting differentiates, and its graph
for the runtime: ``combiner.onnx``, written beside ``combiner.json`` and run by onnxruntime, so that one
definition serves both and an analysis never starts torch to fuse."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import torch

from backend.emotions import EMOTIONS
from backend.fusion.combiner import (
    COMBINER_GRAPH,
    FACE_FEATURES,
    GRAPH_INPUT,
    GRAPH_OUTPUTS,
    PACKED_WIDTH,
    PROBABILITY_FLOOR,
    VOICE_FEATURES,
    packed_inputs,
    unpacked,
)
from backend.onnx_export import export_graph


def _centred(log_p: torch.Tensor) -> torch.Tensor:
    return log_p - log_p.mean(dim=-1, keepdim=True)  # the softmax does not see a constant: only this part counts


def _log(probabilities: torch.Tensor) -> torch.Tensor:
    p = probabilities.clamp_min(PROBABILITY_FLOOR)
    return torch.log(p / p.sum(dim=-1, keepdim=True))


def combiner_inputs(face: np.ndarray, face_size_px: np.ndarray, voice: np.ndarray,
                    speech_share: np.ndarray) -> list[torch.Tensor]:  # fmt: skip
    """The combiner's four inputs, from (N, 7) probabilities and the (N,) face sizes and speech shares."""
    packed = packed_inputs(face, face_size_px, voice, speech_share)
    return [torch.as_tensor(part) for part in unpacked(packed)]


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
            slope = features @ gate.weight.T if self.reliability_gates else torch.zeros_like(features[:, :1])
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


def write_graph(combiner: Combiner, folder: Path) -> Path:
    """``combiner.onnx`` in ``folder``: the combiner in float32 over the packed input (one row per window)."""

    class Packed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.combiner = copy.deepcopy(combiner).float().eval()

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.combiner(*unpacked(x))

    example = torch.full((2, PACKED_WIDTH), 0.5)
    return export_graph(Packed(), example, folder / COMBINER_GRAPH, GRAPH_INPUT, list(GRAPH_OUTPUTS), {0: "windows"})
