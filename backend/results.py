"""The result of an analysis: one versioned schema (``result_schema.json``) for the CLI, the API and the web app.

Records are per face per analysed frame; the per-second timeline and the summaries are derived from them here,
in one place, so every consumer reports the same numbers.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .emotions import EMOTIONS
from .intervals import SpanIndex, weighted_mean

SCHEMA_VERSION = "1.4"
SCHEMA_PATH = Path(__file__).with_name("result_schema.json")


def probabilities_dict(probabilities: np.ndarray) -> dict[str, float]:
    return {name: round(float(p), 4) for name, p in zip(EMOTIONS, probabilities)}


@dataclass
class FaceObservation:
    """One face in one analysed frame."""

    t: float
    frame_index: int
    face_id: int
    box: list[int]  # x1, y1, x2, y2 in pixels of the upright frame
    detection_score: float | None  # None when the whole image stood in for an undetected pre-cropped face
    probabilities: dict[str, float]
    label: str
    confidence: float
    low_confidence: bool  # face too small (or not detected) for its label to be trusted
    # Mean of this face's probabilities within the smoothing window around t (None when smoothing is off):
    # a single-frame flicker (blink, motion blur) does not flip the label, a lasting change still shows.
    smoothed_probabilities: dict[str, float] | None = None
    smoothed_label: str | None = None

    @classmethod
    def build(cls, t: float, frame_index: int, face_id: int, box: list[int], detection_score: float | None,
              probabilities: np.ndarray, low_confidence: bool) -> FaceObservation:  # fmt: skip
        best = int(np.argmax(probabilities))
        return cls(
            t=round(t, 3),
            frame_index=frame_index,
            face_id=face_id,
            box=box,
            detection_score=None if detection_score is None else round(detection_score, 4),
            probabilities=probabilities_dict(probabilities),
            label=EMOTIONS[best],
            confidence=round(float(probabilities[best]), 4),
            low_confidence=low_confidence,
        )

    def vector(self) -> np.ndarray:
        return np.array([self.probabilities[name] for name in EMOTIONS])


def smooth_faces(observations: list[FaceObservation], window: float) -> None:
    """Per face, a centred moving average over ``window`` seconds of media time (not frames, so the same window
    means the same duration at any sampling rate); raw probabilities stay as they were."""
    if window <= 0:
        return
    by_face: dict[int, list[FaceObservation]] = defaultdict(list)
    for o in observations:
        by_face[o.face_id].append(o)
    for own in by_face.values():
        own.sort(key=lambda o: o.t)
        times = np.array([o.t for o in own])
        vectors = np.array([o.vector() for o in own])
        lo = np.searchsorted(times, times - window / 2, side="left")
        hi = np.searchsorted(times, times + window / 2, side="right")
        for o, a, b in zip(own, lo, hi):
            mean = vectors[a:b].mean(axis=0)
            o.smoothed_probabilities = probabilities_dict(mean)
            o.smoothed_label = EMOTIONS[int(np.argmax(mean))]


@dataclass
class VoiceRecord:
    """One voice window. Windows without speech carry no emotion: silence is marked, never guessed."""

    start: float
    end: float
    speech: bool
    probabilities: dict[str, float] | None
    label: str | None
    confidence: float | None
    speech_share: float | None = None  # share of the window's frames that are speech-like (None: not measured)
    speaker_id: str | None = None  # the speaker with the most speech in the window (backend.people); None: none

    @classmethod
    def build(cls, start: float, end: float, probabilities: np.ndarray | None,
              speech_share: float | None = None) -> VoiceRecord:  # fmt: skip
        share = None if speech_share is None else round(float(speech_share), 3)
        if probabilities is None:
            return cls(round(start, 3), round(end, 3), False, None, None, None, share)
        best = int(np.argmax(probabilities))
        return cls(round(start, 3), round(end, 3), True, probabilities_dict(probabilities), EMOTIONS[best],
                   round(float(probabilities[best]), 4), share)  # fmt: skip

    def vector(self) -> np.ndarray:
        assert self.probabilities is not None, "only speech windows have probabilities"
        return np.array([self.probabilities[name] for name in EMOTIONS])


@dataclass
class FusedWindow:
    start: float
    end: float
    face_id: int | None  # None: no face in view, the voice alone
    modalities: list[str]  # the modalities that observed the window: ["face", "voice"], ["face"] or ["voice"]
    probabilities: dict[str, float]
    label: str
    confidence: float
    weights: dict[str, float]  # share of the fused evidence each modality carried (sums to 1)
    face_size: float | None  # the face's median short side in the window, px
    speech_share: float | None  # share of the window that is speech
    speaker_id: str | None = None  # whose voice it holds; None where it holds none

    def vector(self) -> np.ndarray:
        return np.array([self.probabilities[name] for name in EMOTIONS])


@dataclass
class Person:
    """Someone in the file: their face track(s) and their voice (a speaker), how long each was seen and heard, and
    per modality the mean emotion over their own evidence alone, as the file's echo mean is over all of it."""

    person_id: str
    face_ids: list[int]
    speaker_id: str | None  # None: a face never heard
    on_screen_seconds: float
    speech_seconds: float
    face: dict | None
    voice: dict | None
    fused: dict | None


