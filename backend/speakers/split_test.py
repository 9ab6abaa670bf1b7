"""Whether speech windows are one voice or more: a learned test, fitted by ``python -m speaker_model fit``.

A single voice of acted emotional speech splits into two halves about as far apart as two voices of one corpus do
(GE2E vectors of 1.6 s move with emotion as much as with the speaker), so no one threshold on distance tells them
apart. A handful of cues of the best split in two, weighed together, does better: how far the halves' centres
are, how clearly each window sits with its own half (smoothed and raw), how often the split flips from one window
to the next (voices change with turns, an emotional tone flickers), and how even the halves are. None grows with
the file's length: a group's size, a strong cue on mixtures whose length follows their number of speakers, would
split every long monologue. The weights are a logistic regression over such groups from the tuning speakers'
mixtures (``speaker_model``); they ship in ``split_test.json`` beside this module with how they were fitted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

WEIGHTS = Path(__file__).with_name("split_test.json")
FEATURES = ("centre_similarity", "margin", "smoothing_gain", "silhouette", "flips", "smaller_share")


def centroids(vectors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The unit mean vector of each label 0..max."""
    means = np.stack([vectors[labels == label].mean(axis=0) for label in range(labels.max() + 1)])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


def margin(vectors: np.ndarray, halves: np.ndarray) -> float:
    """How much closer, on average, each window is to its own half's centre than to the other's."""
    similarity = vectors @ centroids(vectors, halves).T
    rows = np.arange(len(halves))
    return float(np.mean(similarity[rows, halves] - similarity[rows, 1 - halves]))


def split_features(raw: np.ndarray, smoothed: np.ndarray, halves: np.ndarray) -> np.ndarray:
    """The cues of FEATURES for a split of windows (rows in time order) into ``halves`` (labels 0 and 1, both
    present): ``raw`` the windows' own vectors, ``smoothed`` each averaged with its neighbours'."""
    from sklearn.metrics import silhouette_score

    centres = centroids(smoothed, halves)
    smoothed_margin = margin(smoothed, halves)
    return np.array([
        float(centres[0] @ centres[1]),
        smoothed_margin,
        smoothed_margin - margin(raw, halves),
        float(silhouette_score(raw, halves, metric="cosine")),
        float(np.mean(halves[1:] != halves[:-1])),
        float(min(halves.mean(), 1 - halves.mean())),
    ])  # fmt: skip


@dataclass(frozen=True)
class SplitTest:
    """A logistic regression over standardised FEATURES; a split is two voices at ``threshold`` or above."""

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float
    threshold: float

    def probability(self, features: np.ndarray) -> float:
        """How likely the split is between two voices."""
        z = float(((features - self.mean) / self.scale) @ self.coef + self.intercept)
        return 1.0 / (1.0 + np.exp(-z))

    def two_voices(self, features: np.ndarray) -> bool:
        return self.probability(features) >= self.threshold

    def to_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "intercept": self.intercept, "threshold": self.threshold}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> SplitTest:
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{WEIGHTS.name} weighs {data['features']}, this code computes {list(FEATURES)}")
        return cls(*(np.asarray(data[key], dtype=float) for key in ("mean", "scale", "coef")),
                   float(data["intercept"]), float(data["threshold"]))  # fmt: skip


@cache
def shipped_split_test() -> SplitTest:
    return SplitTest.from_dict(json.loads(WEIGHTS.read_text())["test"])
