"""What each model says about labelled shared data, computed once and cached: the runtime voice model over the
speech windows of the voice model's held-out test speakers (it never trained on them), and the runtime face
model over FER2013 ``val`` faces seen at several sizes, crops and through a codec (it never trained on them either).

Only the runtime's own code produces these numbers (``backend.voice.analysis.analyse_signal``, the face classifier on
the crop the runtime would give it), so the combiner learns from the distributions it will be fed.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.faces.classifiers import get_classifier
from backend.faces.cnn_store import model_dir
from backend.voice.analysis import analyse_signal
from backend.voice.models import get_voice_model
from backend.voice.speech_detection import VAD_MIN_DB
from backend.voice.store import model_dir as voice_model_dir
from face_model.data import IMAGE_SUFFIXES, fer_dir
from face_model.video_views import CODEC_QUALITY, FACE_SIZES, VIEW_OFFSETS, seen_at
from voice_model.data import read_audio, read_manifest, speaker_folds, split_speakers

FOLDS = 4  # the test speakers and the val faces are each dealt into four folds: fit on three, score the fourth


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


def cached(settings: Settings, name: str, compute: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays saved under the cache's fusion folder as ``name``, computed and saved the first time."""
    path = settings.cache_dir / "fusion" / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.npz")
        np.savez_compressed(partial, **compute())
        partial.replace(path)
    with np.load(path) as saved:
        return {key: saved[key] for key in saved.files}


def heard_corpora(settings: Settings) -> set[str]:
    """The corpora of the default voice model's speaker split (training record): those it was trained on."""
    split = json.loads((voice_model_dir(settings.voice_model_name) / "training.json").read_text())["split"]
    corpus_of = {u.speaker: u.corpus for u in read_manifest()}
    return {corpus_of[s] for group in split.values() for s in group if s in corpus_of}


def voice_evidence(settings: Settings) -> VoiceEvidence:
    model = get_voice_model(settings.voice_model_name, settings)
    name = f"voice-{model.info.sha256[:12]}-heard-corpora-gate{VAD_MIN_DB:g}-folds{FOLDS}.npz"
    return VoiceEvidence(**cached(settings, name, lambda: _compute_voice(model, heard_corpora(settings))))


def _compute_voice(model, trained_on: set[str]) -> dict[str, np.ndarray]:
    """The test speakers of the corpora in ``trained_on`` (a corpus the model never heard is out-of-domain evidence,
    :mod:`fusion_model.out_of_domain`)."""
    utterances = read_manifest()
    corpus_of = {u.speaker: u.corpus for u in utterances}
    test = [s for s in split_speakers(utterances)["test"] if corpus_of[s] in trained_on]
    return speech_windows(model, utterances, test)


def speech_windows(model, utterances: list, speakers: list[str]) -> dict[str, np.ndarray]:
    """:class:`VoiceEvidence`'s columns for every speech window of ``speakers``' utterances, as the runtime hears
    them, the speakers dealt into :data:`FOLDS` folds."""
    fold_of = {speaker: k for k, group in enumerate(speaker_folds(utterances, speakers, FOLDS)) for speaker in group}
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


def face_evidence(settings: Settings) -> FaceEvidence:
    classifier = get_classifier("cnn", settings)
    # the weights and model.json (temperatures by size included) of each network it runs, and which faces go to
    # which, decide the probabilities
    names = [settings.cnn_model_name] + ([settings.cnn_small_face_model] if classifier.components else [])
    metas = b"".join((model_dir(name, settings.face_model_dir) / "model.json").read_bytes() for name in names)
    weights = "".join(info.sha256 for info in (classifier.info, *classifier.components))
    routing = f"below {settings.small_face_model_below_px}" if classifier.components else ""
    key = hashlib.sha256(weights.encode() + metas + routing.encode()).hexdigest()[:12]
    name = f"faces-{key}-jpeg{CODEC_QUALITY}-folds{FOLDS}.npz"
    return FaceEvidence(**cached(settings, name, lambda: _compute_faces(classifier)))


def _compute_faces(classifier) -> dict[str, np.ndarray]:
    files = sorted((f, EMOTIONS.index(f.parent.name)) for f in fer_dir("val").glob("*/*")
                   if f.suffix.lower() in IMAGE_SUFFIXES)  # fmt: skip
    probabilities = np.zeros((len(files), len(FACE_SIZES), len(VIEW_OFFSETS), len(EMOTIONS)), dtype=np.float32)
    for i, (file, _) in enumerate(files):
        face = np.asarray(Image.open(file).convert("L"))
        views = [(size, seen_at(face, size, offset)) for size in FACE_SIZES for offset in VIEW_OFFSETS]
        crops, sizes = [view for _, view in views], [size for size, _ in views]
        probabilities[i] = classifier.predict(crops, sizes).reshape(len(FACE_SIZES), len(VIEW_OFFSETS), -1)
        if i % 500 == 0:
            print(f"face evidence: {i}/{len(files)} images", file=sys.stderr, flush=True)
    fold = [int(hashlib.sha1(f.name.encode()).hexdigest(), 16) % FOLDS for f, _ in files]
    return {"probabilities": probabilities, "label": np.array([label for _, label in files]), "fold": np.array(fold)}
