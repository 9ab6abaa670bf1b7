"""The linear statistics head fitted as a probe (``--head probe``): the graph of ``encoder_head(head="linear")``,
whose softmax layer is fitted by L-BFGS to convergence instead of trained by the epoch loop.

A diagnostic logistic regression on these statistics heard new speakers and new corpora better than the Conv1D
network; the same graph trained by the epoch loop (AdamW on random crops, with dropout) did not. So this fit is
the probe's: whole windows, the statistics standardised by the fitted windows' mean and variance (written into
the graph's batch normalisation, so the runtime computes the same thing), and an L2 penalty whose strength is
chosen by cross-validation over the fitted speakers only; the loss stays the project's (each corpus' own labels,
every (corpus, class) pair weighted equally). In that loss it kept the diagnostic's gain on RAVDESS but not on the
small corpora (README, Voice model).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from backend.emotions import EMOTIONS
from backend.voice import equal_length_batches
from backend.voice_head import encoder_head, keras, predict

from .data import speaker_folds
from .encoded import EncodedWindows

PENALTIES = (0.003, 0.01, 0.03, 0.1)  # L2 strengths tried, per mean window loss
INNER_FOLDS = 3


def window_statistics(model: keras.Model, encoded: EncodedWindows, windows: np.ndarray,
                      blocks: tuple[int, ...]) -> np.ndarray:  # fmt: skip
    """``(len(windows), features)``: what the graph's batch normalisation receives, each window whole."""
    statistics = keras.Model(model.input, model.get_layer("feature_norm").input)
    out = np.zeros((len(windows), statistics.output.shape[-1]), dtype=np.float32)
    for chunk in equal_length_batches(encoded.lengths[windows], 128):
        out[chunk] = predict(statistics, np.stack([encoded.window(int(windows[i]), blocks) for i in chunk]))
    return out


def fit_softmax(x: np.ndarray, targets: np.ndarray, weights: np.ndarray, penalty: float) -> tuple[np.ndarray, ...]:
    """``(W, b)`` minimising the weighted mean cross-entropy over each window's corpus labels (``targets``: one-hot
    then label mask, as the epoch loop's) plus ``penalty / 2 * |W|^2``, on standardised ``x``."""
    x_t, w_t = torch.from_numpy(x).double(), torch.from_numpy(weights / weights.sum()).double()
    n = len(EMOTIONS)
    onehot, mask = torch.from_numpy(targets[:, :n]).double(), torch.from_numpy(targets[:, n:]).double()
    kernel = torch.zeros(x.shape[1], n, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n, dtype=torch.float64, requires_grad=True)
    optimiser = torch.optim.LBFGS([kernel, bias], lr=1.0, max_iter=500, tolerance_grad=1e-6,
                                  line_search_fn="strong_wolfe")  # fmt: skip

    def closure() -> torch.Tensor:
        optimiser.zero_grad()
        logits = (x_t @ kernel + bias).masked_fill(mask == 0, -torch.inf)  # outside the corpus' labels: unknown
        nll = -(w_t * (onehot * torch.log_softmax(logits, dim=1).nan_to_num(neginf=0.0)).sum(1)).sum()
        loss = nll + 0.5 * penalty * kernel.square().sum()
        loss.backward()
        return loss

    optimiser.step(closure)
    return kernel.detach().numpy(), bias.detach().numpy()


def fit_probe(encoded: EncodedWindows, utterance_ids: np.ndarray, blocks: tuple[int, ...],
              targets: np.ndarray, balance: Callable[[np.ndarray], np.ndarray],
              score: Callable[[keras.Model, np.ndarray], float], log=print) -> tuple[keras.Model, dict]:  # fmt: skip
    """The probe fitted on the windows of ``utterance_ids``; ``targets`` are every window's (one-hot, mask) rows,
    ``balance`` gives windows their weights and ``score`` a model's mean UAR on utterances (to choose the penalty
    by ``INNER_FOLDS``-fold cross-validation over the fitted speakers)."""
    model = encoder_head(len(blocks), head="linear")
    windows = encoded.subset(utterance_ids)
    x = window_statistics(model, encoded, windows, blocks)
    utterances = encoded.utterances
    speakers = sorted({utterances[i].speaker for i in utterance_ids})
    owner = encoded.utterance_index[windows]
    inner = {}
    for penalty in PENALTIES:
        held_scores = []
        for held in speaker_folds([utterances[i] for i in utterance_ids], speakers, INNER_FOLDS):
            held_out = np.isin(owner, [i for i in utterance_ids if utterances[i].speaker in set(held)])
            fitted = _fitted(model, x, windows, ~held_out, targets, balance, penalty)
            held_scores.append(score(fitted, np.unique(owner[held_out])))
        inner[penalty] = round(float(np.mean(held_scores)), 4)
    chosen = max(PENALTIES, key=lambda p: inner[p])
    log(f"probe penalty by inner cross-validation (mean UAR): {inner}; chosen {chosen}")
    record = {"inner_mean_uar": {str(p): s for p, s in inner.items()}, "penalty": chosen}
    return _fitted(model, x, windows, np.ones(len(windows), bool), targets, balance, chosen), record


def _fitted(model: keras.Model, x: np.ndarray, windows: np.ndarray, keep: np.ndarray, targets: np.ndarray,
            balance: Callable[[np.ndarray], np.ndarray], penalty: float) -> keras.Model:  # fmt: skip
    """A copy of ``model`` whose standardisation and softmax layer are fitted on the windows ``keep`` selects."""
    fitted = keras.models.clone_model(model)
    fitted.set_weights(model.get_weights())
    norm = fitted.get_layer("feature_norm")
    mean, variance = x[keep].mean(0), x[keep].var(0)
    norm.set_weights([np.ones_like(mean), np.zeros_like(mean), mean, variance])  # gamma, beta, moving stats
    standardised = (x[keep] - mean) / np.sqrt(variance + norm.epsilon)
    kernel, bias = fit_softmax(standardised, targets[windows[keep]], balance(windows[keep]), penalty)
    fitted.layers[-1].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return fitted
