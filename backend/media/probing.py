"""What a file is: kind, streams, codecs, size, rate and rotation, as the result's ``input`` section tells it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from .images import open_image
from .opening import codec_name


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


def probe_image(path: Path) -> MediaInfo | None:
    """The description of a still image; None when the file is not one."""
    with open_image(path) as image:
        if image is None:
            return None
        width, height = image.size
        if image.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientations that turn the picture sideways
            width, height = height, width
        return MediaInfo(path=str(path), kind="image", format_name=image.format.lower(), duration=0.0,
                         has_video=False, has_audio=False, width=width, height=height, fps=None, rotation=0,
                         video_codec=None, audio_codec=None, audio_sample_rate=None, audio_channels=None)  # fmt: skip


def describe(path: Path, container: av.container.InputContainer, video: av.VideoStream | None,
             audio: av.AudioStream | None, first: av.frame.Frame) -> MediaInfo:  # fmt: skip
    """The description of an opened container, from its streams and the first decoded frame of its main stream
    (libav exposes the rotation only on decoded frames)."""
    width = height = frame_rate = None
    turn = 0
    if video is not None:
        turn = rotation(first)
        width, height = (first.height, first.width) if turn in (90, 270) else (first.width, first.height)
        frame_rate = fps(video)
    return MediaInfo(
        path=str(path), kind="video" if video is not None else "audio", format_name=container.format.name,
        duration=_duration(container), has_video=video is not None, has_audio=audio is not None,
        width=width, height=height, fps=frame_rate, rotation=turn,
        video_codec=codec_name(video), audio_codec=codec_name(audio),
        audio_sample_rate=audio.codec_context.sample_rate if audio is not None else None,
        audio_channels=audio.codec_context.channels if audio is not None else None,
    )  # fmt: skip


def _duration(container: av.container.InputContainer) -> float:
    """Container duration when declared (it covers all streams), else the longest stream's."""
    if container.duration is not None:
        return max(0.0, container.duration / av.time_base)
    durations = [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
    return max(durations, default=0.0)


def fps(stream: av.VideoStream) -> float | None:
    rate: Fraction | None = stream.average_rate or stream.guessed_rate
    return float(rate) if rate else None


def rotation(frame: av.VideoFrame) -> int:
    """The display matrix's rotation as 0/90/180/270 counter-clockwise. PyAV 18 exposes the matrix only on decoded
    frames (``VideoFrame.rotation``, counter-clockwise degrees in [-180, 180]); streams have no getter."""
    return round(frame.rotation / 90) * 90 % 360
