"""Real media files for tests, made on the fly: the ffmpeg binary of imageio-ffmpeg for containers and codecs,
PyAV for frames we control (exact timestamps, a photo). Files are small and short so tests stay fast on a busy
machine, and deterministic (synthetic sources, seeded noise) so a failure reproduces.

Every function writes into ``directory`` and returns the path of the file it made.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import imageio_ffmpeg
import numpy as np
from PIL import Image

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()

_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
# Video and audio codec arguments for each container we accept. FLV takes MP3 only at 11025/22050/44100 Hz, hence
# the default audio rate of make_video.
VIDEO_CODECS: dict[str, tuple[list[str], list[str]]] = {
    ".mp4": (_X264, ["-c:a", "aac"]),
    ".mov": (_X264, ["-c:a", "aac"]),
    ".mkv": (_X264, ["-c:a", "aac"]),
    ".webm": (["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8"], ["-c:a", "libopus"]),
    ".avi": (["-c:v", "mpeg4"], ["-c:a", "libmp3lame"]),
    ".flv": (["-c:v", "flv"], ["-c:a", "libmp3lame"]),
    ".h264": (_X264, []),  # a raw H.264 stream: no container, no timestamps, no audio (make it with audio=False)
}
AUDIO_CODECS: dict[str, list[str]] = {
    ".wav": ["-c:a", "pcm_s16le"],
    ".mp3": ["-c:a", "libmp3lame"],
    ".flac": ["-c:a", "flac"],
    ".ogg": ["-c:a", "libvorbis"],
    ".opus": ["-c:a", "libopus"],
    ".m4a": ["-c:a", "aac"],
    ".mp4": ["-c:a", "aac"],
}


VFR_TIMES = (0.0, 0.1, 0.2, 0.5, 1.0, 1.05, 1.1, 1.5)


def run_ffmpeg(*args: str | Path) -> None:
    """Run the ffmpeg binary; on failure raise with its stderr, which says what went wrong. The timeout stops a
    lavfi source left without a duration from filling the disk."""
    command = [FFMPEG, "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"ffmpeg failed ({done.returncode}): {' '.join(command)}\n{done.stderr}")


def make_video(directory: Path, name: str = "clip.mp4", seconds: float = 2.0, size: tuple[int, int] = (160, 120),
               fps: int = 10, audio: bool = True, audio_rate: int = 22050, source: str | None = None,
               extra_args: Sequence[str] = ()) -> Path:  # fmt: skip
    """A test-pattern video (``source``: any lavfi video graph; default ffmpeg's testsrc) with a 440 Hz tone,
    encoded with the usual codecs of the container the name's extension gives. ``extra_args`` are output
    options (e.g. ``["-movflags", "+faststart"]``)."""
    path = Path(directory) / name
    video_args, audio_args = VIDEO_CODECS[path.suffix]
    width, height = size
    source = source or f"testsrc=size={width}x{height}:rate={fps}"
    inputs = ["-f", "lavfi", "-i", source]
    if audio:
        inputs += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={audio_rate}"]
    streams = ["-map", "0:v"] + (["-map", "1:a", *audio_args] if audio else [])
    run_ffmpeg(*inputs, "-t", str(seconds), *streams, *video_args, *extra_args, path)
    return path


def make_audio(directory: Path, name: str = "tone.wav", seconds: float = 1.0, rate: int = 16000, channels: int = 1,
               freq: float = 440.0, extra_args: Sequence[str] = ()) -> Path:  # fmt: skip
    """A sine tone (amplitude 1/8, ffmpeg's default) in every channel, encoded by the name's extension."""
    path = Path(directory) / name
    source = f"sine=frequency={freq}:sample_rate={rate}"  # endless: -t cuts it, also at 0 s (a header only)
    run_ffmpeg("-f", "lavfi", "-i", source, "-t", str(seconds), "-ac", str(channels), *AUDIO_CODECS[path.suffix],
               *extra_args, path)  # fmt: skip
    return path


def with_cover_art(directory: Path, audio: Path, cover: Path, name: str = "with_cover.mp3") -> Path:
    """A copy of an audio file carrying a picture as an attached-picture (cover art) stream, as music files do."""
    path = Path(directory) / name
    run_ffmpeg("-i", audio, "-i", cover, "-map", "0:a", "-map", "1:v", "-c", "copy",
               "-disposition:v", "attached_pic", path)  # fmt: skip
    return path


def make_rotated_video(directory: Path, name: str = "rotated.mp4", rotation: int = 90,
                       size: tuple[int, int] = (160, 120), seconds: float = 1.0, fps: int = 10) -> Path:  # fmt: skip
    """A phone-style video: black frames with a white block in the stored picture's top-left corner, and a display
    matrix telling players to turn it ``rotation`` degrees counter-clockwise (ffmpeg's -display_rotation)."""
    width, height = size
    corner = f"drawbox=x=0:y=0:w={width // 4}:h={height // 4}:c=white:t=fill"
    source = f"color=c=black:size={width}x{height}:rate={fps},{corner}"
    plain = make_video(directory, f"unrotated-{name}", seconds=seconds, size=size, fps=fps, audio=False,
                       source=source)  # fmt: skip
    path = Path(directory) / name
    run_ffmpeg("-display_rotation", str(rotation), "-i", plain, "-c", "copy", path)
    plain.unlink()
    return path


def encode_frames(path: Path, frames: Iterable[tuple[float, np.ndarray]], fps: float = 10.0) -> Path:
    """Encode (time in seconds, RGB uint8 image) pairs into H.264 (yuv420p, so sizes must be even) with PyAV,
    keeping each frame's time exactly (millisecond time base): how variable-frame-rate files are made."""
    time_base = Fraction(1, 1000)
    with av.open(str(path), mode="w") as container:
        stream = None
        for t, image in frames:
            if stream is None:
                stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000),
                                              options={"preset": "ultrafast"})  # fmt: skip
                stream.width, stream.height, stream.pix_fmt = image.shape[1], image.shape[0], "yuv420p"
                stream.time_base = stream.codec_context.time_base = time_base
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), time_base
            container.mux(stream.encode(frame))
        if stream is not None:
            container.mux(stream.encode(None))
    return path


