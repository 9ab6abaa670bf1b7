"""Fitting the combiner (full-batch L-BFGS on the class-balanced negative log-likelihood) and scoring fused and
single-modality distributions the same way."""

from __future__ import annotations

import numpy as np
import torch

from backend.emotions import EMOTIONS
from backend.metrics import accuracy, confusion_matrix, expected_calibration_error, macro_f1

from .combiner import Combiner, combiner_inputs
from .pairs import Pairs

L2 = 1e-3  # on the gate coefficients and class biases (those fitted): a mild pull towards product pooling
# name -> (reliability-gated weights, class biases); "constant" is one weight per modality and nothing else
RECIPES = {"constant": (False, False), "constant+bias": (False, True),
           "gated": (True, False), "gated+bias": (True, True)}  # fmt: skip
LAB_ONLY = "constant+bias, lab pairs only"  # fusion-v5's recipe fitted as it was: scored beside on other pairs
MARGIN = 0.01  # nats of held-out NLL that a part (biases, gates) must gain to be kept (fusion_model.__main__)


def _tensors(pairs: Pairs) -> list[torch.Tensor]:
    return combiner_inputs(pairs.face, pairs.face_size, pairs.voice, pairs.speech_share)


def _class_weights(labels: np.ndarray) -> torch.Tensor:
    """Each class present weighs the same in total: the label mix of the shared corpora is not the world's."""
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(float)
    weights = np.divide(1.0, counts, out=np.zeros_like(counts), where=counts > 0)[labels]
    return torch.as_tensor(weights / weights.sum())


def fit(pairs: Pairs, reliability_gates: bool = True, class_biases: bool = True) -> Combiner:
    combiner = Combiner(reliability_gates, class_biases)
    inputs, labels = _tensors(pairs), torch.as_tensor(pairs.label)
    weights = _class_weights(pairs.label)
    optimiser = torch.optim.LBFGS(combiner.parameters(), lr=0.5, max_iter=500, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        log_q, _ = combiner(*inputs)
        nll = -(weights * log_q[torch.arange(len(labels)), labels]).sum()
        penalty = combiner.face_gate.weight.square().sum() + combiner.voice_gate.weight.square().sum()
        loss = nll + L2 * (penalty + combiner.class_bias.square().sum())
        loss.backward()
        return loss

    optimiser.step(closure)
    return combiner.eval()


def fused_probabilities(combiner: Combiner, pairs: Pairs) -> tuple[np.ndarray, np.ndarray]:
    """(N, 7) fused distributions and (N,) the face's share of the evidence (``Combiner.forward``)."""
    with torch.no_grad():
        log_q, face_share = combiner(*_tensors(pairs))
    return torch.exp(log_q).numpy(), face_share.numpy()


def product_probabilities(pairs: Pairs) -> np.ndarray:
    """Plain product of the two distributions: the unfitted baseline (what fusing without learning gives)."""
    with torch.no_grad():
        log_q, _ = Combiner(reliability_gates=False, class_biases=False)(*_tensors(pairs))
    return torch.exp(log_q).numpy()


def scores(probabilities: np.ndarray, pairs: Pairs) -> dict:
    """Per window: accuracy, macro-F1, expected calibration error and its sign (mean confidence minus accuracy),
    class-balanced NLL; per clip: the accuracy of the clip's dominant emotion (the highest mean probability over
    its windows)."""
    predicted = probabilities.argmax(axis=1)
    matrix = confusion_matrix(pairs.label, predicted, len(EMOTIONS))
    clips = np.unique(pairs.clip)
    means = np.array([probabilities[pairs.clip == c].mean(axis=0) for c in clips])
    truth = np.array([pairs.label[pairs.clip == c][0] for c in clips])
    weights = _class_weights(pairs.label).numpy()
    picked = np.clip(probabilities[np.arange(len(predicted)), pairs.label], 1e-12, 1.0)
    return {"windows": len(predicted), "clips": len(clips),
            "window_accuracy": round(accuracy(matrix), 4), "window_macro_f1": round(macro_f1(matrix), 4),
            "ece": round(expected_calibration_error(probabilities, pairs.label), 4),
            "overconfidence": round(float((probabilities.max(axis=1) - (predicted == pairs.label)).mean()), 4),
            "balanced_nll": round(float(-(weights * np.log(picked)).sum()), 4),
            "clip_accuracy": round(float((means.argmax(axis=1) == truth).mean()), 4)}  # fmt: skip
