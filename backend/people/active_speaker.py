"""Which face speaks: each speaker's turns matched with the mouth motion of each tracked face.

A face whose lips move while a speaker talks and rest while they are silent belongs to that speaker. For every face
and speaker the mouth motion (``backend.faces.mouth``, one value per short bin) is correlated with the speaker's
activity (how much of each bin they speak) over the bins where the face was seen; each face is then given at most
one speaker and each speaker at most one face, the pairs with the highest correlations first (the Hungarian
assignment over the correlation matrix), and a pair is kept only if its correlation reaches ``min_correlation``.
A speaker left without a face is off screen (a narrator, someone behind the camera); a face left without a speaker
is a listener.

Correlation and not the level of motion: people move their lips by different amounts and video compresses faces
differently, so a face is only ever compared with itself, speaking against silent. The motion is smoothed over a
few tenths of a second first, since lips close between syllables while the speaker's turn goes on. Nothing can be
told from a face seen only while one speaker talks all along (no silence to compare with), and such a pair has no
correlation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy.optimize import linear_sum_assignment

from backend.faces.mouth import MouthSignal
from backend.speakers.turns import SpeakerTurn

SpeakerId = str  # a SpeakerTurn's speaker_id

MIN_CORRELATION = 0.2
SMOOTHING_SECONDS = 0.5
WINDOW_SECONDS = 1.0
MIN_SEEN_SECONDS = 1.0  # a face seen for less than this while a speaker's activity changes is not judged


@dataclass(frozen=True)
class FaceSpeakerLink:
    face_id: int
    speaker_id: SpeakerId
    correlation: float


@dataclass(frozen=True)
class SpeakingWindow:
    """A piece of a speaker's turn (at most ``window_seconds``) and the face that speaks it: the speaker's face where
    it was seen in the window, None where the speaker has no face or it was not seen then. ``mouth_motion`` is
    each face seen in the window with its mean mouth motion there, in units of that face's own spread over the
    video (0 is its usual motion), the evidence of this window alone."""

    start: float
    end: float
    speaker_id: SpeakerId
    face_id: int | None
    mouth_motion: dict[int, float] = field(default_factory=dict)

    @property
    def most_moving_face(self) -> int | None:
        """The face whose lips moved most in this window, by its own measure."""
        return max(self.mouth_motion, key=self.mouth_motion.__getitem__) if self.mouth_motion else None


@dataclass(frozen=True)
class ActiveSpeakers:
    """The link between faces and speakers, and who speaks each speech window."""

    links: tuple[FaceSpeakerLink, ...]
    listeners: tuple[int, ...]  # faces never matched with a speaker
    off_screen: tuple[SpeakerId, ...]  # speakers never matched with a face
    windows: tuple[SpeakingWindow, ...]
    correlations: dict[tuple[int, SpeakerId], float]  # (face, speaker) -> correlation, where one could be measured

    def face_of(self, speaker_id: SpeakerId) -> int | None:
        return next((link.face_id for link in self.links if link.speaker_id == speaker_id), None)

    def speaker_of(self, face_id: int) -> SpeakerId | None:
        return next((link.speaker_id for link in self.links if link.face_id == face_id), None)


def find_active_speakers(signals: Sequence[MouthSignal], turns: Sequence[SpeakerTurn],
                         min_correlation: float = MIN_CORRELATION, window_seconds: float = WINDOW_SECONDS,
                         smoothing_seconds: float = SMOOTHING_SECONDS) -> ActiveSpeakers:  # fmt: skip
    """Link the faces of ``signals`` (``MouthMotion.signals()``) with the speakers of ``turns`` and say which face
    speaks each speech window. Signals must share one bin grid (one ``MouthMotion`` makes them so)."""
    speakers = sorted({turn.speaker_id for turn in turns}, key=str)
    if not signals:
        return ActiveSpeakers((), (), tuple(speakers), _windows(turns, {}, [], window_seconds), {})
    grid = signals[0]
    if any((s.start, s.bin_seconds) != (grid.start, grid.bin_seconds) for s in signals):
        raise ValueError("the mouth signals must share one grid of bins")
    length = max(len(s.motion) for s in signals)
    smoothed = [replace(s, motion=_smoothed(s, smoothing_seconds, length)) for s in signals]
    activity = {speaker: _activity([t for t in turns if t.speaker_id == speaker], grid, length)
                for speaker in speakers}  # fmt: skip
    min_bins = MIN_SEEN_SECONDS / grid.bin_seconds
    correlations: dict[tuple[int, SpeakerId], float] = {}
    for signal in smoothed:
        for speaker in speakers:
            score = _correlation(signal.motion, activity[speaker], min_bins)
            if score is not None:
                correlations[(signal.face_id, speaker)] = score
    links = _assign(correlations, [s.face_id for s in signals], speakers, min_correlation)
    linked_faces = {link.face_id for link in links}
    linked_speakers = {link.speaker_id for link in links}
    standardised = [replace(s, motion=_standardised(s.motion)) for s in smoothed]
    return ActiveSpeakers(
        links=tuple(links),
        listeners=tuple(s.face_id for s in signals if s.face_id not in linked_faces),
        off_screen=tuple(s for s in speakers if s not in linked_speakers),
        windows=_windows(turns, {link.speaker_id: link.face_id for link in links}, standardised, window_seconds),
        correlations=correlations,
    )


def _smoothed(signal: MouthSignal, seconds: float, length: int) -> np.ndarray:
    """A moving mean over ``seconds`` that skips the bins where the face was not seen (they stay NaN), padded with
    NaN to ``length`` bins."""
    values = np.pad(signal.motion.astype(np.float64), (0, length - len(signal.motion)), constant_values=np.nan)
    seen = ~np.isnan(values)
    width = max(1, round(seconds / signal.bin_seconds))
    kernel = np.ones(width)
    sums = np.convolve(np.where(seen, values, 0.0), kernel, "same")
    counts = np.convolve(seen.astype(np.float64), kernel, "same")
    return np.where(seen, sums / np.maximum(counts, 1), np.nan)


def _activity(turns: Sequence[SpeakerTurn], grid: MouthSignal, length: int) -> np.ndarray:
    """The share of each bin of ``grid`` that the turns cover."""
    edges = grid.start + np.arange(length + 1) * grid.bin_seconds
    covered = np.zeros(length)
    for turn in turns:
        covered += np.clip(np.minimum(edges[1:], turn.end) - np.maximum(edges[:-1], turn.start), 0, None)
    return np.minimum(covered / grid.bin_seconds, 1.0)


def _correlation(motion: np.ndarray, activity: np.ndarray, min_bins: float) -> float | None:
    """Pearson's correlation over the bins where the face was seen; None where the face was seen too little or the
    speaker's activity does not change over those bins."""
    seen = ~np.isnan(motion)
    if seen.sum() < min_bins:
        return None
    x, y = motion[seen], activity[seen]
    if np.ptp(y) == 0 or np.ptp(x) == 0:
        return None
    return float(np.corrcoef(x, y)[0, 1])


