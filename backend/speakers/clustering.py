"""Grouping window embeddings into speakers: how many there are, and which window is whose.

Spectral clustering of a pruned cosine affinity (each window keeps only its nearest PRUNE_SHARE of the others,
which leaves the graph of one voice's windows dense and the links between voices few), as in Park et al. (2019,
"Auto-tuning spectral clustering for speaker diarization"), with the number of speakers from the largest gap
between the graph Laplacian's eigenvalues. The eigengap cannot say "one": the learned test of
:mod:`backend.speakers.split_test` says whether the best split in two is two voices at all. PRUNE_SHARE and
MIN_GROUP were tuned on the tuning speakers of speaker_model/mixtures.py.
"""

from __future__ import annotations

import warnings

import numpy as np

from backend.speakers.split_test import SplitTest, shipped_split_test, split_features

MAX_SPEAKERS = 10
PRUNE_SHARE = 0.2  # each window's affinity keeps its nearest this share of the windows
MIN_GROUP = 10  # windows (4 s of speech): fewer are one voice, never split further


def pruned_affinity(embeddings: np.ndarray, share: float = PRUNE_SHARE) -> np.ndarray:
    """Cosine affinity, each row cut to its nearest ``share`` of windows, made symmetric and non-negative."""
    affinity = np.clip(embeddings @ embeddings.T, 0.0, None)
    keep = max(2, int(share * len(affinity)))
    floor = -np.partition(-affinity, keep - 1, axis=1)[:, keep - 1 : keep]
    affinity = np.where(affinity >= floor, affinity, 0.0)
    return np.maximum(affinity, affinity.T)


def _relabel_by_first_appearance(labels: np.ndarray) -> np.ndarray:
    order = {label: i for i, label in enumerate(dict.fromkeys(labels.tolist()))}
    return np.array([order[label] for label in labels.tolist()], dtype=int)


def spectral(affinity: np.ndarray, count: int) -> np.ndarray:
    """``count`` groups of the affinity graph. A graph in disconnected pieces is the clearest case of groups, not a
    fault, so scikit-learn's warning about it is not passed on."""
    from sklearn.cluster import SpectralClustering

    if count == 1 or len(affinity) <= count:
        return np.zeros(len(affinity), dtype=int)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return SpectralClustering(count, affinity="precomputed", random_state=0).fit_predict(affinity)


def best_split(raw: np.ndarray, smoothed: np.ndarray, affinity: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The spectral split of a group in two, and its :func:`split_features` (None where a half is empty)."""
    halves = spectral(affinity, 2)
    if halves.min() == halves.max():
        return halves, None
    return halves, split_features(raw, smoothed, halves)


def eigengap_count(affinity: np.ndarray, most: int = MAX_SPEAKERS) -> int:
    """The number of groups (2 at least) the affinity graph falls into: where its normalised Laplacian's
    eigenvalues, in ascending order, jump the most."""
    from scipy.sparse.csgraph import laplacian

    values = np.linalg.eigvalsh(laplacian(affinity, normed=True))[: most + 1]
    return int(np.argmax(np.diff(values)[1:])) + 2


def count_voices(raw: np.ndarray, smoothed: np.ndarray, affinity: np.ndarray, test: SplitTest | None = None) -> int:
    """One voice unless the best split in two leaves MIN_GROUP windows on each side and ``test`` (the shipped one
    by default) says it is two voices; then as many as the eigengap says."""
    halves, features = best_split(raw, smoothed, affinity)
    if (
        features is None
        or min(np.bincount(halves)) < MIN_GROUP
        or not (test or shipped_split_test()).two_voices(features)
    ):
        return 1
    return eigengap_count(affinity, min(MAX_SPEAKERS, len(raw) - 2))


def cluster(raw: np.ndarray, smoothed: np.ndarray, speakers: int | None = None) -> np.ndarray:
    """A speaker label per window (rows in time order), 0..k-1 in order of first appearance: ``speakers`` of them
    when given, otherwise as many as :func:`count_voices` finds. ``raw``: the windows' own vectors; ``smoothed``:
    each averaged with its neighbours', which the groups are made from."""
    affinity = pruned_affinity(smoothed)
    count = speakers or count_voices(raw, smoothed, affinity)
    return _relabel_by_first_appearance(spectral(affinity, count))
