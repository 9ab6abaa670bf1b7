"""Evaluation metrics shared by the face and voice model evaluations, the transcription tests and the benchmarks
(numpy only, no training deps)."""

from __future__ import annotations

import re

import numpy as np

# Whisper writes small numbers as digits ("leaves at 7"), references spell them: both count as the same word.
_NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                 "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
                 "twenty")  # fmt: skip


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts with true classes on rows and predictions on columns."""
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    return matrix


def per_class_recall(matrix: np.ndarray) -> np.ndarray:
    support = matrix.sum(axis=1)
    return np.divide(np.diag(matrix), support, out=np.zeros(len(matrix)), where=support > 0)


def macro_f1(matrix: np.ndarray) -> float:
    """Mean F1 over the classes that occur in the truth (a class absent from a corpus does not count as 0)."""
    tp = np.diag(matrix).astype(float)
    precision = np.divide(tp, matrix.sum(axis=0), out=np.zeros(len(matrix)), where=matrix.sum(axis=0) > 0)
    recall = per_class_recall(matrix)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(matrix)), where=precision + recall > 0)
    present = matrix.sum(axis=1) > 0
    return float(f1[present].mean()) if present.any() else 0.0


def unweighted_average_recall(matrix: np.ndarray) -> float:
    present = matrix.sum(axis=1) > 0
    return float(per_class_recall(matrix)[present].mean()) if present.any() else 0.0


def accuracy(matrix: np.ndarray) -> float:
    total = matrix.sum()
    return float(np.trace(matrix) / total) if total else 0.0


def softmax(logits: np.ndarray, temperature: float | np.ndarray = 1.0) -> np.ndarray:
    """Probabilities of ``(N, classes)`` logits divided by ``temperature`` (the calibration that the face models'
    cards fit and the runtime applies): one number, or ``(N, 1)``, one for each row."""
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def expected_calibration_error(probabilities: np.ndarray, y_true: np.ndarray, bins: int = 15) -> float:
    """Gap between confidence and accuracy, averaged over equal-width confidence bins weighted by their size."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == y_true
    edges = np.linspace(0, 1, bins + 1)
    error = 0.0
    for low, high in zip(edges[:-1], edges[1:]):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            error += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(error)


def summary(y_true: np.ndarray, y_pred: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Accuracy, macro-F1, UAR, per-class recall and the confusion matrix as plain JSON-able values."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    return {
        "n": int(matrix.sum()),
        "accuracy": round(accuracy(matrix), 4),
        "macro_f1": round(macro_f1(matrix), 4),
        "uar": round(unweighted_average_recall(matrix), 4),
        "per_class_recall": {name: round(float(r), 4) for name, r in zip(labels, per_class_recall(matrix))},
        "confusion": matrix.tolist(),
    }


def normalised_words(text: str) -> list[str]:
    """Lower-case words without punctuation (any script), digits 0-20 spelled in English."""
    words = re.sub(r"[^\w' ]+", " ", text.lower()).replace("_", " ").split()
    return [_NUMBER_WORDS[int(w)] if w.isdigit() and int(w) <= 20 else w for w in words]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words: Levenshtein distance over normalised words."""
    ref, hyp = normalised_words(reference), normalised_words(hypothesis)
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        previous, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (r != h))
    return row[-1] / max(1, len(ref))
