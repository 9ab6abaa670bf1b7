"""Who speaks when, as the rest of the engine reads it: diarization gives these turns, and active-speaker
detection (``backend.people``) links them to faces, so both share this one definition."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeakerTurn:
    """One speaker talking from ``start`` to ``end`` (seconds); ``overlap`` when someone else talks too."""

    start: float
    end: float
    speaker_id: str
    overlap: bool = False
