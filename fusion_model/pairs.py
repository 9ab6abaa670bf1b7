"""Audio-visual clips made from the two halves of evidence: each utterance of a voice test speaker gets a FER2013
val face of the same label, seen at one size for the whole clip (as a person at one distance from the camera),
and each of its speech windows sees the mean of a few crops of that face (the frames of a window).

Fold k pairs fold-k speakers with fold-k faces only, so a combiner fitted on one fold has seen neither the
speakers nor the faces of the other.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from face_model.video_views import FACE_SIZES

from .evidence import FaceEvidence, VoiceEvidence

# How often a clip's face is seen at each size (FACE_SIZES order): half at full detail, the rest smaller, so the
# combiner sees enough small faces to learn how much less they tell.
SIZE_SHARE = (0.5, 0.15, 0.15, 0.1, 0.1)
FRAMES_PER_WINDOW = 3  # crops averaged per window (the runtime averages the face's frames in the window)
PAIRINGS = 2  # each utterance is paired with this many faces (different clips)


@dataclass(frozen=True)
class Pairs:
    """N windows with a face and speech in each, grouped in clips."""

    face: np.ndarray  # (N, 7)
    face_size: np.ndarray  # (N,) px
    voice: np.ndarray  # (N, 7)
    speech_share: np.ndarray  # (N,)
    label: np.ndarray  # (N,)
    clip: np.ndarray  # (N,) clip index
    corpus: np.ndarray  # (N,)

    def select(self, keep: np.ndarray) -> Pairs:
        return Pairs(*(getattr(self, name)[keep] for name in self.__dataclass_fields__))


def make_pairs(voice: VoiceEvidence, faces: FaceEvidence, fold: int, seed: int = 0,
               sizes: tuple[int, ...] = FACE_SIZES, size_share: tuple[float, ...] = SIZE_SHARE,
               frames: int = FRAMES_PER_WINDOW) -> Pairs:  # fmt: skip
    """Fold ``fold``'s clips; ``faces`` holds each face at each of ``sizes`` (a clip draws one by ``size_share``) in
    views of which each window averages ``frames``."""
    rng = np.random.default_rng(seed + 1000 * fold)
    face_ids = {label: np.flatnonzero((faces.label == label) & (faces.fold == fold)) for label in range(7)}
    in_fold = voice.fold == fold
    columns: dict[str, list] = {name: [] for name in Pairs.__dataclass_fields__}
    clip = 0
    for utterance in np.unique(voice.utterance[in_fold]):
        windows = np.flatnonzero(in_fold & (voice.utterance == utterance))
        label = int(voice.label[windows[0]])
        if not len(face_ids[label]):
            continue  # no face of this label in the fold (a few films' worth of faces need not hold every label)
        for _ in range(PAIRINGS):
            image = rng.choice(face_ids[label])
            size = rng.choice(len(sizes), p=size_share)
            for window in windows:
                views = rng.choice(faces.probabilities.shape[2], frames, replace=False)
                face = faces.probabilities[image, size, views].mean(axis=0)
                for name, value in (("face", face), ("face_size", sizes[size]),
                                    ("voice", voice.probabilities[window]),
                                    ("speech_share", voice.speech_share[window]), ("label", label), ("clip", clip),
                                    ("corpus", voice.corpus[window])):  # fmt: skip
                    columns[name].append(value)
            clip += 1
    return Pairs(**{name: np.array(values) for name, values in columns.items()})


def concatenate(parts: list[Pairs]) -> Pairs:
    """The folds together, clip indices kept apart (an empty fold left out)."""
    parts = [p for p in parts if len(p.label)]
    offsets = np.cumsum([0] + [int(p.clip.max()) + 1 for p in parts[:-1]])
    fields = {name: np.concatenate([getattr(p, name) for p in parts]) for name in Pairs.__dataclass_fields__}
    fields["clip"] = np.concatenate([p.clip + offset for p, offset in zip(parts, offsets)])
    return Pairs(**fields)
