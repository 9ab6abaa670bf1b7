"""Probe and streaming decode of media files with PyAV (libav* in-process, no ffmpeg subprocess).

Everything the analysis reads from a file goes through here, so that

- memory stays flat as files grow: frames and audio are generators that hold one packet's worth of data (plus one
  audio chunk), never the whole file;
- time is media time: frames carry their presentation time (from pts, so variable-frame-rate video works) and are
  sampled by time, not by index;
- what the user sees is upright: the display matrix of phone videos and the EXIF orientation of photos are applied;
- every bad input ends as a :class:`~backend.errors.MediaError` with a stable code; no ``av`` or PIL exception
  escapes.

The kind of a file is decided by its content, never by its extension.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.error
import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import get_settings
from .errors import MediaError

log = logging.getLogger(__name__)

# Still-image formats opened with Pillow. A closed list, because Pillow's lenient plugins (TGA, MPEG) would
# otherwise claim garbage or video files as images.
IMAGE_FORMATS = ("PNG", "JPEG", "BMP", "WEBP", "GIF", "TIFF")  # JPEG covers MPO (multi-picture JPEG)

# Demuxers and decoders on an allowlist: the containers and codecs the README lists and their usual relatives.
# libav itself reads far more than media users send — ANSI art and tty text, image sequences, playlists and
# concat lists that open other files or URLs, raw dumps it guesses by the file name (bintext) — and each parser is
# attack surface. A file only another demuxer reads, or whose stream needs another decoder, is not_media; and
# only local files may be opened (no network protocol, whatever a container names).
DEMUXERS = ("mov", "mp4", "matroska", "webm", "avi", "flv", "mpeg", "mpegts", "asf", "ogg", "wav", "w64", "mp3",
            "flac", "aac", "aiff", "caf", "amr", "h264", "hevc", "m4v")  # fmt: skip  # the last 3: raw streams
DECODERS = ("h264", "hevc", "vp8", "vp9", "libvpx", "libvpx-vp9", "av1", "libdav1d", "libaom-av1", "mpeg4",
            "mpeg1video", "mpeg2video", "mjpeg", "vp6", "vp6f", "vp6a", "flv", "h263", "theora", "wmv1", "wmv2",
            "wmv3", "vc1", "msmpeg4", "msmpeg4v1", "msmpeg4v2", "msmpeg4v3", "png", "rawvideo", "ffv1", "prores",
            "dnxhd", "aac", "aac_fixed", "aac_latm", "mp1", "mp1float", "mp2", "mp2float", "mp3", "mp3float",
            "opus", "libopus", "vorbis", "libvorbis", "flac", "alac", "ac3", "ac3_fixed", "eac3", "wmav1", "wmav2",
            "wmapro", "amrnb", "amrwb", "libopencore_amrnb", "libopencore_amrwb", "speex", "gsm_ms")  # fmt: skip
DECODER_FAMILIES = ("pcm_", "adpcm_")  # every PCM and ADPCM variant (WAV, AIFF, CAF)
_OPEN_OPTIONS = {"format_whitelist": ",".join(DEMUXERS), "protocol_whitelist": "file"}

# Leading bytes of containers we decode. Used only after libav refused a file, to tell a damaged media file
# (corrupt_media: e.g. an mp4 cut before its moov atom) from something that never was media (not_media): libav
# reports both as the same "Invalid data" error.
_SIGNATURES_AT_0 = (b"RIFF", b"\x1a\x45\xdf\xa3", b"FLV", b"OggS", b"fLaC", b"ID3")
_MP4_BOXES_AT_4 = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip")

# Sample times are compared with this slack so that float rounding of pts * time_base never drops a frame that
# lies exactly on the sampling grid.
_TIME_EPSILON = 1e-3

# libav's largest max_pixels (an int option).
_INT_MAX = 2**31 - 1

_Keep = Callable[[int, float], bool]  # (decoded-frame index, time) -> keep this frame?
_StreamPair = tuple["av.VideoStream | None", "av.AudioStream | None"]


@dataclass(frozen=True)
class MediaInfo:
    """What a file is, read without decoding more than its first frame."""

    path: str
    kind: str  # "video" (has a real video stream), "audio" (audio only) or "image" (a still opened by Pillow)
    format_name: str  # container/format name as libav or Pillow reports it, e.g. "mov,mp4,m4a,3gp,3g2,mj2", "png"
    duration: float  # seconds; 0.0 for images
    has_video: bool
    has_audio: bool
    width: int | None  # display size (after rotation): the size of Frame.image
    height: int | None
    fps: float | None  # average frame rate of the video stream
    rotation: int  # 0/90/180/270: counter-clockwise turn applied to decoded video frames (images: 0, see load_image)
    video_codec: str | None
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None

    def to_dict(self) -> dict:
        """Plain JSON-ready values, for the result's ``input`` section."""
        return asdict(self)


