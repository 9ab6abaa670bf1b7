"""The per-window timeline as CSV: one row per source and window, one column per emotion probability."""

from __future__ import annotations

import csv
from pathlib import Path

from backend.emotions import EMOTIONS
from backend.results import Result

COLUMNS = ["start", "end", "source", "face_id", "label", "confidence", *EMOTIONS, "n", "speaker_id"]


def write_timeline_csv(result: Result, path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for e in result.timeline:
            face_id = "" if e.face_id is None else e.face_id
            probabilities = [e.probabilities[name] for name in EMOTIONS]
            writer.writerow([e.start, e.end, e.source, face_id, e.label, e.confidence, *probabilities, e.n,
                             e.speaker_id or ""])  # fmt: skip
    return path


TRANSCRIPT_COLUMNS = ["start", "end", "text", "voice_emotion", "voice_confidence", "face_emotion", "face_confidence",
                      "speaker_id"]  # fmt: skip


def write_transcript_csv(result: Result, path: Path) -> Path:
    """The transcript, one row per segment; the emotion columns are empty without transcribe_focus or when no
    speech window (no face) overlaps the segment, the speaker's where nobody speaks in it (``backend.people``)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(TRANSCRIPT_COLUMNS)
        for s in result.transcript or []:
            voice, face = _as_dict(s, "voice_emotion"), _as_dict(s, "face_emotion")
            writer.writerow([_get(s, "start"), _get(s, "end"), _get(s, "text"), voice.get("label", ""),
                             voice.get("confidence", ""), face.get("label", ""),
                             face.get("confidence", ""), _get(s, "speaker_id") or ""])  # fmt: skip
    return path


def _get(item: object, name: str) -> object:
    """A segment's field, from a dataclass or a result's JSON (one older than the field gives None)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name)


def _as_dict(item: object, name: str) -> dict:
    return _get(item, name) or {}
