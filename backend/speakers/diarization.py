"""Who speaks when: speech activity every 32 ms, a speaker embedding every 0.4 s, clustering, then turns.

The signal streams through in blocks: only the samples of the windows not yet embedded are held, and what is kept
per second of audio is a few bytes of activity and one 256-float vector per 0.4 s of speech (about 9 MB an hour),
so memory stays flat in practice; clustering looks at MAX_CLUSTERED windows at most.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from backend.speakers.activity import FRAME, FRAME_SECONDS, SAMPLE_RATE, SpeechActivity, SpeechFrames, model_info
from backend.speakers.clustering import MAX_SPEAKERS, centroids, cluster
from backend.speakers.embeddings import SpeakerEmbedder, default_embedder
from backend.speakers.turns import SpeakerTurn

HOP = 6400  # samples between window starts: 0.4 s, a multiple of the VAD frame
CHUNK = 64  # windows embedded in one batch: 25.6 s of audio
MIN_WINDOW_SPEECH = 0.5  # a window is embedded when at least this share of it is speech
MAX_CLUSTERED = 3000  # windows clustered at most (20 min of speech); the others join the nearest speaker
SMOOTHING = 2  # windows either side averaged into each one's vector
MERGE_GAP = 0.3  # seconds: one speaker's turns closer than this are one turn
OVERLAP_MARGIN = 0.02  # a window as close (cosine) to a second speaker as to its own, within this, holds both


@dataclass(frozen=True)
class Diarization:
    """The turns of a file in time order, the speakers found (``S1``, ``S2``... in order of first speech), and
    the stretches where two speakers talk at once."""

    turns: list[SpeakerTurn]
    speakers: list[str]
    overlaps: list[tuple[float, float]] = field(default_factory=list)


def validate_speakers(speakers: int | None) -> int | None:
    """``speakers`` as given, or a ValueError (the API's ``invalid_option``) outside 1..MAX_SPEAKERS."""
    if speakers is not None and (isinstance(speakers, bool) or not isinstance(speakers, int)
                                 or not 1 <= speakers <= MAX_SPEAKERS):  # fmt: skip
        raise ValueError(f"speakers must be a whole number from 1 to {MAX_SPEAKERS} (or None: found); got {speakers!r}")
    return speakers


@dataclass
class SpeechWindows:
    """What the stream leaves behind: speech per 32 ms frame, and the embedded windows' starts (samples) and
    vectors."""

    speech: np.ndarray
    starts: np.ndarray
    vectors: np.ndarray


class _WindowStream:
    """Windows of ``embedder.window_seconds`` every HOP samples, embedded in batches as the samples arrive, those
    that are mostly speech only."""

    def __init__(self, embedder: SpeakerEmbedder):
        self.embedder = embedder
        self.width = int(embedder.window_seconds * SAMPLE_RATE)
        self.activity, self.frames = SpeechActivity(), SpeechFrames()
        self.speech: list[np.ndarray] = []
        self.starts: list[np.ndarray] = []
        self.vectors: list[np.ndarray] = []
        self.buffer = np.zeros(0, dtype=np.float32)
        self.offset = 0  # the sample number of buffer[0], always the start of the next window
        self.total = 0

    def feed(self, block: np.ndarray) -> None:
        block = np.asarray(block, dtype=np.float32).reshape(-1)
        self.total += len(block)
        self.speech.append(self.frames.feed(self.activity.feed(block)))
        self.buffer = np.concatenate([self.buffer, block])
        while len(self.buffer) >= (CHUNK - 1) * HOP + self.width:
            self._embed(CHUNK)

    def finish(self) -> SpeechWindows:
        self.speech.append(self.frames.feed(self.activity.feed(np.zeros(0, dtype=np.float32), final=True)))
        if len(self.buffer) >= self.width:
            self._embed((len(self.buffer) - self.width) // HOP + 1)
        speech = np.concatenate(self.speech)
        if not self.starts and speech.any():  # speech shorter than a window: one window over all of it, padded
            self.buffer = np.pad(self.buffer, (0, self.width - len(self.buffer)))
            self._embed(1, require_speech=False)
        if not self.starts:
            return SpeechWindows(speech, np.zeros(0, dtype=int), np.zeros((0, 0), dtype=np.float32))
        return SpeechWindows(speech, np.concatenate(self.starts), np.concatenate(self.vectors))

    def _embed(self, count: int, require_speech: bool = True) -> None:
        speech = np.concatenate(self.speech)
        starts = self.offset + np.arange(count) * HOP
        shares = np.array([speech[s // FRAME : (s + self.width) // FRAME].mean() for s in starts])
        chosen = starts[shares >= MIN_WINDOW_SPEECH] if require_speech else starts
        if len(chosen):
            local = chosen - self.offset
            self.starts.append(chosen)
            self.vectors.append(self.embedder.embed(np.stack([self.buffer[s : s + self.width] for s in local])))
        self.buffer, self.offset = self.buffer[count * HOP :], self.offset + count * HOP


class DiarizationStream:
    """The diarization of a sound that arrives in blocks (the analysis's one decode of the sound): :meth:`feed` the
    blocks in order, then :meth:`finish`. ``speakers``: how many there are, 1..MAX_SPEAKERS, or None to find out;
    anything else is a ValueError, raised before any work."""

    def __init__(self, speakers: int | None = None, embedder: SpeakerEmbedder | None = None):
        self.speakers = validate_speakers(speakers)
        embedder = embedder or default_embedder()
        self._windows = _WindowStream(embedder)
        info = getattr(embedder, "info", None)  # an embedder standing in for the default may not name itself
        self.models = [model_info().to_dict(), *([info.to_dict()] if info else [])]  # as a result lists them

    def feed(self, block: np.ndarray) -> None:
        """The next 16 kHz mono float32 samples."""
        self._windows.feed(block)

    def finish(self) -> Diarization:
        windows = self._windows.finish()
        if not len(windows.vectors):
            return Diarization([], [])
        first, second = label_windows(windows.vectors, windows.starts, self.speakers)
        return turns_of(windows, self._windows.width, first, second)


def smoothed(vectors: np.ndarray, starts: np.ndarray, reach: int = SMOOTHING) -> np.ndarray:
    """Each window's vector averaged with those of the windows up to ``reach`` hops before and after it (1.6 s
    of speech says little about a voice; 3.2 s says much more, and turns are rarely shorter)."""
    out = np.empty_like(vectors)
    for i, start in enumerate(starts):
        lo, hi = np.searchsorted(starts, [start - reach * HOP, start + reach * HOP + 1])
        mean = vectors[lo:hi].mean(axis=0)
        out[i] = mean / np.linalg.norm(mean)
    return out


def label_windows(vectors: np.ndarray, starts: np.ndarray, speakers: int | None) -> tuple[np.ndarray, np.ndarray]:
    """A speaker per window (0..k-1) and, where the window is about as close to another speaker, that one (else
    -1). Beyond MAX_CLUSTERED windows, an evenly spread sample is clustered and every window joins the nearest
    speaker found."""
    sample = np.linspace(0, len(vectors) - 1, min(len(vectors), MAX_CLUSTERED)).astype(int)
    raw, vectors = vectors, smoothed(vectors, starts)
    labels = cluster(raw[sample], vectors[sample], speakers)
    means = centroids(vectors[sample], labels)
    similarity = vectors @ means.T
    order = np.argsort(-similarity, axis=1)
    first = order[:, 0]
    if len(means) < 2:
        return first, np.full(len(vectors), -1)
    second = order[:, 1]
    rows = np.arange(len(vectors))
    close = similarity[rows, first] - similarity[rows, second] <= OVERLAP_MARGIN
    return first, np.where(close, second, -1)


def _runs(keys: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) index pairs of the stretches of equal rows, end exclusive."""
    edges = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
    bounds = np.concatenate([[0], edges, [len(keys)]])
    return list(zip(bounds[:-1].tolist(), bounds[1:].tolist()))


def _merged(turns: list[SpeakerTurn]) -> list[SpeakerTurn]:
    """One speaker's consecutive turns closer than MERGE_GAP (and alike in overlap) made one."""
    merged: list[SpeakerTurn] = []
    for turn in sorted(turns, key=lambda t: (t.speaker_id, t.overlap, t.start)):
        last = merged[-1] if merged else None
        if (
            last
            and (last.speaker_id, last.overlap) == (turn.speaker_id, turn.overlap)
            and turn.start - last.end < MERGE_GAP
        ):
            merged[-1] = SpeakerTurn(last.start, max(last.end, turn.end), turn.speaker_id, turn.overlap)
        else:
            merged.append(turn)
    return sorted(merged, key=lambda t: (t.start, t.end, t.speaker_id))


def turns_of(windows: SpeechWindows, width: int, first: np.ndarray, second: np.ndarray) -> Diarization:
    """Each speech frame takes the speaker (and overlap) of the window centred nearest to it."""
    frames = np.flatnonzero(windows.speech)
    if not len(frames) or not len(windows.starts):
        return Diarization([], [])
    centres = windows.starts + width / 2
    at = (frames + 0.5) * FRAME
    right = np.clip(np.searchsorted(centres, at), 1, len(centres) - 1) if len(centres) > 1 else np.zeros(len(at), int)
    nearest = (
        np.where(np.abs(centres[right - 1] - at) <= np.abs(centres[right] - at), right - 1, right)
        if len(centres) > 1
        else right
    )
    key = np.stack([first[nearest], second[nearest], frames - np.arange(len(frames))], axis=1)  # a gap breaks a run
    turns: list[SpeakerTurn] = []
    for a, b in _runs(key):
        start, end = round(float(frames[a] * FRAME_SECONDS), 3), round(float((frames[b - 1] + 1) * FRAME_SECONDS), 3)
        speaker, other = int(key[a, 0]), int(key[a, 1])
        turns.append(SpeakerTurn(start, end, str(speaker), overlap=other >= 0))
    turns = _merged(turns)
    names = {label: f"S{i + 1}" for i, label in enumerate(dict.fromkeys(t.speaker_id for t in turns))}
    turns = [SpeakerTurn(t.start, t.end, names[t.speaker_id], t.overlap) for t in turns]
    overlaps = sorted({(t.start, t.end) for t in turns if t.overlap})
    return Diarization(turns, list(names.values()), overlaps)


def diarize(
    audio: np.ndarray | Iterable[np.ndarray], speakers: int | None = None, embedder: SpeakerEmbedder | None = None
) -> Diarization:
    """The speaker turns of 16 kHz mono float32 ``audio``, a whole signal or its blocks in order (the stream is
    never held whole); ``speakers`` as :class:`DiarizationStream` takes it."""
    stream = DiarizationStream(speakers, embedder)
    blocks = (
        (audio[i : i + CHUNK * HOP] for i in range(0, len(audio), CHUNK * HOP))
        if isinstance(audio, np.ndarray)
        else audio
    )
    for block in blocks:
        stream.feed(block)
    return stream.finish()