@dataclass(frozen=True)
class Frame:
    """One kept video frame, upright, with its place in the stream."""

    index: int  # number of the decoded frame in the stream, counting frames skipped by sampling (0-based)
    t: float  # presentation time in seconds relative to the stream's start (0.0 = first frame)
    image: np.ndarray  # H x W x 3 uint8 RGB, upright


@dataclass(frozen=True)
class AudioChunk:
    """A fixed-length piece of the audio track (the last one may be shorter)."""

    t: float  # start time in seconds from the start of the audio stream
    samples: np.ndarray  # 1-D float32 mono in [-1, 1]; NaN and inf (broken decoders) replaced by 0


# ---------------------------------------------------------------------------------------------------------------
# Public API


def probe(path: str | Path) -> MediaInfo:
    """Describe a file. Decodes the first frame of its main stream, because that is where libav exposes the
    rotation, and because a file that can't give one frame is reported here rather than halfway through an
    analysis."""
    path = _checked_path(path)
    image_info = _probe_image(path)
    if image_info is not None:
        return image_info
    with _open_av(path) as container:
        return _probe_container(path, container)


def iter_frames(path: str | Path, sample_fps: float | None = 5.0, frame_step: int | None = None,
                max_frames: int | None = None) -> Iterator[Frame]:  # fmt: skip
    """Yield upright RGB frames, sampled by media time (``sample_fps``) or by decoded-frame count
    (``frame_step``; the original project's "every 2nd frame" is ``sample_fps=None, frame_step=2``); with
    neither, every frame. Only kept frames are converted to RGB, which is where most of the cost would go.

    Arguments and the file's existence are checked at once; stream errors are raised on first iteration.
    A still image yields itself once, at t=0.
    """
    _check_sampling(sample_fps, frame_step, max_frames)
    path = _checked_path(path)
    return _frames(path, _frame_filter(sample_fps, frame_step), max_frames)


def frames_at(path: str | Path, indexes: Iterable[int]) -> dict[int, np.ndarray]:
    """The upright RGB images of the decoded frames numbered ``indexes`` (counted as :attr:`Frame.index` counts
    them, so an analysis's frame numbers find their frames), in one streaming pass that converts only those
    frames and stops after the last. A still image is frame 0."""
    wanted = set(indexes)
    if not wanted:
        return {}
    frames = _frames(_checked_path(path), lambda index, t: index in wanted, max_frames=len(wanted))
    return {frame.index: frame.image for frame in frames}


def iter_audio(path: str | Path, sample_rate: int = 16000, chunk_seconds: float = 1.0) -> Iterator[AudioChunk]:
    """Yield the first audio stream as mono float32 chunks of ``chunk_seconds`` at ``sample_rate``, whatever the
    input's channel count and rate. Stream errors are raised on first iteration."""
    if sample_rate <= 0 or chunk_seconds <= 0:
        raise ValueError(f"sample_rate and chunk_seconds must be positive, got {sample_rate}, {chunk_seconds}")
    path = _checked_path(path)
    return _audio_chunks(path, sample_rate, max(1, round(chunk_seconds * sample_rate)))


