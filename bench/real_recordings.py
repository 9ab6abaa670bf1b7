"""Real recordings (issue #35): the voice by recording level, the voice on corpora it never heard, faces from films.

- By level, measured here: the speech manifest's test speakers, each recording played at -30, -20, 0 and +10 dB
  and stored as a 16-bit file would hold it (``voice_model.gain``), through the runtime's default voice model.
  Target: the mean UAR and the RAVDESS 6-way macro-F1 each vary by at most 0.02 over the levels.
- On unheard corpora and on films, as recorded beside the shipped models: the voice model's held-out-corpus
  cross-validation (``crossval.json``) and the face model's cross-validation over films (``metrics.json``,
  ``films``). A cross-validation is a training run, not a benchmark: these rows show what the cards' documented
  commands produced, so that the page has every real-recording figure in one place.

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


def recorded(path: Path, key: str | None = None):
    """What a model folder's JSON file holds (its ``key`` only, when given), or None where there is none."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return data.get(key) if key else data


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
    corpora = [run for run in runs if run["held_out"].startswith("corpus")]
    films = recorded(face_model_dir(settings.cnn_model_name, settings.face_model_dir) / "metrics.json", "films")
    emit({"benchmark": "real_recordings", "voice_model": voice, "face_model": settings.cnn_model_name,
          "quick": args.quick, "levels": levels, "unheard_corpora": corpora, "films": films})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
