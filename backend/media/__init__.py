"""Probe and streaming decode of media files with PyAV (libav* in-process, no ffmpeg subprocess).

Everything the analysis reads from a file goes through here, so that

- a file is decoded once per analysis: one open for the probe and the pictures, one for the sound
  (:class:`MediaSource`);
- memory stays flat as files grow: frames and audio are generators that hold one packet's worth of data (plus one
  audio chunk), never the whole file;
- time is media time: frames carry their presentation time (from pts, so variable-frame-rate video works) and are
  sampled by time, not by index;
- what the user sees is upright: the display matrix of phone videos and the EXIF orientation of photos are applied;
- every bad input ends as a :class:`~backend.errors.MediaError` with a stable code; no ``av`` or PIL exception
  escapes.

The kind of a file is decided by its content, never by its extension. Modules: ``opening`` (allowlists, the pixel
cap, tolerant decoding), ``probing`` (:class:`MediaInfo`), ``frames``, ``audio``, ``images``, ``source``.
"""

from .audio import AudioChunk
from .frames import Frame
from .images import load_image
from .probing import MediaInfo
from .source import MediaSource, iter_audio, iter_frames, probe, read_audio

__all__ = ["AudioChunk", "Frame", "MediaInfo", "MediaSource", "iter_audio", "iter_frames", "load_image", "probe",
           "read_audio"]  # fmt: skip