def read_audio(path: str | Path, sample_rate: int = 16000) -> np.ndarray:
    """The whole audio track as one mono float32 array: for short files and tests (long files: iter_audio)."""
    chunks = [chunk.samples for chunk in iter_audio(path, sample_rate, chunk_seconds=10.0)]
    return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


def load_image(path: str | Path) -> np.ndarray:
    """A still image as upright RGB uint8 (H x W x 3): EXIF orientation applied (phones store photos sideways),
    transparency composited on white (what a viewer shows), grayscale and 16-bit expanded to 8-bit RGB."""
    path = _checked_path(path)
    with _open_image(path) as image:
        if image is None:
            raise MediaError(f"{path.name} is not an image that can be read", code="not_media")
        try:
            return _to_rgb(ImageOps.exif_transpose(image))
        except (OSError, ValueError, SyntaxError) as exc:  # Pillow's ways of saying the pixel data is broken
            raise MediaError(f"{path.name} is a damaged image ({exc})", code="corrupt_media") from None


def open_container(path: str | Path) -> av.container.InputContainer:
    """The file opened with libav with the pixel cap on its decoders, for modules that read it again after
    :func:`probe` accepted it (the annotated video copies its audio): opening decodes a first frame of every
    stream, and only the main video stream's size was checked by the probe."""
    return _open_av(_checked_path(path))


# ---------------------------------------------------------------------------------------------------------------
# Files and opening


def _checked_path(path: str | Path) -> Path:
    """The path as a readable, non-empty regular file, so later errors can only be about the content."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise MediaError(f"{path.name or str(path)} {what}", code="file_not_found")
    try:
        size = path.stat().st_size
        with path.open("rb"):
            pass
    except OSError as exc:
        raise MediaError(f"{path.name} cannot be read ({exc.strerror})", code="file_not_found") from None
    if size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes)", code="empty_file")
    return path


def _open_av(path: Path, options: dict[str, str] | None = None) -> av.container.InputContainer:
    """Open with libav, turning its refusal into not_media or corrupt_media (see _SIGNATURES_AT_0).

    Opening decodes a first frame of streams whose header leaves the pixel format open (PNG or MJPEG in AVI,
    MKV...), so the decoders get the pixel cap (``max_pixels``) from the start: without it a 6 KB AVI declaring
    16000x16000 16-bit RGBA frames makes libav allocate 2 GB before any check of ours can run. A decoder that
    refuses a frame size leaves the stream's size at 0x0; :func:`_check_video_size` then reads the declared one."""
    try:
        return av.open(str(path), mode="r", options=_OPEN_OPTIONS | (options or _decoder_cap()))
    except av.error.FFmpegError as exc:
        if _looks_like_media(path):
            raise MediaError(f"{path.name} is a damaged media file that can't be opened ({exc.strerror})",
                             code="corrupt_media") from None  # fmt: skip
        raise MediaError(f"{path.name} is not a video, audio or image file", code="not_media") from None


