"""Speakers: who speaks when in a file's sound (diarization). See :func:`diarize`."""

from backend.speakers.diarization import Diarization, DiarizationStream, SpeakerTurn, diarize, validate_speakers

__all__ = ["Diarization", "DiarizationStream", "SpeakerTurn", "diarize", "validate_speakers"]
