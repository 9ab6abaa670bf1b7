"""Evidence as a new recording delivers it: the voice on a corpus it never heard, the face in a film.

The lab pairs (:mod:`fusion_model.evidence`) put a test speaker of a trained corpus beside a FER2013 face: each model
in its own domain. A combiner fitted on them alone learns how far to trust each model there, and trusts the voice too
much on a recording unlike its corpora (issue #35: a crying man read as angry, the voice carrying half the weight).
Here each modality is out of its domain:

- the voice: every utterance of a corpus the default voice model never heard (:data:`UNHEARD_CORPUS`), window by
  window as the runtime hears it;
- the face: SFEW faces from films (in the wild), by the runtime's face classifier, at full size.
"""

from __future__ import annotations

import hashlib

import numpy as np

from backend.config import Settings
from backend.faces.classifiers import get_classifier
from backend.faces.cnn_store import INPUT_SIZE
from backend.voice.models import get_voice_model
from backend.voice.speech_detection import VAD_MIN_DB
from face_model.data import load_folder, sfew_dir
from face_model.films import film_folds
from voice_model.data import read_manifest

from .evidence import FOLDS, FaceEvidence, VoiceEvidence, cached, heard_corpora, speech_windows
from .pairs import Pairs, make_pairs

# A corpus the default voice model never heard: SAVEE (English) joined the manifest after voice-whisper-v1 was trained.
UNHEARD_CORPUS = "savee"


def unheard_corpus_voice(settings: Settings, corpus: str = UNHEARD_CORPUS) -> VoiceEvidence:
    """Every speech window of ``corpus``'s utterances through the runtime's voice model, its speakers dealt into the
    folds (three SAVEE speakers: the fourth fold has none)."""
    if corpus in heard_corpora(settings):
        raise ValueError(f"{settings.voice_model_name} was trained or tuned on {corpus}: it is not an unheard corpus")
    model = get_voice_model(settings.voice_model_name, settings)
    utterances = read_manifest()
    speakers = sorted({u.speaker for u in utterances if u.corpus == corpus})
    name = f"unheard-{corpus}-{model.info.sha256[:12]}-gate{VAD_MIN_DB:g}-folds{FOLDS}.npz"
    return VoiceEvidence(**cached(settings, name, lambda: speech_windows(model, utterances, speakers)))


def film_face_evidence(settings: Settings) -> FaceEvidence:
    """Each SFEW face once, at full size (``FaceEvidence`` with one size and one view), as the runtime reads a film
    face (``face_model.data.load_folder``); folds by film (``face_model.films.film_folds``)."""
    classifier = get_classifier("cnn", settings)
    faces = load_folder(sfew_dir(settings))
    key = hashlib.sha256("".join(info.sha256 for info in (classifier.info, *classifier.components)).encode())
    name = f"films-{key.hexdigest()[:12]}-{len(faces.labels)}-runtime-crop-folds{FOLDS}.npz"

    def compute() -> dict[str, np.ndarray]:
        probabilities = classifier.predict(list(faces.images), [INPUT_SIZE] * len(faces.images))
        fold = film_folds(list(faces.files), FOLDS)
        return {"probabilities": probabilities[:, None, None], "label": faces.labels, "fold": fold}

    return FaceEvidence(**cached(settings, name, compute))


def out_of_domain_pairs(settings: Settings, seed: int = 0) -> list[Pairs]:
    """Per fold, each utterance of a corpus the voice never heard with a film face of its label (full size, one
    view): fold k pairs fold-k speakers with fold-k films only (an empty fold where it has no speaker)."""
    voice, faces = unheard_corpus_voice(settings), film_face_evidence(settings)
    return [make_pairs(voice, faces, k, seed, sizes=(INPUT_SIZE,), size_share=(1.0,), frames=1) for k in range(FOLDS)]
