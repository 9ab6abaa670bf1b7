"""Faces from films (SFEW) in training: which film a face comes from, films dealt into cross-validation folds, and
the heavier augmentation a film face gets.

Several faces of one film share its actors, lighting and grading, so a figure on faces of films seen in training
says little about a new film: folds are made of whole films, never of single images. Film faces are few (860
against FER2013's 26k) and vary more in light, focus and pose, so each is seen several times an epoch, each time
with a stronger draw of light (gamma, contrast, brightness), focus (a blur) and pose (rotation, scale, shift).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .augment import augment

# SFEW names a face `<film>_<timestamp>_<frame>.png`; the film may itself hold underscores (`HarryPotter_Deathly_
# Hallows_1`, `50_50`); a few join the timestamp with a hyphen (`OceansTwelve-001817760_00000010`) or two underscores.
_FILM = re.compile(r"^(.+?)[_-]\d{9}_+\d+$")
FILM_POSE = {"degrees": 20.0, "zoom": 0.2, "shift": 0.24}  # against FER2013's 12°, 0.12 and 0.16
FILM_GAMMA = 1.8  # gamma drawn log-uniformly in [1/1.8, 1.8]
FILM_BLUR = (0.5, 0.35, 0.8)  # share of faces blurred; each through a bilinear shrink to this range of its side


def film_of(file: str) -> str:
    """The film a face's file comes from: its name before the first timestamp (the whole name if it has none)."""
    stem = Path(file).stem
    match = _FILM.match(stem)
    return match.group(1) if match else stem


def film_folds(files: list[str], folds: int) -> np.ndarray:
    """The fold (0 to ``folds`` - 1) of each file, by its film: films from the largest down, each dealt to the fold
    that holds the fewest faces so far (ties by film name and fold number), so folds are of about one size and a
    film never spans two."""
    films = [film_of(file) for file in files]
    counts: dict[str, int] = {}
    for film in films:
        counts[film] = counts.get(film, 0) + 1
    sizes, fold_of_film = [0] * folds, {}
    for film in sorted(counts, key=lambda f: (-counts[f], f)):
        fold = min(range(folds), key=lambda k: (sizes[k], k))
        fold_of_film[film] = fold
        sizes[fold] += counts[film]
    return np.array([fold_of_film[film] for film in films], dtype=np.int64)


def augment_mixed(faces: torch.Tensor, from_film: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """(N, 1, H, W) faces in [0, 1], FER2013's augmented as always, film faces (``from_film``) with a stronger draw
    of light, focus and pose."""
    out = torch.empty_like(faces)
    fer = ~from_film
    if fer.any():
        out[fer] = augment(faces[fer], generator)
    if from_film.any():
        out[from_film] = augment(_light_and_focus(faces[from_film], generator), generator, **FILM_POSE)
    return out


def _light_and_focus(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Gamma drawn per face, then about half the faces blurred by one shrink-and-enlarge (one factor a batch)."""
    n, side = x.shape[0], x.shape[-1]
    gamma = torch.exp(torch.empty(n).uniform_(-np.log(FILM_GAMMA), np.log(FILM_GAMMA), generator=generator))
    x = x.clamp_min(1e-4).pow(gamma.view(n, 1, 1, 1))
    share, low, high = FILM_BLUR
    blurred = torch.rand(n, generator=generator) < share
    if blurred.any():
        small = max(2, round(side * float(torch.empty(1).uniform_(low, high, generator=generator))))
        shrunk = F.interpolate(x[blurred], size=(small, small), mode="bilinear", antialias=True, align_corners=False)
        x[blurred] = F.interpolate(shrunk, size=(side, side), mode="bilinear", align_corners=False).clamp(0, 1)
    return x
