"""Video frames: sampled by media time (or by count), upright, RGB; only kept frames are converted."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import av
import cv2
import numpy as np

from .probing import fps, rotation

# Sample times are compared with this slack so that float rounding of pts * time_base never drops a frame that
# lies exactly on the sampling grid.
_TIME_EPSILON = 1e-3

Keep = Callable[[int, float], bool]  # (decoded-frame index, time) -> keep this frame?


@dataclass(frozen=True)
class Frame:
    """One kept video frame, upright, with its place in the stream."""

    index: int  # number of the decoded frame in the stream, counting frames skipped by sampling (0-based)
    t: float  # presentation time in seconds relative to the stream's start (0.0 = first frame)
    image: np.ndarray  # H x W x 3 uint8 RGB, upright


def check_sampling(sample_fps: float | None, frame_step: int | None, max_frames: int | None) -> None:
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


def frame_filter(sample_fps: float | None, frame_step: int | None) -> Keep:
    """A predicate (index, t) -> keep?, for the sampling asked for. There is deliberately no shortcut for
    sample_fps >= the stream's fps: the time grid already keeps every frame of a constant-rate stream then, and
    for variable-frame-rate video the average rate says nothing about bursts of closely spaced frames."""
    if frame_step is not None:
        return lambda index, t: index % frame_step == 0
    if sample_fps is None:
        return lambda index, t: True
    sampler = _TimeSampler(sample_fps)
    return lambda index, t: sampler.keep(t)


def sampled(decoded: Iterator[av.VideoFrame], stream: av.VideoStream, keep: Keep,
            max_frames: int | None) -> Iterator[Frame]:  # fmt: skip
    """The kept frames of a stream's decoded frames, timed from the stream's start."""
    origin = float(stream.start_time * stream.time_base) if stream.start_time is not None else None
    period = 1.0 / (fps(stream) or 25.0)  # for frames without a timestamp (raw .h264 streams have none)
    t = -period
    kept = 0
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
    turns = rotation(frame) // 90
    # np.rot90 turns counter-clockwise, as the display matrix does; copy so callers get a contiguous array.
    return np.ascontiguousarray(np.rot90(image, turns)) if turns else image
