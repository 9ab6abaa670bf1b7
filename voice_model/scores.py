"""The scores every voice model is judged by, for training, cross-validation, evaluation and the cards alike: the
7-label summary and the 6-way collapse (angry and disgust together, as the original project's "negative"), per
corpus and over all, and the headline figures the issues' targets name."""

from __future__ import annotations

import numpy as np

from backend import metrics
from backend.emotions import EMOTIONS

from .data import COLLAPSED6, TO_COLLAPSED6, Utterance


def collapsed_scores(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """The 6-way summary: each of the 7 probabilities added into its collapsed class."""
    collapsed = np.zeros((len(probabilities), len(COLLAPSED6)))
    np.add.at(collapsed.T, TO_COLLAPSED6, probabilities.T)
    return metrics.summary(TO_COLLAPSED6[labels], collapsed.argmax(1), COLLAPSED6)


def corpus_scores(utterances: list[Utterance], probabilities: np.ndarray) -> dict:
    """Per corpus and over all: 7-label and 6-way summaries (UAR over the classes present)."""
    labels = np.array([u.label for u in utterances])
    corpora = np.array([str(u.corpus) for u in utterances])
    out = {}
    for corpus in ["all"] + sorted(set(corpora.tolist())):
        keep = np.ones(len(labels), bool) if corpus == "all" else corpora == corpus
        out[corpus] = {"labels7": metrics.summary(labels[keep], probabilities[keep].argmax(1), EMOTIONS),
                       "collapsed6": collapsed_scores(labels[keep], probabilities[keep])}  # fmt: skip
    return out


def headline(scores: dict) -> dict:
    """The figures the issue's targets name: UAR per corpus, their mean over the non-RAVDESS corpora, RAVDESS 6-way
    macro-F1, and the mean UAR over all corpora (the cross-validation's decision figure)."""
    corpora = [c for c in scores if c != "all"]
    uar = {c: scores[c]["labels7"]["uar"] for c in corpora}
    others = [uar[c] for c in corpora if c != "ravdess"]
    ravdess = scores["ravdess"]["collapsed6"]["macro_f1"] if "ravdess" in scores else None
    return {"uar": uar, "mean_uar": round(float(np.mean(list(uar.values()))), 4),
            "mean_uar_non_ravdess": round(float(np.mean(others)), 4) if others else None,
            "ravdess_macro_f1_6": ravdess}  # fmt: skip
