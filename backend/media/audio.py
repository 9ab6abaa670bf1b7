"""Sound: the decoded frames of an audio stream as mono float32 chunks of a fixed length at one sample rate."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import av
import av.error
import numpy as np

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AudioChunk:
    """A fixed-length piece of the audio track (the last one may be shorter)."""

    t: float  # start time in seconds from the start of the audio stream
    samples: np.ndarray  # 1-D float32 mono in [-1, 1]; NaN and inf (broken decoders) replaced by 0


def audio_chunks(decoded: Iterator[av.AudioFrame], sample_rate: int, chunk_size: int) -> Iterator[AudioChunk]:
    """The decoded frames resampled to mono ``sample_rate`` and cut into chunks of ``chunk_size`` samples."""
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
    buffer = _ChunkBuffer(chunk_size)
    for frame in decoded:
        for samples in _resampled(resampler, frame):
            yield from buffer.push(samples, sample_rate)
    for samples in _resampled(resampler, None):  # flush: the resampler holds back a few samples
        yield from buffer.push(samples, sample_rate)
    yield from buffer.rest(sample_rate)


def _resampled(resampler: av.AudioResampler, frame: av.AudioFrame | None) -> Iterator[np.ndarray]:
    try:
        outputs = resampler.resample(frame)
    except av.error.FFmpegError as exc:  # e.g. a frame whose layout changed mid-stream: drop it, keep going
        log.debug("resampling failed, frame dropped: %s", exc)
        return
    for output in outputs:
        samples = output.to_ndarray().reshape(-1)  # a fresh float32 array, so it is cleaned in place
        np.nan_to_num(samples, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        yield np.clip(samples, -1.0, 1.0, out=samples)


class _ChunkBuffer:
    """Cuts a stream of sample arrays into fixed-size chunks, holding less than one chunk between calls."""

    def __init__(self, size: int):
        self.size = size
        self.parts: list[np.ndarray] = []
        self.count = 0
        self.emitted = 0

    def push(self, samples: np.ndarray, sample_rate: int) -> Iterator[AudioChunk]:
        self.parts.append(samples)
        self.count += len(samples)
        if self.count < self.size:
            return
        joined = np.concatenate(self.parts)
        full = len(joined) // self.size * self.size
        for start in range(0, full, self.size):
            yield self._chunk(joined[start : start + self.size], sample_rate)
        self.parts, self.count = [joined[full:]], len(joined) - full

    def rest(self, sample_rate: int) -> Iterator[AudioChunk]:
        if self.count:
            yield self._chunk(np.concatenate(self.parts), sample_rate)
            self.parts, self.count = [], 0

    def _chunk(self, samples: np.ndarray, sample_rate: int) -> AudioChunk:
        t = self.emitted / sample_rate
        self.emitted += len(samples)
        return AudioChunk(t=t, samples=samples)
