"""The test speakers heard at another recording gain, through the runtime's model: how much a model's labels follow
the microphone's level rather than the voice (``evaluate --gain-db``). Each gain's figures are kept in the model
folder's ``levels.json``, which its card shows."""

from __future__ import annotations

import json

import numpy as np

from backend.config import get_settings
from backend.voice import store
from backend.voice.models import get_voice_model

from .data import read_manifest, split_speakers
from .encoded import utterance_windows
from .scores import corpus_scores, headline


def recorded_at(signal: np.ndarray, gain_db: float) -> np.ndarray:
    """``signal`` as a 16-bit file would hold it had it been recorded ``gain_db`` louder: scaled, clipped at full
    scale and rounded to the 16-bit step, so a quiet recording loses its low bits as a real one does."""
    scaled = np.clip(signal * 10.0 ** (gain_db / 20.0), -1.0, 32767 / 32768)
    return (np.round(scaled * 32768) / 32768).astype(np.float32)


def scores_at_gain(name: str, gain_db: float, every: int = 1) -> dict:
    """:func:`headline` figures of model ``name`` on the test speakers, each utterance recorded ``gain_db`` louder
    (:func:`recorded_at`) before its run-time windows are classified (an utterance's prediction is the mean of its
    windows'); every ``every``-th utterance only, for a quick look."""
    utterances = read_manifest()
    test = set(split_speakers(utterances)["test"])
    held = [u for u in utterances if u.speaker in test][::every]
    model = get_voice_model(name, get_settings())
    probabilities = np.stack([model.predict([recorded_at(w, gain_db) for w in utterance_windows(u)]).mean(axis=0)
                              for u in held])  # fmt: skip
    return headline(corpus_scores(held, probabilities))


LEVELS_FILE = "levels.json"


def record_level(name: str, gain_db: float, figures: dict) -> None:
    """Keep ``figures`` (:func:`scores_at_gain`'s) as model ``name``'s at ``gain_db`` in its ``levels.json``."""
    path = store.model_dir(name) / LEVELS_FILE
    levels = json.loads(path.read_text()) if path.exists() else {}
    levels[f"{gain_db:g}"] = figures
    ordered = dict(sorted(levels.items(), key=lambda item: float(item[0])))
    path.write_text(json.dumps(ordered, indent=1) + "\n")


def levels_table(name: str) -> str | None:
    """The card's table of figures by recording gain, with the spread the issue's target names; None if none."""
    path = store.model_dir(name) / LEVELS_FILE
    if not path.exists():
        return None
    levels = json.loads(path.read_text())
    rows = {"mean UAR (all corpora)": [v["mean_uar"] for v in levels.values()],
            "RAVDESS 6-way macro-F1": [v["ravdess_macro_f1_6"] for v in levels.values()]}  # fmt: skip
    lines = ["| test speakers | " + " | ".join(f"{float(g):+g} dB" for g in levels) + " | spread |",
             "|---" * (len(levels) + 2) + "|"]  # fmt: skip
    lines += [f"| {what} | " + " | ".join(f"{v:.3f}" for v in values) + f" | {max(values) - min(values):.3f} |"
              for what, values in rows.items()]  # fmt: skip
    return "\n".join(lines)
