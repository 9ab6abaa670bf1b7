"""The per-window timeline as CSV: one row per source and window, one column per emotion probability."""

from __future__ import annotations

import csv
from pathlib import Path

from backend.emotions import EMOTIONS
from backend.results import Result

COLUMNS = ["start", "end", "source", "face_id", "label", "confidence", *EMOTIONS, "n"]


def write_timeline_csv(result: Result, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for e in result.timeline:
            face_id = "" if e.face_id is None else e.face_id
            probabilities = [e.probabilities[name] for name in EMOTIONS]
            writer.writerow([e.start, e.end, e.source, face_id, e.label, e.confidence, *probabilities, e.n])
    return path
