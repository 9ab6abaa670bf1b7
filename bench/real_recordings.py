"""Real recordings (issue #35): the voice by recording level, the voice on corpora it never heard, faces from films.

- By level, measured here: the speech manifest's test speakers, each recording played at -30, -20, 0 and +10 dB
  and stored as a 16-bit file would hold it (``voice_model.gain``), through the runtime's default voice model.
  Target: the mean UAR and the RAVDESS 6-way macro-F1 each vary by at most 0.02 over the levels.
- Faces from films, measured here: the runtime's default face model on SFEW train's 860 faces from 47 films, read
  as the runtime reads a film face (``face_model.evaluate.score_folder``). A model trained on those films gets no
  figure here (its training record names them): its cross-validation over films is in its card.
- On unheard corpora, as recorded beside the shipped voice model: its held-out-corpus cross-validation
  (``crossval.json``). A cross-validation is a training run, not a benchmark: the row shows what the card's
  documented command produced, so that the page has every real-recording figure in one place.

    .venv/bin/python bench/real_recordings.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from benchlib import emit

from backend.config import get_settings
from backend.faces.cnn_store import model_dir as face_model_dir
from backend.voice.store import model_dir as voice_model_dir
from face_model.data import sfew_dir

GAINS_DB = (-30.0, -20.0, 0.0, 10.0)
SPREAD_TARGET = 0.02


def by_level(name: str, gains: tuple[float, ...], every: int) -> list[dict]:
    from voice_model.gain import scores_at_gain

    rows = []
    for gain in gains:
        figures = scores_at_gain(name, gain, every)
        rows.append({"gain_db": gain} | {key: figures[key] for key in ("mean_uar", "ravdess_macro_f1_6")})
        print(f"gain {gain:+g} dB: mean UAR {figures['mean_uar']:.3f}, RAVDESS 6-way macro-F1 "
              f"{figures['ravdess_macro_f1_6']:.3f}", flush=True)  # fmt: skip
    return rows


def recorded(path: Path) -> list | dict | None:
    """What a model folder's JSON file holds, or None where there is none."""
    return json.loads(path.read_text()) if path.exists() else None


def on_films(name: str, films: Path) -> dict | None:
    """Accuracy and macro-F1 of face model ``name`` on the film faces, or None where it trained on films (its
    training record names them) or there are none."""
    from face_model.evaluate import folder_scores

    training = recorded(face_model_dir(name) / "training.json") or {}
    configs = [training.get("config", {})] + [m.get("config", {}) for m in training.get("members", {}).values()]
    if not films.is_dir() or any(config.get("films") for config in configs):
        return None
    figures = folder_scores(name, films)
    return {"what": f"SFEW train, {figures['n']} faces of films it never trained on",
            "accuracy": float(figures["accuracy"]), "macro_f1": float(figures["macro_f1"])}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two gains on every 25th recording: a smoke run")
    args = parser.parse_args()
    settings = get_settings()
    voice = settings.voice_model_name
    manifest = settings.data_dir / "speech" / "manifest.csv"
    gains, every = (GAINS_DB[::3], 25) if args.quick else (GAINS_DB, 1)
    levels = by_level(voice, gains, every) if manifest.exists() else []  # the test speakers are in ../shared
    runs = recorded(voice_model_dir(voice) / "crossval.json") or []
    corpora = [run for run in runs if not run["held_out"].startswith("speakers")]  # the held-out-corpus runs
    films = on_films(settings.cnn_model_name, sfew_dir(settings))
    emit({"benchmark": "real_recordings", "voice_model": voice, "face_model": settings.cnn_model_name,
          "quick": args.quick, "levels": levels, "unheard_corpora": corpora, "films": films})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