@dataclass
class TimelineEntry:
    """Mean probabilities of one source (a face) over one window of media time."""

    start: float
    end: float
    source: str  # "face", "voice" or "fused"
    face_id: int | None  # None for voice, and for fused windows with no face in view
    label: str
    confidence: float
    probabilities: dict[str, float]
    n: int  # observations averaged
    speaker_id: str | None = None  # a voice lane's speaker, and a fused lane's of the voice alone (backend.people)


@dataclass
class Result:
    input: dict
    options: dict
    models: list[dict]
    faces: list[FaceObservation]
    frames_analysed: int
    voice: list[VoiceRecord] = field(default_factory=list)
    double_check: dict | None = None
    echo_mean: dict | None = None
    transcript: list | None = None  # backend.transcribe.Segment list when asked (transcribe), else None
    transcript_language: dict | None = None  # {"code", "probability", "detected"} beside the transcript
    fused: list[FusedWindow] | None = None  # fused per window (backend.fusion.fused_windows); None when not asked
    people: list[Person] = field(default_factory=list)  # backend.people.assemble
    timeline: list[TimelineEntry] = field(default_factory=list)
    artifacts: list[dict] = field(default_factory=list)  # files written beside result.json (name, type, size, sha256)
    summary: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    schema_version: str = SCHEMA_VERSION
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def finalise(self, window: float = 1.0) -> Result:
        """Derive the timeline and the summary from the observations."""
        lanes = face_timeline(self.faces, window) + voice_timeline(self.voice, window, by_speaker=True)
        lanes += fused_timeline(self.fused or [], window)
        self.timeline = sorted(lanes, key=lambda e: (e.start, e.source, -1 if e.face_id is None else e.face_id,
                                                     e.speaker_id or ""))  # fmt: skip
        self.summary = summarise(self.faces, self.frames_analysed)
        self.summary["voice"] = summarise_voice(self.voice)
        self.summary["fused"] = summarise_fused(self.fused or [])
        return self

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=False)

    def write_json(self, path: Path) -> None:
        path.write_text(self.to_json() + "\n", encoding="utf-8")


def _mean_entry(records: list, start: float, end: float, face_id: int | None, source: str = "face",
                weights: np.ndarray | None = None, speaker_id: str | None = None) -> TimelineEntry:  # fmt: skip
    mean = weighted_mean([r.vector() for r in records], np.ones(len(records)) if weights is None else weights)
    best = int(np.argmax(mean))
    return TimelineEntry(
        start=round(start, 3),
        end=round(end, 3),
        source=source,
        face_id=face_id,
        label=EMOTIONS[best],
        confidence=round(float(mean[best]), 4),
        probabilities=probabilities_dict(mean),
        n=len(records),
        speaker_id=speaker_id,
    )


def face_timeline(observations: list[FaceObservation], window: float = 1.0) -> list[TimelineEntry]:
    """Per face, the mean probabilities in consecutive windows of ``window`` seconds (empty windows omitted)."""
    groups: dict[tuple[int, int], list[FaceObservation]] = defaultdict(list)
    for o in observations:
        groups[(o.face_id, math.floor(o.t / window))].append(o)
    entries = [_mean_entry(obs, k * window, (k + 1) * window, face_id) for (face_id, k), obs in groups.items()]
    return sorted(entries, key=lambda e: (e.start, e.face_id))


def _overlap_timeline(records: list, window: float, source: str, face_id: int | None,
                      speaker_id: str | None = None) -> list[TimelineEntry]:  # fmt: skip
    """Per window of ``window`` seconds, the mean of the records (start, end, vector) in it, each by the time it
    shares with the window (:mod:`backend.intervals`)."""
    if not records:
        return []
    index = SpanIndex([r.start for r in records], [r.end for r in records])
    entries = []
    first, last = min(r.start for r in records), max(r.end for r in records)
    for k in range(math.floor(first / window), math.ceil(last / window) or 1):
        start, end = k * window, (k + 1) * window
        positions, weights = index.overlap(start, end)
        if len(positions):
            entries.append(_mean_entry([records[i] for i in positions], start, end, face_id, source, weights,
                                       speaker_id))  # fmt: skip
    return entries