def _looks_like_media(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(12)
    return head.startswith(_SIGNATURES_AT_0) or head[4:8] in _MP4_BOXES_AT_4


def _streams(path: Path, container: av.container.InputContainer) -> _StreamPair:
    """The first real video stream and the first audio stream. A file with neither (e.g. subtitles that libav
    reads) is not media, whichever stream the caller wanted. Cover art in mp3/m4a files is a one-picture "video"
    stream, not video."""
    videos = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    audios = list(container.streams.audio)
    if not videos and not audios:
        raise MediaError(f"{path.name} has no audio or video stream", code="not_media")
    return (videos[0] if videos else None), (audios[0] if audios else None)


def _decoder_cap() -> dict[str, str]:
    return {"max_pixels": str(min(get_settings().max_pixels, _INT_MAX))}


def _check_video_size(path: Path, stream: av.VideoStream) -> None:
    """Refuse a video whose declared frame size is above the cap, and keep its decoder under the cap (a frame may
    declare a size of its own). A size of 0x0 after opening means libav did not learn it, often because the cap
    stopped its decoder: then the size the container's header declares is read by opening the file again with
    every decoder disabled (``codec_whitelist``), so nothing is decoded."""
    width, height = stream.codec_context.width, stream.codec_context.height
    if not width or not height:
        with _open_av(path, {"codec_whitelist": "none"}) as undecoded:
            declared = undecoded.streams[stream.index]
            width, height = declared.codec_context.width, declared.codec_context.height
    _check_pixels(path, width, height)
    stream.codec_context.options = {**(stream.codec_context.options or {}), **_decoder_cap()}


def _check_pixels(path: Path, width: int, height: int) -> None:
    """Refuse a declared size above the cap before anything is decoded (defence against decompression bombs)."""
    limit = get_settings().max_pixels
    if width * height > limit:
        raise MediaError(f"{path.name} is {width}x{height} pixels, more than the limit of {limit}",
                         code="too_large")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# Decoding with error tolerance


class _Decoder:
    """Decodes one stream, skipping packets the codec rejects (a damaged stretch in the middle of a file should
    cost those frames, not the file), and remembers enough to explain a stream that gave nothing."""

    def __init__(self, path: Path, container: av.container.InputContainer, stream: av.stream.Stream):
        self.path = path
        self.container = container
        self.stream = stream
        self.packets = 0
        self.skipped = 0
        self.decoded = 0

    def frames(self) -> Iterator[av.frame.Frame]:
        try:
            for packet in self.container.demux(self.stream):
                if packet.size:  # demux ends with empty flush packets, which are not data
                    self.packets += 1
                yield from self._decode(packet)
        except av.error.FFmpegError as exc:  # the demuxer itself gave up: keep what was decoded
            log.debug("%s: demuxing stopped early: %s", self.path.name, exc)
        if self.skipped:
            log.debug("%s: skipped %d undecodable packets", self.path.name, self.skipped)
        if not self.decoded:
            raise self._nothing_decoded()

    def _decode(self, packet: av.Packet) -> list[av.frame.Frame]:
        try:
            frames = packet.decode()
        except av.error.FFmpegError:
            self.skipped += 1
            return []
        self.decoded += len(frames)
        return frames

    def _nothing_decoded(self) -> MediaError:
        if self.packets == 0:
            return MediaError(f"{self.path.name} contains no {self.stream.type} data to decode (zero duration)",
                              code="zero_duration")  # fmt: skip
        return MediaError(f"{self.path.name} is damaged: none of its {self.stream.type} could be decoded",
                          code="corrupt_media")  # fmt: skip


def _first_frame(path: Path, container: av.container.InputContainer, stream: av.stream.Stream) -> av.frame.Frame:
    frames = _Decoder(path, container, stream).frames()
    try:
        return next(frames)
    finally:
        frames.close()


# ---------------------------------------------------------------------------------------------------------------
# Probe


def _probe_image(path: Path) -> MediaInfo | None:
    with _open_image(path) as image:
        if image is None:
            return None
        width, height = image.size
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientations that turn the picture sideways
            width, height = height, width
        return MediaInfo(path=str(path), kind="image", format_name=image.format.lower(), duration=0.0,
                         has_video=False, has_audio=False, width=width, height=height, fps=None, rotation=0,
                         video_codec=None, audio_codec=None, audio_sample_rate=None, audio_channels=None)  # fmt: skip


def _check_decoders(path: Path, *streams: av.stream.Stream | None) -> None:
    for stream in streams:
        name = stream.codec_context.codec.name if stream is not None else None
        if name is not None and name not in DECODERS and not name.startswith(DECODER_FAMILIES):
            raise MediaError(f"{path.name}: its {stream.type} is {_codec_name(stream)}, a codec EmoClassify does "
                             "not decode", code="not_media")  # fmt: skip


def _probe_container(path: Path, container: av.container.InputContainer) -> MediaInfo:
    video, audio = _streams(path, container)
    _check_decoders(path, video, audio)
    width = height = fps = None
    rotation = 0
    if video is not None:
        _check_video_size(path, video)
        first = _first_frame(path, container, video)
        rotation = _rotation(first)
        width, height = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        fps = _fps(video)
    else:
        _first_frame(path, container, audio)
    return MediaInfo(
        path=str(path), kind="video" if video is not None else "audio", format_name=container.format.name,
        duration=_duration(container), has_video=video is not None, has_audio=audio is not None,
        width=width, height=height, fps=fps, rotation=rotation,
        video_codec=_codec_name(video), audio_codec=_codec_name(audio),
        audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
        audio_channels=audio.codec_context.channels if audio is not None else None,
    )  # fmt: skip


def _codec_name(stream: av.stream.Stream | None) -> str | None:
    """The codec's canonical name ("mp3"), not the decoder's ("mp3float"): it names the file's content."""
    return stream.codec_context.codec.canonical_name if stream is not None else None


def _duration(container: av.container.InputContainer) -> float:
    """Container duration when declared (it covers all streams), else the longest stream's."""
    if container.duration is not None:
        return max(0.0, container.duration / av.time_base)
    durations = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    return max(durations, default=0.0)


def _fps(stream: av.VideoStream) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def _rotation(frame: av.VideoFrame) -> int:
    """The display matrix's rotation as 0/90/180/270 counter-clockwise. PyAV 18 exposes the matrix only on decoded
    frames (``VideoFrame.rotation``, counter-clockwise degrees in [-180, 180]); streams have no getter."""
    return round(frame.rotation / 90) * 90 % 360


# ---------------------------------------------------------------------------------------------------------------
# Frames


def _check_sampling(sample_fps: float | None, frame_step: int | None, max_frames: int | None) -> None:
    if sample_fps is not None and frame_step is not None:
        raise ValueError("give either sample_fps or frame_step, not both")
    if sample_fps is not None and sample_fps <= 0:
        raise ValueError(f"sample_fps must be positive, got {sample_fps}")
    if frame_step is not None and frame_step < 1:
        raise ValueError(f"frame_step must be at least 1, got {frame_step}")
    if max_frames is not None and max_frames < 1:
        raise ValueError(f"max_frames must be at least 1, got {max_frames}")


class _TimeSampler:
    """Keeps the first frame, then the first frame at or after each point of a grid 1/fps apart. The grid is
    anchored at the first frame and jumps over gaps, so a long gap yields one frame, not a burst."""

    def __init__(self, fps: float):
        self.step = 1.0 / fps
        self.start: float | None = None
        self.next_slot = 0

    def keep(self, t: float) -> bool:
        if self.start is None:
            self.start = t
        elif t < self.start + self.next_slot * self.step - _TIME_EPSILON:
            return False
        self.next_slot = int((t - self.start + _TIME_EPSILON) / self.step) + 1
        return True


def _frame_filter(sample_fps: float | None, frame_step: int | None) -> _Keep:
    """A predicate (index, t) -> keep?, for the sampling asked for. There is deliberately no shortcut for
    sample_fps >= the stream's fps: the time grid already keeps every frame of a constant-rate stream then, and
    for variable-frame-rate video the average rate says nothing about bursts of closely spaced frames."""
    if frame_step is not None:
        return lambda index, t: index % frame_step == 0
    if sample_fps is None:
        return lambda index, t: True
    sampler = _TimeSampler(sample_fps)
    return lambda index, t: sampler.keep(t)


def _frames(path: Path, keep: _Keep, max_frames: int | None) -> Iterator[Frame]:
    if _probe_image(path) is not None:
        yield Frame(index=0, t=0.0, image=load_image(path))
        return
    with _open_av(path) as container:
        stream, _ = _streams(path, container)
        if stream is None:
            raise MediaError(f"{path.name} has no video stream", code="no_video_stream")
        _check_video_size(path, stream)
        stream.thread_type = "AUTO"
        yield from _sampled(path, container, stream, keep, max_frames)


def _sampled(path: Path, container: av.container.InputContainer, stream: av.VideoStream, keep: _Keep,
             max_frames: int | None) -> Iterator[Frame]:  # fmt: skip
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
    period = 1.0 / (_fps(stream) or 25.0)  # for frames without a timestamp (raw .h264 streams have none)
    t = -period
    kept = 0
    decoded = _Decoder(path, container, stream).frames()
    try:
        for index, frame in enumerate(decoded):
            if frame.time is None:
                t += period
            else:
                origin = frame.time if origin is None else origin
                t = max(0.0, frame.time - origin)
            if not keep(index, t):
                continue
            yield Frame(index=index, t=t, image=_upright_rgb(frame))
            kept += 1
            if kept == max_frames:
                return
    finally:
        decoded.close()


# What OpenCV's I420 conversion implements: BT.601 matrix, limited range. FFmpeg's swscale assumes the same for
# untagged frames, so those get the same colours either way; other tags (BT.709, full-range "yuvj") go to swscale.
_BT601_COLORSPACES = {2, 5, 6}  # AVCOL_SPC_UNSPECIFIED, AVCOL_SPC_BT470BG, AVCOL_SPC_SMPTE170M
_LIMITED_RANGES = {0, 1}  # AVCOL_RANGE_UNSPECIFIED, AVCOL_RANGE_MPEG


def _rgb(frame: av.VideoFrame) -> np.ndarray:
    """The frame as RGB. Most video is 8-bit 4:2:0 with BT.601 colours or no colour tags: OpenCV converts it
    about twice as fast as swscale (SIMD on two threads; 0.2 against 0.5 ms a 720p frame here, which made a 720p
    face analysis 8 % faster), within 3 levels of swscale's rounding."""
    if (frame.format.name == "yuv420p" and frame.width % 2 == 0 and frame.height % 2 == 0
            and frame.colorspace in _BT601_COLORSPACES and frame.color_range in _LIMITED_RANGES):  # fmt: skip
        return cv2.cvtColor(frame.to_ndarray(), cv2.COLOR_YUV2RGB_I420)
    return frame.to_ndarray(format="rgb24")


def _upright_rgb(frame: av.VideoFrame) -> np.ndarray:
    image = _rgb(frame)
    turns = _rotation(frame) // 90
    # np.rot90 turns counter-clockwise, as the display matrix does; copy so callers get a contiguous array.
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image


# ---------------------------------------------------------------------------------------------------------------
# Audio


def _audio_chunks(path: Path, sample_rate: int, chunk_size: int) -> Iterator[AudioChunk]:
    with _open_av(path) as container:
        _, stream = _streams(path, container)
        if stream is None:
            raise MediaError(f"{path.name} has no audio stream", code="no_audio_stream")
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        buffer = _ChunkBuffer(chunk_size)
        decoded = _Decoder(path, container, stream).frames()
        try:
            for frame in decoded:
                for samples in _resampled(resampler, frame):
                    yield from buffer.push(samples, sample_rate)
            for samples in _resampled(resampler, None):  # flush: the resampler holds back a few samples
                yield from buffer.push(samples, sample_rate)
            yield from buffer.rest(sample_rate)
        finally:
            decoded.close()


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


# ---------------------------------------------------------------------------------------------------------------
# Images


@contextmanager
def _open_image(path: Path) -> Iterator[Image.Image | None]:
    """A lazily opened Pillow image, or None when the content is not a still image we read. Sets Pillow's
    decompression-bomb cap from the settings first, and refuses a declared size above it before decoding."""
    limit = get_settings().max_pixels
    Image.MAX_IMAGE_PIXELS = limit
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise MediaError(f"{path.name} is larger than the limit of {limit} pixels", code="too_large") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        image = None
    if image is None:
        yield None
        return
    with image:
        _check_pixels(path, *image.size)
        yield image


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grayscale: Pillow's RGB conversion would clip it
        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).clip(0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)
