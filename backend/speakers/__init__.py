"""Speakers: who speaks when in a file's sound (diarization). See :func:`diarize`."""

from backend.speakers.diarization import Diarization, SpeakerTurn, diarize, validate_speakers

__all__ = ["Diarization", "SpeakerTurn", "diarize", "validate_speakers"]
