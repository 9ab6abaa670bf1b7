"""Cross-validation over films: how a fine-tune on films reads faces of films it never saw (docs/research/face.md,
issue #35).

The films are dealt into folds (``films.film_folds``). For each fold the network is fine-tuned (``train``, the
fold's films left out) and reads the left-out films' faces, so every film face gets one prediction from a network
that never saw its film. The network it started from (``--init``) reads the same faces as the baseline, and both
read FER2013's held-aside part of ``train``, so the cost on FER2013 is measured beside the gain on films. Networks
are read without the test-time flip, as the shipped ensemble runs them.
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from backend import metrics
from backend.emotions import EMOTIONS
from backend.faces import cnn_store as store

from .data import FaceSet, load_folder
from .films import film_folds, film_of
from .train import TrainConfig, _run_dir, _subset, held_aside_faces, predict_logits_batched, train


def _labels(name: str, faces: np.ndarray, root: Path | None = None) -> np.ndarray:
    model, _ = store.load(name, root)
    return predict_logits_batched(model, faces, flip_average=False).argmax(1)


def _scores(faces: FaceSet, predicted: np.ndarray, by_film: bool = False) -> dict:
    summary = metrics.summary(faces.labels, predicted, EMOTIONS)
    scores = {"accuracy": round(summary["accuracy"], 4), "macro_f1": round(summary["macro_f1"], 4),
              "n": int(summary["n"])}  # fmt: skip
    if by_film:  # each film weighs alike, however many faces it gives
        films = np.array([film_of(f) for f in faces.files])
        right = [float((predicted[films == f] == faces.labels[films == f]).mean()) for f in sorted(set(films))]
        scores["mean_accuracy_by_film"] = round(float(np.mean(right)), 4)
    return scores


def cross_validate(config: TrainConfig, folds: int, log=print) -> dict:
    """Fine-tune ``config`` once per fold of films (each fold's films left out) and score the faces left out; the
    figures, with the starting network's on the same faces, are written to the run's ``cv.json``."""
    if not (config.films and config.init):
        raise ValueError("cross-validation over films needs --films and --init (the network fine-tuned)")
    torch.set_num_threads(config.threads)
    films = load_folder(Path(config.films))
    fold = film_folds(films.files, folds)
    holdout = held_aside_faces(config.holdout)
    root = _run_dir(f"{config.name}-cv")
    predicted = np.zeros(len(films.labels), dtype=np.int64)
    fer_holdout = []
    for k in range(folds):
        fold_config = replace(config, name=f"{config.name}-fold{k + 1}", film_folds=folds, film_fold_out=k)
        train(fold_config, log, root=root)
        out = fold == k
        predicted[out] = _labels(fold_config.name, films.images[out], root)
        fer_holdout.append(_scores(holdout, _labels(fold_config.name, holdout.images, root)))
        log(f"fold {k + 1}: films {_scores(_subset(films, out), predicted[out])}, FER holdout {fer_holdout[-1]}")
    result = {
        "config": asdict(config),
        "folds": folds,
        "films_left_out": _scores(films, predicted, by_film=True),
        "films_baseline": _scores(films, _labels(config.init, films.images), by_film=True),
        "fer_holdout_by_fold": fer_holdout,
        "fer_holdout_accuracy_mean": round(float(np.mean([s["accuracy"] for s in fer_holdout])), 4),
        "fer_holdout_baseline": _scores(holdout, _labels(config.init, holdout.images)),
    }
    (root / "cv.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