def _assign(correlations: dict[tuple[int, SpeakerId], float], faces: list[int], speakers: list[SpeakerId],
            min_correlation: float) -> list[FaceSpeakerLink]:  # fmt: skip
    """One speaker per face at most and one face per speaker, the sum of correlations as high as it can be; pairs
    under ``min_correlation`` (or never measured) are not links."""
    if not faces or not speakers:
        return []
    scores = np.full((len(faces), len(speakers)), -1.0)
    for (face_id, speaker), score in correlations.items():
        scores[faces.index(face_id), speakers.index(speaker)] = score
    rows, cols = linear_sum_assignment(scores, maximize=True)
    return [FaceSpeakerLink(faces[r], speakers[c], round(float(scores[r, c]), 4))
            for r, c in zip(rows, cols) if scores[r, c] >= min_correlation]  # fmt: skip


def _standardised(values: np.ndarray) -> np.ndarray:
    seen = values[~np.isnan(values)]
    if len(seen) < 2 or seen.std() == 0:
        return np.where(np.isnan(values), np.nan, 0.0)
    return (values - seen.mean()) / seen.std()


def _windows(turns: Sequence[SpeakerTurn], faces: dict[SpeakerId, int], motion: Sequence[MouthSignal],
             window_seconds: float) -> tuple[SpeakingWindow, ...]:  # fmt: skip
    """Each turn cut into equal pieces of about ``window_seconds``, with the speaker's face and each face's motion."""
    windows = []
    for turn in sorted(turns, key=lambda t: t.start):
        count = max(1, round((turn.end - turn.start) / window_seconds))
        step = (turn.end - turn.start) / count
        for k in range(count):
            start, end = turn.start + k * step, turn.start + (k + 1) * step
            seen = {}
            for signal in motion:
                part = signal.motion[signal.bins(start, end)]
                if np.any(~np.isnan(part)):
                    seen[signal.face_id] = round(float(np.nanmean(part)), 3)
            face = faces.get(turn.speaker_id)
            windows.append(SpeakingWindow(start, end, turn.speaker_id, face if face in seen else None, seen))
    return tuple(windows)
