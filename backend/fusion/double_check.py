"""Face against voice, window by window: the double check (agreement; with the fused view, which modality it trusts
where they disagree, and why).

Agreement per window is the Bhattacharyya coefficient of the two probability vectors (1 = identical
distributions, 0 = disjoint), beside the plain question "same top label?", so a near-tie disagreement is told
apart from a confident contradiction. Each speaker's voice is compared with that speaker's own face where it is known
whose face is whose (``backend.people``): a listener's calm face against the speaker's angry voice is two people, not
a disagreement. Where it is not known (one voice, several faces), with the face seen longest in the window.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from backend.emotions import top_label
from backend.intervals import FaceIndex, FaceInInterval
from backend.results import FaceObservation, FusedWindow, VoiceRecord


@dataclass(frozen=True)
class VoiceSegment:
    """The part of a voice window the fusion needs (kept here so fusion does not import the voice model)."""

    start: float
    end: float
    probabilities: np.ndarray  # speech windows only
    speaker_id: str | None = None


def voice_segments(records: Sequence[VoiceRecord]) -> list[VoiceSegment]:
    """The speech windows of the voice, as the double check and the echo mean read them."""
    return [VoiceSegment(r.start, r.end, r.vector(), r.speaker_id) for r in records if r.speech]


@dataclass
class WindowCheck:
    start: float
    end: float
    face_id: int
    face_label: str
    face_confidence: float
    voice_label: str
    voice_confidence: float
    agree: bool
    score: float
    trusted: str | None = None  # with the fused view: "face" or "voice", the modality with the larger weight
    fused_label: str | None = None
    reason: str | None = None
    speaker_id: str | None = None


def _trust(check: WindowCheck, fused: FusedWindow) -> None:
    """Which modality the fused view leans on in this window, and the reliability facts that made it so."""
    check.trusted = "face" if fused.weights["face"] >= fused.weights["voice"] else "voice"
    check.fused_label = fused.label
    check.reason = (
        f"{check.trusted} carries {fused.weights[check.trusted]:.0%} of the fused evidence: the face is "
        f"{fused.face_size:.0f} px with confidence {check.face_confidence:.2f}; speech fills "
        f"{fused.speech_share or 0:.0%} of the window with voice confidence {check.voice_confidence:.2f}"
    )


def _face_for(index: FaceIndex, segment: VoiceSegment, face_of: Mapping[str, int] | None) -> FaceInInterval | None:
    """The face a speech window's voice is compared with: its speaker's own where known, else the face seen longest
    in it; None when that face was not in view."""
    if face_of is None:
        return index.dominant_face(segment.start, segment.end)
    own = face_of.get(segment.speaker_id) if segment.speaker_id is not None else None
    return next((face for face in index.faces_in(segment.start, segment.end) if face.face_id == own), None)


def double_check(faces: Sequence[FaceObservation], voice: Sequence[VoiceSegment], fused: Sequence[FusedWindow] = (),
                 face_of: Mapping[str, int] | None = None) -> dict:  # fmt: skip
    """Per speech window with its face in it: the mean emotion of the face (``backend.intervals``) against the
    voice's; with ``fused``, which of the two the fused view trusts. ``face_of``: each speaker's face where known."""
    by_window = {(w.start, w.end, w.face_id): w for w in fused if len(w.modalities) == 2}
    checks: list[WindowCheck] = []
    index = FaceIndex(faces)
    skipped = 0
    for segment in voice:
        face = _face_for(index, segment, face_of)
        if face is None:
            skipped += 1
            continue
        face_label, face_conf = top_label(face.probabilities)
        voice_label, voice_conf = top_label(segment.probabilities)
        score = float(np.sum(np.sqrt(np.clip(face.probabilities, 0, None) * np.clip(segment.probabilities, 0, None))))
        check = WindowCheck(round(segment.start, 3), round(segment.end, 3), face.face_id, face_label, face_conf,
                            voice_label, voice_conf, face_label == voice_label, round(score, 4),
                            speaker_id=segment.speaker_id)  # fmt: skip
        if (fused_window := by_window.get((check.start, check.end, face.face_id))) is not None:
            _trust(check, fused_window)
        checks.append(check)
    agreed = sum(c.agree for c in checks)
    return {
        "windows_compared": len(checks),
        "windows_without_face": skipped,
        "agreement_rate": round(agreed / len(checks), 4) if checks else None,
        "mean_score": round(float(np.mean([c.score for c in checks])), 4) if checks else None,
        "disagreements": [asdict(c) for c in checks if not c.agree],
        "windows": [asdict(c) for c in checks],
    }
