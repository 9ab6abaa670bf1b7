"""A media file opened for an analysis: described once, its pictures read on from the frame the probe decoded,
its sound from one more open. :class:`MediaSource` is what the pipeline reads; the functions below it are the
same reads for one purpose each (a probe, a file's frames, a file's audio)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from backend.errors import MediaError

from .audio import AudioChunk, audio_chunks
from .frames import Frame, Keep, check_sampling, frame_filter, sampled
from .images import load_image
from .opening import Decoder, check_decoders, check_video_size, checked_path, open_av, streams
from .probing import MediaInfo, describe, probe_image


class MediaSource:
    """One file, opened once for its pictures and once for its sound.

    Opening probes it (:attr:`info`): the container is opened and the first frame of its main stream decoded,
    because that is where libav exposes the rotation, and because a file that can't give one frame is reported
    here rather than halfway through an analysis. :meth:`frames` goes on decoding that same container from that
    first frame; :meth:`sound` opens the file a second time for a video, and for an audio file goes on with the
    probe's own container. Each stream is read once. A still image is opened with Pillow and is its one frame.

    With ``carry_sound``, the packets of a video's sound are read in the pass of its pictures and kept, undecoded,
    for :meth:`take_sound_packets` (the annotated video copies them: one open for pictures and sound); the container
    then stays open until the source is closed, so that the last packets can still be decoded."""

    def __init__(self, path: str | Path, carry_sound: bool = False):
        self.path = checked_path(path)
        self._container: av.container.InputContainer | None = None
        self._main: tuple[av.stream.Stream, Iterator[av.frame.Frame]] | None = None  # stream, decoded frames
        self._decoder: Decoder | None = None
        self._carry_sound = carry_sound
        self.sound_stream: av.AudioStream | None = None
        self.video_start = 0.0  # where the video stream starts in the container's time (s): the 0.0 of Frame.t
        image = probe_image(self.path)
        if image is not None:
            self.info = image
            return
        self._container = open_av(self.path)
        try:
            self.info = self._probe(self._container)
        except BaseException:
            self.close()
            raise

    def _probe(self, container: av.container.InputContainer) -> MediaInfo:
        video, audio = streams(self.path, container)
        check_decoders(self.path, video, audio)
        if video is not None:
            check_video_size(self.path, video)
            video.thread_type = "AUTO"  # before the first decode: a codec's threading is set when it opens
            if video.start_time is not None:
                self.video_start = float(video.start_time * video.time_base)
        main = video if video is not None else audio
        self.sound_stream = audio
        carried = audio if self._carry_sound and video is not None else None
        self._decoder = Decoder(self.path, container, main, carried)
        decoded = self._decoder.frames()
        first = next(decoded)
        self._main = main, itertools.chain([first], decoded)
        return describe(self.path, container, video, audio, first)

    def frames(self, sample_fps: float | None = 5.0, frame_step: int | None = None,
               max_frames: int | None = None) -> Iterator[Frame]:  # fmt: skip
        """Upright RGB frames, sampled by media time (``sample_fps``) or by decoded-frame count (``frame_step``;
        the original project's "every 2nd frame" is ``sample_fps=None, frame_step=2``); with neither, every frame.
        Only kept frames are converted to RGB, which is where most of the cost would go. A still image yields
        itself once, at t=0. The picture container is closed when the frames end (with ``carry_sound``, when the
        source is closed)."""
        check_sampling(sample_fps, frame_step, max_frames)
        return self._frames(frame_filter(sample_fps, frame_step), max_frames)

    def _frames(self, keep: Keep, max_frames: int | None) -> Iterator[Frame]:
        if self.info.kind == "image":
            yield Frame(index=0, t=0.0, image=load_image(self.path))
            return
        if not self.info.has_video:
            raise MediaError(f"{self.path.name} has no video stream", code="no_video_stream")
        stream, decoded = self._take_main()
        try:
            yield from sampled(decoded, stream, keep, max_frames)
        finally:
            if not self._carry_sound:
                self.close()

    def take_sound_packets(self) -> list[av.Packet]:
        """The sound's packets read since the last call (with ``carry_sound``), in the file's order."""
        if self._decoder is None:
            return []
        packets, self._decoder.carried_packets = self._decoder.carried_packets, []
        return packets

    def sound(self, sample_rate: int = 16000, chunk_seconds: float = 1.0) -> Iterator[AudioChunk]:
        """The first audio stream as mono float32 chunks of ``chunk_seconds`` at ``sample_rate``, whatever the
        input's channel count and rate."""
        if sample_rate <= 0 or chunk_seconds <= 0:
            raise ValueError(f"sample_rate and chunk_seconds must be positive, got {sample_rate}, {chunk_seconds}")
        return self._sound(sample_rate, max(1, round(chunk_seconds * sample_rate)))

    def _sound(self, sample_rate: int, chunk_size: int) -> Iterator[AudioChunk]:
        if not self.info.has_audio:
            raise MediaError(f"{self.path.name} has no audio stream", code="no_audio_stream")
        if self.info.has_video:  # the probe's container is the pictures': the sound is read from its own
            with open_av(self.path) as container:
                _, stream = streams(self.path, container)
                yield from audio_chunks(Decoder(self.path, container, stream).frames(), sample_rate, chunk_size)
            return
        _, decoded = self._take_main()
        try:
            yield from audio_chunks(decoded, sample_rate, chunk_size)
        finally:
            self.close()

    def _take_main(self) -> tuple[av.stream.Stream, Iterator[av.frame.Frame]]:
        if self._main is None or self._container is None:
            raise RuntimeError(f"{self.path.name}: the stream the probe opened is read once")
        main, self._main = self._main, None
        return main

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> MediaSource:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None):
        self.close()


def probe(path: str | Path) -> MediaInfo:
    """Describe a file (see :class:`MediaSource`)."""
    with MediaSource(path) as source:
        return source.info


def iter_frames(path: str | Path, sample_fps: float | None = 5.0, frame_step: int | None = None,
                max_frames: int | None = None) -> Iterator[Frame]:  # fmt: skip
    """A file's frames (see :meth:`MediaSource.frames`). Arguments and the file's existence are checked at once;
    stream errors are raised on first iteration."""
    check_sampling(sample_fps, frame_step, max_frames)
    path = checked_path(path)

    def frames() -> Iterator[Frame]:
        with MediaSource(path) as source:
            yield from source.frames(sample_fps, frame_step, max_frames)

    return frames()


def iter_audio(path: str | Path, sample_rate: int = 16000, chunk_seconds: float = 1.0) -> Iterator[AudioChunk]:
    """A file's audio (see :meth:`MediaSource.sound`). Stream errors are raised on first iteration."""
    if sample_rate <= 0 or chunk_seconds <= 0:
        raise ValueError(f"sample_rate and chunk_seconds must be positive, got {sample_rate}, {chunk_seconds}")
    path = checked_path(path)

    def chunks() -> Iterator[AudioChunk]:
        with MediaSource(path) as source:
            yield from source.sound(sample_rate, chunk_seconds)

    return chunks()


def read_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track as one mono float32 array: for short files and tests (long files: iter_audio)."""
    chunks = [chunk.samples for chunk in iter_audio(path, sample_rate, chunk_seconds=10.0)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)
