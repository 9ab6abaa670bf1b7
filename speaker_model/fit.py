"""The fit of diarization's split test (``backend/speakers/split_test.py``) on the tuning speakers' mixtures.

Every mixture's windows are embedded as the runtime embeds them and given the speaker who talks most of each
window (the mixture's truth). The examples are groups of windows: each speaker alone (one voice: its best split
is within a voice), each pair of speakers, and all speakers of a mixture of three or four (two voices or more: the
split is between voices). The threshold is chosen by leave-one-corpus-out: the test
fitted without a corpus counts the speakers of that corpus's mixtures, and the threshold with the most counts right
wins (the higher threshold on a tie: fewer monologues split); the shipped test is then fitted on every corpus.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

import numpy as np

from backend.speakers.clustering import best_split, count_voices, pruned_affinity
from backend.speakers.diarization import embedded_windows, smoothed
from backend.speakers.split_test import SplitTest

from .mixtures import SAMPLE_RATE, Segment, benchmark_mixtures, corpus_of

THRESHOLDS = (0.3, 0.4, 0.5, 0.6)
MIN_EXAMPLE_WINDOWS = 20  # a speaker or group with fewer windows in a mixture gives no example
REGULARISATION = 1.0  # scikit-learn's C


@dataclass
class LabelledMixture:
    corpus: str
    count: int
    raw: np.ndarray  # the windows' vectors, in time order
    smoothed: np.ndarray
    speaker: np.ndarray  # index of the speaker talking most in each window, -1 where nobody does


def window_speakers(segments: list[Segment], starts: np.ndarray, width: int) -> np.ndarray:
    """The index (in sorted name order) of the speaker with the most speech in each window, -1 for none."""
    names = sorted({s.speaker for s in segments})
    spoken = np.zeros((len(starts), len(names)))
    begin, end = starts / SAMPLE_RATE, (starts + width) / SAMPLE_RATE
    for segment in segments:
        shared = np.minimum(end, segment.end) - np.maximum(begin, segment.start)
        spoken[:, names.index(segment.speaker)] += np.clip(shared, 0, None)
    return np.where(spoken.max(axis=1) > 0, spoken.argmax(axis=1), -1)


def labelled_mixtures(data_dir: Path, files: int) -> list[LabelledMixture]:
    """``files`` mixtures of each of 1-4 tuning speakers (the seeds bench_diarization.py uses for ``--part
    tuning``), embedded."""
    mixtures = []
    for mixture in benchmark_mixtures(data_dir, "tuning", files):
        windows, width = embedded_windows(mixture.signal)
        mixtures.append(LabelledMixture(corpus_of(mixture.speakers[0]), len(mixture.speakers), windows.vectors,
                                        smoothed(windows.vectors, windows.starts),
                                        window_speakers(mixture.segments, windows.starts, width)))  # fmt: skip
        print(f"mixture {len(mixtures)}: {', '.join(mixture.speakers)}, {len(windows.starts)} windows", flush=True)
    return mixtures


def examples(mixture: LabelledMixture) -> tuple[list[np.ndarray], list[bool]]:
    """The features of the best split of each group of the mixture's speakers, and whether it holds two voices."""
    count = mixture.speaker.max() + 1
    groups = [(k,) for k in range(count)] + list(combinations(range(count), 2))
    groups += [tuple(range(count))] if count > 2 else []
    features, two = [], []
    for group in groups:
        chosen = np.isin(mixture.speaker, group)
        if chosen.sum() < MIN_EXAMPLE_WINDOWS:
            continue
        smoothed_ = mixture.smoothed[chosen]
        _, found = best_split(mixture.raw[chosen], smoothed_, pruned_affinity(smoothed_))
        if found is not None:
            features.append(found)
            two.append(len(group) > 1)
    return features, two


def fit_test(examples_: list[tuple[list[np.ndarray], list[bool]]], threshold: float) -> SplitTest:
    from sklearn.linear_model import LogisticRegression

    features = np.array([f for found, _ in examples_ for f in found])
    two = np.array([t for _, labels in examples_ for t in labels])
    mean, scale = features.mean(axis=0), features.std(axis=0)
    model = LogisticRegression(C=REGULARISATION, class_weight="balanced").fit((features - mean) / scale, two)
    return SplitTest(mean, scale, model.coef_[0], float(model.intercept_[0]), threshold)


def counts_right(test: SplitTest, mixtures: list[LabelledMixture]) -> dict[int, list[bool]]:
    right: dict[int, list[bool]] = {}
    for mixture in mixtures:
        found = count_voices(mixture.raw, mixture.smoothed, pruned_affinity(mixture.smoothed), test)
        right.setdefault(mixture.count, []).append(found == mixture.count)
    return right


def fit(data_dir: Path, files: int) -> dict:
    """The shipped test and how it was chosen: each threshold's leave-one-corpus-out count accuracy."""
    mixtures = labelled_mixtures(data_dir, files)
    found = [examples(m) for m in mixtures]
    corpora = sorted({m.corpus for m in mixtures})
    by_threshold = {}
    for threshold in THRESHOLDS:
        right: dict[int, list[bool]] = {}
        for corpus in corpora:
            test = fit_test([e for e, m in zip(found, mixtures) if m.corpus != corpus], threshold)
            for count, hits in counts_right(test, [m for m in mixtures if m.corpus == corpus]).items():
                right.setdefault(count, []).extend(hits)
        by_threshold[threshold] = {
            "count_accuracy": float(np.mean([h for hits in right.values() for h in hits])),
            "by_speakers": {str(k): float(np.mean(v)) for k, v in sorted(right.items())},
        }
        print(f"threshold {threshold}: leave-one-corpus-out count accuracy {by_threshold[threshold]}", flush=True)
    best = max(THRESHOLDS, key=lambda t: (by_threshold[t]["count_accuracy"], t))
    fitted = {"date": datetime.date.today().isoformat(), "command": f"python -m speaker_model fit --files {files}",
              "mixtures": len(mixtures), "examples": sum(len(labels) for _, labels in found), "corpora": corpora,
              "speakers": "the tuning half of each corpus (speaker_model/mixtures.py)"}  # fmt: skip
    return {"test": fit_test(found, best).to_dict(), "fitted": fitted,
            "leave_one_corpus_out": {str(t): v for t, v in by_threshold.items()}}  # fmt: skip
