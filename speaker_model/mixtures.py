"""Conversations built from the shared speech corpora, with the truth of who speaks when (issue 36, item 5).

A mixture is turns of 1-8 s by 1-4 speakers of one corpus (the same room and microphone, so that the channel does
not give a speaker away), separated by pauses or, now and then, overlapping a little; each speaker at their own
level. The labels are the speech segments as they were placed (each clip trimmed to its speech first), so they are
exact by construction. Everything follows from the seed: the same seed gives the same samples and labels.

Speakers are split in two halves per corpus (every other one in sorted order): ``tuning`` speakers choose the
diarizer's settings (``python -m speaker_model fit``), ``held_out`` speakers judge it (bench/bench_diarization.py).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

SAMPLE_RATE = 16_000
TURN_SECONDS = (1.0, 8.0)
PAUSE_SECONDS = (0.2, 1.5)
OVERLAP_SECONDS = (0.2, 0.8)
OVERLAP_CHANCE = 0.15
CLIP_GAP_SECONDS = (0.05, 0.25)  # between two clips of one turn
SPEAKER_LEVEL_DB = (-28.0, -18.0)  # RMS of each speaker's speech, dBFS
TURN_LEVEL_JITTER_DB = 2.0
NOISE_DB = -60.0
MIXTURE_SECONDS = {1: 45.0, 2: 60.0, 3: 90.0, 4: 90.0}  # a benchmark mixture's length by its number of speakers
SEED_BASE = {"tuning": 1000, "held_out": 2000}
TRIM_TOP_DB = 35.0  # a clip's leading and trailing silence: this far below its peak


@dataclass(frozen=True)
class Segment:
    """A stretch of one speaker's speech, in seconds from the mixture's start."""

    start: float
    end: float
    speaker: str


@dataclass(frozen=True)
class Mixture:
    signal: np.ndarray  # 16 kHz mono float32
    segments: list[Segment]
    speakers: list[str]

    @property
    def duration(self) -> float:
        return len(self.signal) / SAMPLE_RATE

    def rttm(self, uri: str = "mixture") -> str:
        """The labels as NIST RTTM lines, the format diarization scorers read."""
        return "".join(
            f"SPEAKER {uri} 1 {s.start:.3f} {s.end - s.start:.3f} <NA> <NA> {s.speaker} <NA> <NA>\n"
            for s in self.segments
        )


@cache
def speaker_clips(data_dir: Path) -> dict[str, list[Path]]:
    """Every speaker of ``speech/manifest.csv`` with their clips, by speaker name (``corpus_id``)."""
    clips: dict[str, list[Path]] = {}
    for (speaker, _), paths in emotion_clips(data_dir).items():
        clips.setdefault(speaker, []).extend(paths)
    return {speaker: sorted(paths) for speaker, paths in sorted(clips.items())}


@cache
def emotion_clips(data_dir: Path) -> dict[tuple[str, str], list[Path]]:
    """Every speaker's clips by their labelled emotion, keyed by (speaker, emotion)."""
    folder = data_dir / "speech"
    clips: dict[tuple[str, str], list[Path]] = {}
    with open(folder / "manifest.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            clips.setdefault((row["speaker"], row["emotion"]), []).append(folder / row["path"])
    return {key: sorted(paths) for key, paths in sorted(clips.items())}


def corpus_of(speaker: str) -> str:
    return speaker.rsplit("_", 1)[0]


def speaker_split(data_dir: Path, part: str) -> dict[str, list[str]]:
    """The ``tuning`` or ``held_out`` speakers of each corpus: every other speaker in sorted order (even positions
    tune, odd ones are held out)."""
    offset = {"tuning": 0, "held_out": 1}[part]
    by_corpus: dict[str, list[str]] = {}
    for speaker in speaker_clips(data_dir):
        by_corpus.setdefault(corpus_of(speaker), []).append(speaker)
    return {corpus: names[offset::2] for corpus, names in by_corpus.items()}


def pick_speakers(data_dir: Path, part: str, count: int, rng: np.random.Generator) -> list[str]:
    """``count`` speakers of one corpus of the ``part``, the corpus drawn among those that have enough of them."""
    corpora = {corpus: names for corpus, names in speaker_split(data_dir, part).items() if len(names) >= count}
    corpus = sorted(corpora)[rng.integers(len(corpora))]
    return [str(name) for name in rng.choice(corpora[corpus], size=count, replace=False)]


def speech_of(path: Path) -> np.ndarray:
    """A clip without its leading and trailing silence, at unit RMS."""
    import librosa
    import soundfile as sf

    clip, rate = sf.read(str(path), dtype="float32", always_2d=True)
    clip = clip.mean(axis=1)
    if rate != SAMPLE_RATE:
        clip = librosa.resample(clip, orig_sr=rate, target_sr=SAMPLE_RATE)
    clip, _ = librosa.effects.trim(clip, top_db=TRIM_TOP_DB)
    return clip / (np.sqrt(np.mean(clip**2)) + 1e-9)


def _turn(clips: list[Path], level: float, rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """One turn of 1-8 s from a speaker's clips in random order: the samples and the speech stretches within it."""
    target = rng.uniform(*TURN_SECONDS)
    parts: list[np.ndarray] = []
    stretches: list[tuple[float, float]] = []
    length = 0.0
    while length < target:
        if parts:
            gap = rng.uniform(*CLIP_GAP_SECONDS)
            parts.append(np.zeros(int(gap * SAMPLE_RATE), dtype=np.float32))
            length += gap
        speech = speech_of(clips[rng.integers(len(clips))])
        speech = speech[: int((TURN_SECONDS[1] - length) * SAMPLE_RATE)]
        parts.append(speech * level * 10 ** (rng.uniform(-1, 1) * TURN_LEVEL_JITTER_DB / 20))
        stretches.append((length, length + len(speech) / SAMPLE_RATE))
        length += len(speech) / SAMPLE_RATE
    return np.concatenate(parts).astype(np.float32), stretches


def make_mixture(data_dir: Path, speakers: Sequence[str], seconds: float, seed: int,
                 emotions: Mapping[str, str] | None = None) -> Mixture:  # fmt: skip
    """About ``seconds`` of conversation among ``speakers`` (names from :func:`speaker_clips`): turns pass to another
    speaker each time (the same one, for a single speaker), after a pause or with a little overlap. With
    ``emotions``, each speaker speaks only their clips labelled with their emotion there."""
    rng = np.random.default_rng(seed)
    clips = speaker_clips(data_dir) if emotions is None else {name: emotion_clips(data_dir)[name, emotions[name]]
                                                              for name in speakers}  # fmt: skip
    levels = {name: 10 ** (rng.uniform(*SPEAKER_LEVEL_DB) / 20) for name in speakers}
    placed: list[tuple[int, np.ndarray]] = []
    segments: list[Segment] = []
    cursor, speaker = 0.0, None
    while cursor < seconds:
        others = [name for name in speakers if name != speaker] or list(speakers)
        speaker = others[rng.integers(len(others))]
        samples, stretches = _turn(clips[speaker], levels[speaker], rng)
        overlap = len(speakers) > 1 and segments and rng.random() < OVERLAP_CHANCE
        start = cursor - rng.uniform(*OVERLAP_SECONDS) if overlap else cursor + rng.uniform(*PAUSE_SECONDS)
        start = max(start, 0.0)
        offset = int(round(start * SAMPLE_RATE))
        placed.append((offset, samples))
        segments += [Segment(offset / SAMPLE_RATE + a, offset / SAMPLE_RATE + b, speaker) for a, b in stretches]
        cursor = max(cursor, (offset + len(samples)) / SAMPLE_RATE)
    signal = rng.normal(0, 10 ** (NOISE_DB / 20), int(cursor * SAMPLE_RATE) + SAMPLE_RATE // 2).astype(np.float32)
    for offset, samples in placed:
        signal[offset : offset + len(samples)] += samples
    return Mixture(np.clip(signal, -1, 1), sorted(segments, key=lambda s: s.start), list(speakers))


def benchmark_mixtures(data_dir: Path, part: str, files: int) -> Iterator[Mixture]:
    """``files`` mixtures of each of 1-4 speakers of the ``part``, always the same ones: what the split test is
    fitted on (``tuning``) and what the benchmark scores (``held_out``)."""
    for i in range(files):
        for count, seconds in MIXTURE_SECONDS.items():
            seed = SEED_BASE[part] + 10 * i + count
            speakers = pick_speakers(data_dir, part, count, np.random.default_rng(seed))
            yield make_mixture(data_dir, speakers, seconds, seed)


def diarization_error(segments: Sequence[Segment], turns: Sequence, collar: float = 0.25) -> float:
    """DER of ``turns`` (objects with ``start``, ``end``, ``speaker_id``) against the ``segments`` of a mixture:
    missed speech, false alarm and confusion over the speech, ``collar`` seconds around each reference boundary
    not scored, overlapping speech scored (pyannote.metrics, the field's reference implementation)."""
    from pyannote.core import Annotation
    from pyannote.core import Segment as Span
    from pyannote.metrics.diarization import DiarizationErrorRate

    reference, hypothesis = Annotation(), Annotation()
    for i, segment in enumerate(segments):
        reference[Span(segment.start, segment.end), i] = segment.speaker
    for i, turn in enumerate(turns):
        hypothesis[Span(turn.start, turn.end), i] = turn.speaker_id
    end = max([s.end for s in segments] + [t.end for t in turns] + [0.0])
    uem = Span(0.0, end)
    return float(DiarizationErrorRate(collar=collar, skip_overlap=False)(reference, hypothesis, uem=uem))
