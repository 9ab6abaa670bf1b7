"""Evidence as a new recording delivers it: the voice on a corpus it never heard, the face in a film.

The lab pairs (:mod:`fusion_model.evidence`) put a test speaker of a trained corpus beside a FER2013 face: each model
in its own domain. A combiner fitted on them alone learns how far to trust each model there, and trusts the voice too
much on a recording unlike its corpora (issue #35: a crying man read as angry, the voice carrying half the weight).
Here each modality is out of its domain:

- the voice: every train + validation utterance as the shipped voice recipe's leave-one-corpus-out run heard it
  (``python -m voice_model crossval --by-corpus``), a network that never heard that corpus;
- the face: SFEW faces from films (in the wild), by the runtime's face classifier, at full size.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.faces.classifiers import get_classifier
from backend.faces.cnn_store import INPUT_SIZE
from face_model.data import load_folder
from voice_model.data import read_manifest, speaker_folds

from .evidence import FOLDS, FaceEvidence, VoiceEvidence, cached
from .pairs import Pairs, make_pairs

# The shipped voice recipe's leave-one-corpus-out run (docs/research/voice.md, A-lev on five corpora).
VOICE_CROSSVAL_RUN = "cv-level5"


def film_faces_dir(settings: Settings) -> Path:
    return settings.data_dir / "faces" / "sfew" / "train"


def film_of(file_name: str) -> str:
    """SFEW names a face ``<film>_<timestamp>_<frame>.png``: the film is what precedes the first timestamp."""
    return Path(file_name).name.split("_")[0]


def unheard_corpus_voice(settings: Settings, run: str = VOICE_CROSSVAL_RUN) -> VoiceEvidence:
    """One window per utterance (its windows' mean, all speech): the probabilities ``crossval --by-corpus`` saved."""
    path = settings.cache_dir / "voice_runs" / run / "crossval-corpus.npz"
    if not path.exists():
        command = (
            f"python -m voice_model crossval --architecture encoder --blocks 2,3,4 --level -20 --by-corpus --name {run}"
        )
        raise FileNotFoundError(f"no leave-one-corpus-out run at {path}: run `{command}`")
    with np.load(path) as saved:
        paths, probabilities = saved["paths"].tolist(), saved["probabilities"]
    by_path = {str(u.path): u for u in read_manifest()}
    heard = [by_path[p] for p in paths]
    speakers = sorted({u.speaker for u in heard})
    fold_of = {s: k for k, group in enumerate(speaker_folds(heard, speakers, FOLDS)) for s in group}
    return VoiceEvidence(probabilities=probabilities.astype(np.float64), speech_share=np.ones(len(heard)),
                         label=np.array([u.label for u in heard]), utterance=np.arange(len(heard)),
                         corpus=np.array([u.corpus for u in heard]),
                         fold=np.array([fold_of[u.speaker] for u in heard]))  # fmt: skip


def film_face_evidence(settings: Settings) -> FaceEvidence:
    """Each SFEW face once, at full size (``FaceEvidence`` with one size and one view); folds by film."""
    classifier = get_classifier("cnn", settings)
    faces = load_folder(film_faces_dir(settings))
    key = hashlib.sha256("".join(info.sha256 for info in (classifier.info, *classifier.components)).encode())
    name = f"films-{key.hexdigest()[:12]}-{len(faces.labels)}-folds{FOLDS}.npz"

    def compute() -> dict[str, np.ndarray]:
        probabilities = classifier.predict(list(faces.images), [INPUT_SIZE] * len(faces.images))
        fold = [int(hashlib.sha1(film_of(f).encode()).hexdigest(), 16) % FOLDS for f in faces.files]
        return {"probabilities": probabilities[:, None, None], "label": faces.labels, "fold": np.array(fold)}

    return FaceEvidence(**cached(settings, name, compute))


def out_of_domain_pairs(settings: Settings, seed: int = 0) -> list[Pairs]:
    """Per fold, each utterance of a corpus the voice never heard with a film face of its label (full size, one
    view): fold k pairs fold-k speakers with fold-k films only."""
    voice, faces = unheard_corpus_voice(settings), film_face_evidence(settings)
    return [make_pairs(voice, faces, k, seed, sizes=(INPUT_SIZE,), size_share=(1.0,), frames=1) for k in range(FOLDS)]