def voice_timeline(records: list[VoiceRecord], window: float = 1.0, by_speaker: bool = False) -> list[TimelineEntry]:
    """The speech windows overlapping each second (windows without speech omitted), so voice lines up second by
    second with the faces although its windows are longer and overlap; ``by_speaker``: a lane per speaker."""
    speech = [r for r in records if r.speech]
    if not by_speaker:
        return _overlap_timeline(speech, window, "voice", None)
    speakers = dict.fromkeys(r.speaker_id for r in speech)
    return [entry for speaker in speakers
            for entry in _overlap_timeline([r for r in speech if r.speaker_id == speaker], window, "voice", None,
                                           speaker)]  # fmt: skip


def fused_timeline(fused: list[FusedWindow], window: float = 1.0) -> list[TimelineEntry]:
    """Per face (and per speaker for the stretches with their voice alone), the fused windows overlapping each
    second."""
    lanes: dict[tuple[int | None, str | None], list[FusedWindow]] = defaultdict(list)
    for w in fused:
        lanes[(w.face_id, w.speaker_id if w.face_id is None else None)].append(w)
    return [entry for (face_id, speaker), own in lanes.items()
            for entry in _overlap_timeline(own, window, "fused", face_id, speaker)]  # fmt: skip


def label_shares(labels: list[str]) -> dict[str, float]:
    """The share of ``labels`` (one per observation or window) that each emotion has."""
    return {name: round(labels.count(name) / len(labels), 4) for name in EMOTIONS}


def summarise_voice(records: list[VoiceRecord]) -> dict | None:
    """Windows analysed, how many held speech, and over the speech windows the dominant emotion and shares."""
    if not records:
        return None
    speech = [r for r in records if r.speech]
    summary = {"windows": len(records), "speech_windows": len(speech)}
    if speech:
        mean = np.mean([r.vector() for r in speech], axis=0)
        summary |= {
            "dominant_emotion": EMOTIONS[int(np.argmax(mean))],
            "mean_probabilities": probabilities_dict(mean),
            "share_of_time": label_shares([r.label for r in speech]),
        }
    return summary


def _describe(observations: list[FaceObservation]) -> dict:
    mean = np.mean([o.vector() for o in observations], axis=0)
    return {
        "observations": len(observations),
        "first_seen": observations[0].t,
        "last_seen": observations[-1].t,
        "dominant_emotion": EMOTIONS[int(np.argmax(mean))],
        "mean_probabilities": probabilities_dict(mean),
        "share_of_time": label_shares([o.label for o in observations]),
        "low_confidence_share": round(sum(o.low_confidence for o in observations) / len(observations), 4),
    }


def summarise(observations: list[FaceObservation], frames_analysed: int) -> dict:
    """Per face and overall: dominant emotion (highest mean probability) and share of time per emotion."""
    by_face: dict[int, list[FaceObservation]] = defaultdict(list)
    for o in sorted(observations, key=lambda o: o.t):
        by_face[o.face_id].append(o)
    frames_with_faces = len({o.frame_index for o in observations})
    overall = _describe(sorted(observations, key=lambda o: o.t)) if observations else None
    return {
        "frames_analysed": frames_analysed,
        "frames_with_faces": frames_with_faces,
        "face_count": len(by_face),
        "faces": [{"face_id": face_id, **_describe(obs)} for face_id, obs in sorted(by_face.items())],
        "overall": overall,
    }


def summarise_fused(fused: list[FusedWindow]) -> dict | None:
    """How many windows, how many with both modalities, the mean face/voice weight there, and over all fused
    windows the dominant emotion and the share of time per emotion."""
    if not fused:
        return None
    both = [w for w in fused if len(w.modalities) == 2]
    mean = np.mean([w.vector() for w in fused], axis=0)
    return {
        "windows": len(fused),
        "windows_with_both": len(both),
        "mean_face_weight": round(float(np.mean([w.weights["face"] for w in both])), 4) if both else None,
        "dominant_emotion": EMOTIONS[int(np.argmax(mean))],
        "mean_probabilities": probabilities_dict(mean),
        "share_of_time": label_shares([w.label for w in fused]),
    }
