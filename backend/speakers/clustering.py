"""Grouping window embeddings into speakers: how many there are, and which window is whose.

Spectral clustering of a pruned cosine affinity (each window keeps only its nearest PRUNE_SHARE of the others,
which leaves the graph of one voice's windows dense and the links between voices few), as in Park et al. (2019,
"Auto-tuning spectral clustering for speaker diarization"), with the number of speakers from the largest gap
between the graph Laplacian's eigenvalues. The eigengap cannot say "one": a test of the best split in two
(:func:`two_voices`) says whether there is more than one voice at all. Constants tuned on the tuning
speakers of speaker_model/mixtures.py (bench/bench_diarization.py --part tuning); a learned test in place of
the two thresholds was tried and not shipped (docs/research/speakers.md).
"""

from __future__ import annotations

import warnings

import numpy as np

MAX_SPEAKERS = 10
PRUNE_SHARE = 0.2  # each window's affinity keeps its nearest this share of the windows
MIN_MARGIN = 0.08  # see two_voices
CONSISTENCY = 0.97  # see two_voices
MIN_GROUP = 10  # windows (4 s of speech): fewer are one voice


def centroids(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """The unit mean vector of each label 0..max."""
    means = np.stack([embeddings[labels == label].mean(axis=0) for label in range(labels.max() + 1)])
    return means / np.linalg.norm(means, axis=1, keepdims=True)


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


def margin(embeddings: np.ndarray, labels: np.ndarray) -> float:
    """How much closer, on average, each window is to its own group's centre than to the other group's (two
    groups, labels 0 and 1)."""
    similarity = embeddings @ centroids(embeddings, labels).T
    rows = np.arange(len(labels))
    return float(np.mean(similarity[rows, labels] - similarity[rows, 1 - labels]))


def two_voices(raw: np.ndarray, smoothed: np.ndarray, halves: np.ndarray) -> bool:
    """Whether a split in two is two voices. Two tests: the halves stand apart (MIN_MARGIN), and the split holds
    over time: averaging each window with its neighbours widens a split between voices, since neighbours are
    mostly the same voice, but narrows one within a voice (tone, emotion, loudness), which comes and goes faster
    than the speaker does (CONSISTENCY: the smoothed margin over the raw one)."""
    separation = margin(smoothed, halves)
    return separation >= MIN_MARGIN and separation >= CONSISTENCY * margin(raw, halves)


def spectral(affinity: np.ndarray, count: int) -> np.ndarray:
    """``count`` groups of the affinity graph. A graph in disconnected pieces is the clearest case of groups, not a
    fault, so scikit-learn's warning about it is not passed on."""
    from sklearn.cluster import SpectralClustering

    if count == 1 or len(affinity) <= count:
        return np.zeros(len(affinity), dtype=int)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return SpectralClustering(count, affinity="precomputed", random_state=0).fit_predict(affinity)


def eigengap_count(affinity: np.ndarray, most: int = MAX_SPEAKERS) -> int:
    """The number of groups (2 at least) the affinity graph falls into: where its normalised Laplacian's
    eigenvalues, in ascending order, jump the most."""
    from scipy.sparse.csgraph import laplacian

    values = np.linalg.eigvalsh(laplacian(affinity, normed=True))[: most + 1]
    return int(np.argmax(np.diff(values)[1:])) + 2


def count_voices(raw: np.ndarray, smoothed: np.ndarray, affinity: np.ndarray) -> int:
    """One voice unless the best split in two passes :func:`two_voices`; then as many as the eigengap says."""
    if len(raw) < MIN_GROUP or not two_voices(raw, smoothed, spectral(affinity, 2)):
        return 1
    return eigengap_count(affinity, min(MAX_SPEAKERS, len(raw) - 2))


def cluster(raw: np.ndarray, smoothed: np.ndarray, speakers: int | None = None) -> np.ndarray:
    """A speaker label per window (rows in time order), 0..k-1 in order of first appearance: ``speakers`` of them
    when given, otherwise as many as :func:`count_voices` finds. ``raw``: the windows' own vectors; ``smoothed``:
    each averaged with its neighbours', which the groups are made from. A single window is one speaker."""
    if len(raw) < 2:
        return np.zeros(len(raw), dtype=int)
    affinity = pruned_affinity(smoothed)
    count = speakers or count_voices(raw, smoothed, affinity)
    return _relabel_by_first_appearance(spectral(affinity, count))