def make_vfr_video(directory: Path, name: str = "vfr.mp4", times: Sequence[float] = VFR_TIMES,
                   size: tuple[int, int] = (160, 120)) -> Path:  # fmt: skip
    """A variable-frame-rate video with one frame at each of ``times`` (seconds; by default bursts at 20 fps and a
    0.4 s gap); frame i is filled with gray level 20 * i, so a decoded frame tells which one it is."""
    width, height = size
    frames = ((t, np.full((height, width, 3), min(255, 20 * i), np.uint8)) for i, t in enumerate(times))
    return encode_frames(Path(directory) / name, frames)


def video_from_image(directory: Path, image: np.ndarray, seconds: float = 2.0, fps: int = 10,
                     name: str = "moving.mp4", crop_fraction: float = 0.8) -> Path:  # fmt: skip
    """A video panning slowly over a still image (e.g. skimage's astronaut): each frame is a crop of
    ``crop_fraction`` of the image along its top edge, sliding from the left to the right edge, so whatever is in
    the picture moves steadily across the frames. Along the top, because that is where portraits have the face:
    the astronaut's stays whole in every frame."""
    height, width = image.shape[:2]
    crop_h, crop_w = int(height * crop_fraction) // 2 * 2, int(width * crop_fraction) // 2 * 2
    count = max(1, round(seconds * fps))

    def frames() -> Iterable[tuple[float, np.ndarray]]:
        for i in range(count):
            left = round(i / max(1, count - 1) * (width - crop_w))
            yield i / fps, image[:crop_h, left : left + crop_w, :3]

    return encode_frames(Path(directory) / name, frames(), fps=fps)


LONG_SECONDS = 40.0


def long_video(directory: Path) -> Path:
    """The astronaut panned for ``LONG_SECONDS`` at 10 fps: an analysis still running when a test cancels it, lets
    it time out or kills its worker (about 3 s at the default 5 fps here; the 8 s clip used before finished in
    0.5 s once faces were classified in int8)."""
    from skimage import data as skdata

    return video_from_image(directory, skdata.astronaut(), seconds=LONG_SECONDS, fps=10, name="long.mp4")


def save_image(directory: Path, name: str, pixels: np.ndarray, exif_orientation: int | None = None) -> Path:
    """Save a numpy image with Pillow (mode from the array: HxW gray, HxWx3 RGB, HxWx4 RGBA, uint16 gray), with an
    optional EXIF orientation tag as phone cameras write it."""
    path = Path(directory) / name
    image = Image.fromarray(pixels)
    options = {}
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        options["exif"] = exif
    image.save(path, **options)
    return path


def truncated_copy(source: Path, name: str, fraction: float = 0.5) -> Path:
    """The first ``fraction`` of a file's bytes, like an interrupted upload or download."""
    data = Path(source).read_bytes()
    path = Path(source).with_name(name)
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def damaged_copy(source: Path, name: str, start: float = 0.4, length: float = 0.2, seed: int = 0) -> Path:
    """A copy with a stretch of its bytes (from ``start`` for ``length``, as fractions of the size) overwritten with
    seeded random bytes: a file damaged in the middle, with intact header and end."""
    data = bytearray(Path(source).read_bytes())
    begin, count = int(len(data) * start), int(len(data) * length)
    data[begin : begin + count] = np.random.default_rng(seed).integers(0, 256, count, dtype=np.uint8).tobytes()
    path = Path(source).with_name(name)
    path.write_bytes(bytes(data))
    return path
