"""What each model says about labelled shared data, computed once and cached: the runtime voice model over the
speech windows of the voice model's held-out test speakers (it never trained on them), and the runtime face
model over FER2013 ``val`` faces seen at several sizes, crops and through a codec (it never trained on them either).

Only the runtime's own code produces these numbers (``backend.voice.analyse_signal``, the face classifier on the
crop the runtime would give it), so the combiner learns from the distributions it will be fed.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.faces.align import CROP_SIZE
from backend.faces.classifiers import get_classifier
from backend.voice import analyse_signal, get_voice_model
from face_model.data import IMAGE_SUFFIXES, fer_dir
from voice_model.data import read_audio, read_manifest, speaker_folds, split_speakers

FOLDS = 4  # the test speakers and the val faces are each dealt into four folds: fit on three, score the fourth
# The face's short side in the frame. 48 px is the face model's full detail; below, video faces lose it. The
# smaller sizes are the runtime's low-confidence range (under 24 px) and just above.
FACE_SIZES = (48, 32, 24, 16, 12)
VIEW_OFFSETS = ((2, 2), (0, 0), (4, 0), (0, 4), (4, 4))  # 44 px crops of the 48 px face: a box is never exact
VIEW_SIDE = 44
# A video's codec works at the face's size in the frame: the shrunk view is JPEG-compressed there (a stand-in for
# H.264). Without it a small face only blurs and flattens, where a real one is often read confidently wrong.
CODEC_QUALITY = 50


@dataclass(frozen=True)
class VoiceEvidence:
    """Speech windows (N) of the voice test speakers' utterances."""

    probabilities: np.ndarray  # (N, 7)
    speech_share: np.ndarray  # (N,)
    label: np.ndarray  # (N,) index into EMOTIONS
    utterance: np.ndarray  # (N,) index of the utterance the window belongs to
    corpus: np.ndarray  # (N,) str
    fold: np.ndarray  # (N,) 0 .. FOLDS-1, by speaker


@dataclass(frozen=True)
class FaceEvidence:
    """FER2013 val faces (I) at each of FACE_SIZES (S) and VIEW_OFFSETS (V)."""

    probabilities: np.ndarray  # (I, S, V, 7)
    label: np.ndarray  # (I,)
    fold: np.ndarray  # (I,) by a hash of the file name


def _cached(settings: Settings, name: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays saved under the cache's fusion folder as ``name``, computed and saved the first time."""
    path = settings.cache_dir / "fusion" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez_compressed(partial, **compute())
        partial.replace(path)
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def voice_evidence(settings: Settings) -> VoiceEvidence:
    model = get_voice_model("default", settings)
    name = f"voice-{model.info.sha256[:12]}-folds{FOLDS}.npz"
    return VoiceEvidence(**_cached(settings, name, lambda: _compute_voice(model)))


def _compute_voice(model) -> dict[str, np.ndarray]:
    utterances = read_manifest()
    test = split_speakers(utterances)["test"]
    fold_of = {speaker: k for k, group in enumerate(speaker_folds(utterances, test, FOLDS)) for speaker in group}
    chosen = [u for u in utterances if u.speaker in fold_of]
    columns: dict[str, list] = {"probabilities": [], "speech_share": [], "label": [], "utterance": [], "corpus": [],
                                "fold": []}  # fmt: skip
    for n, u in enumerate(chosen):
        for window in analyse_signal(read_audio(u.path, model.sample_rate), model.sample_rate, model):
            if window.speech:
                for name, value in (("probabilities", window.probabilities), ("speech_share", window.speech_share),
                                    ("label", u.label), ("utterance", n), ("corpus", u.corpus),
                                    ("fold", fold_of[u.speaker])):  # fmt: skip
                    columns[name].append(value)
        if n % 100 == 0:
            print(f"voice evidence: {n}/{len(chosen)} utterances", file=sys.stderr, flush=True)
    return {name: np.array(values) for name, values in columns.items()}


def seen_at(face: np.ndarray, size: int, offset: tuple[int, int]) -> np.ndarray:
    """The 48 px gray face as the runtime would crop it from a video frame where its short side is ``size`` px: a
    44 px view, shrunk to ``size``, compressed at that size, then scaled up to the aligned crop's side (what
    ``aligned_crop`` hands over)."""
    x, y = offset
    view = face[y : y + VIEW_SIDE, x : x + VIEW_SIDE]
    small = cv2.resize(view, (size, size), interpolation=cv2.INTER_AREA)
    _, encoded = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, CODEC_QUALITY])
    small = cv2.imdecode(encoded, cv2.IMREAD_GRAYSCALE)
    return cv2.resize(small, (CROP_SIZE, CROP_SIZE), interpolation=cv2.INTER_LINEAR)


def face_evidence(settings: Settings) -> FaceEvidence:
    classifier = get_classifier("cnn", settings)
    name = f"faces-{classifier.info.sha256[:12]}-jpeg{CODEC_QUALITY}-folds{FOLDS}.npz"
    return FaceEvidence(**_cached(settings, name, lambda: _compute_faces(classifier)))


def _compute_faces(classifier) -> dict[str, np.ndarray]:
    files = sorted((f, EMOTIONS.index(f.parent.name)) for f in fer_dir("val").glob("*/*")
                   if f.suffix.lower() in IMAGE_SUFFIXES)  # fmt: skip
    probabilities = np.zeros((len(files), len(FACE_SIZES), len(VIEW_OFFSETS), len(EMOTIONS)), dtype=np.float32)
    for i, (file, _) in enumerate(files):
        face = np.asarray(Image.open(file).convert("L"))
        crops = [seen_at(face, size, offset) for size in FACE_SIZES for offset in VIEW_OFFSETS]
        probabilities[i] = classifier.predict(crops).reshape(len(FACE_SIZES), len(VIEW_OFFSETS), -1)
        if i % 500 == 0:
            print(f"face evidence: {i}/{len(files)} images", file=sys.stderr, flush=True)
    fold = [int(hashlib.sha1(f.name.encode()).hexdigest(), 16) % FOLDS for f, _ in files]
    return {"probabilities": probabilities, "label": np.array([label for _, label in files]), "fold": np.array(fold)}
