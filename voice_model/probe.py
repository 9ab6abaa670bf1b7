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

import numpy as np
import torch

from backend.emotions import EMOTIONS
from backend.metrics import softmax
from backend.voice.head import encoder_head, keras

from .data import speaker_folds
from .encoded import EncodedWindows
from .encoder_outputs import utterance_means, window_outputs
from .scores import corpus_scores, headline

PENALTIES = (0.003, 0.01, 0.03, 0.1)  # L2 strengths tried, per mean window loss
INNER_FOLDS = 3


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


def fit_probe(encoded: EncodedWindows, utterance_ids: np.ndarray, blocks: tuple[int, ...], targets: np.ndarray,
              log=print) -> tuple[keras.Model, dict]:  # fmt: skip
    """The probe fitted on the windows of ``utterance_ids``; ``targets`` are every window's (one-hot, mask) rows.
    The penalty is chosen by the mean UAR of an ``INNER_FOLDS``-fold cross-validation over the fitted speakers,
    scored on the statistics computed once, without running the graph again."""
    model = encoder_head(len(blocks), head="linear")
    norm = model.get_layer("feature_norm")
    windows = encoded.subset(utterance_ids)
    x = window_outputs(keras.Model(model.input, norm.input), encoded, windows, blocks)
    utterances = encoded.utterances
    speakers = sorted({utterances[i].speaker for i in utterance_ids})
    owner = encoded.utterance_index[windows]
    inner = {}
    for penalty in PENALTIES:
        held_scores = []
        for held in speaker_folds([utterances[i] for i in utterance_ids], speakers, INNER_FOLDS):
            out = np.isin(owner, [i for i in utterance_ids if utterances[i].speaker in set(held)])
            mean, variance, kernel, bias = _fit(x[~out], encoded, windows[~out], targets, penalty, norm.epsilon)
            probabilities = softmax((x[out] - mean) / np.sqrt(variance + norm.epsilon) @ kernel + bias)
            ids = np.unique(owner[out])
            scores = corpus_scores([utterances[i] for i in ids], utterance_means(probabilities, owner[out], ids))
            held_scores.append(headline(scores)["mean_uar"])
        inner[penalty] = round(float(np.mean(held_scores)), 4)
    chosen = max(PENALTIES, key=lambda p: inner[p])
    log(f"probe penalty by inner cross-validation (mean UAR): {inner}; chosen {chosen}")
    mean, variance, kernel, bias = _fit(x, encoded, windows, targets, chosen, norm.epsilon)
    norm.set_weights([np.ones_like(mean), np.zeros_like(mean), mean, variance])  # gamma, beta, moving stats
    model.layers[-1].set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    return model, {"inner_mean_uar": {str(p): s for p, s in inner.items()}, "penalty": chosen}


def _fit(x: np.ndarray, encoded: EncodedWindows, windows: np.ndarray, targets: np.ndarray, penalty: float,
         epsilon: float) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The standardisation (mean, variance) of the statistics ``x`` of ``windows`` and the softmax layer (kernel,
    bias) fitted on them with the epoch loop's balance, as the graph's batch normalisation (with ``epsilon``) and
    last layer use them."""
    mean, variance = x.mean(0), x.var(0)
    standardised = (x - mean) / np.sqrt(variance + epsilon)
    kernel, bias = fit_softmax(standardised, targets[windows], encoded.balance_weights(windows), penalty)
    return mean, variance, kernel, bias
