"""The bad-input corpus: files a user (or an attacker) may hand to EmoClassify, made on the fly (nothing
downloaded, nothing committed). Each :class:`Case` names a maker, which writes the file into a folder and returns
its path, and the expected outcome: an error code of the documented list, or ``"ok"`` for a file that must be
analysed normally.

Run as a script (``python tests/bad_inputs.py PLAN.json``) it is the CLI side of tests/test_bad_inputs.py: one
child process that runs the command line's ``main`` on each file of a plan and prints one JSON line per file with
the exit status, stderr and the peak RSS of that file's analysis, so the test sees crashes, leaks and memory
without loading the models once per file."""

from __future__ import annotations

import contextlib
import io
import json
import struct
import sys
import wave
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from media_factory import damaged_copy, make_audio, make_video, run_ffmpeg, truncated_copy
from memory import peak_rss_bytes, reset_peak_rss
from PIL import Image

Maker = Callable[[Path], Path]


def _bytes(name: str, data: bytes) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        path.write_bytes(data)
        return path

    return make


def _zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not media")
    return buffer.getvalue()


def _wav(name: str, rate: int, samples: np.ndarray, width: int = 2, channels: int = 1) -> Maker:
    def make(folder: Path) -> Path:
        path = folder / name
        with wave.open(str(path), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(rate)
            out.writeframes(samples.tobytes())
        return path

    return make


def _float_wav_with_nan(folder: Path) -> Path:
    """IEEE-float WAV (format 3) of a tone with NaN and inf samples in it."""
    samples = (0.2 * np.sin(np.arange(16000) * 2 * np.pi * 220 / 16000)).astype("<f4")
    samples[1000:1100] = np.nan
    samples[5000:5010] = np.inf
    data = samples.tobytes()
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 3, 1, 16000, 16000 * 4, 4, 32)
    path = folder / "nan_inf_float.wav"
    path.write_bytes(header + b"data" + struct.pack("<I", len(data)) + data)
    return path


def png_declaring(width: int, height: int, mode: str = "L", bit_depth: int = 8) -> bytes:
    """A tiny PNG whose header declares ``width`` x ``height`` (a decompression bomb's announcement); its pixel
    data is that of an 8x8 image, so it never decodes to the size it claims."""
    buffer = io.BytesIO()
    Image.new(mode, (8, 8)).save(buffer, format="PNG")
    data = bytearray(buffer.getvalue())
    ihdr = struct.pack(">IIB", width, height, bit_depth) + bytes(data[25:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
    return bytes(data)


def _png_file_declaring(width: int, height: int) -> Maker:
    return _bytes(f"declared_{width}x{height}.png", png_declaring(width, height))


def jpeg_declaring(width: int, height: int) -> bytes:
    """A tiny JPEG whose frame header (SOF0) declares ``width`` x ``height``."""
    buffer = io.BytesIO()
    Image.new("L", (16, 16), 128).save(buffer, format="JPEG")
    data = bytearray(buffer.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def video_of_frames(path: Path, codec: str, frame: bytes, size: tuple[int, int], pix_fmt: str,
                    count: int = 3) -> Path:  # fmt: skip
    """A video whose stream header declares ``size`` and whose packets are ``frame`` (bytes of one encoded
    picture) ``count`` times at 1 fps, muxed by PyAV without encoding: a file of a few KB declaring any size."""
    container_format = {".avi": "avi", ".mkv": "matroska"}[path.suffix]
    with av.open(str(path), mode="w", format=container_format) as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height = size
        stream.pix_fmt = pix_fmt
        for index in range(count):
            packet = av.Packet(frame)
            packet.stream, packet.pts, packet.dts, packet.time_base = stream, index, index, Fraction(1)
            packet.is_keyframe = True
            container.mux(packet)
    return path


def _declared_video(name: str, codec: str, frame: bytes, pix_fmt: str) -> Maker:
    return lambda folder: video_of_frames(folder / name, codec, frame, (16000, 16000), pix_fmt)


def _ten_hours_declared(folder: Path) -> Path:
    """A 2-second MKV whose segment header declares 10 hours (the EBML Duration element, in milliseconds at the
    default timecode scale): what libav reports as the file's duration, without a frame to back it."""
    path = make_video(folder, "ten_hours_declared.mkv", seconds=2.0)
    data = bytearray(path.read_bytes())
    duration = data.index(b"\x44\x89\x88")  # element id 0x4489, 8-byte float
    data[duration + 3 : duration + 11] = struct.pack(">d", 10 * 3600 * 1000.0)
    path.write_bytes(bytes(data))
    return path


def _video(name: str, **kwargs) -> Maker:
    return lambda folder: make_video(folder, name, **kwargs)


def _renamed(maker: Maker, name: str) -> Maker:
    def make(folder: Path) -> Path:
        return maker(folder).rename(folder / name)

    return make


def _truncated(folder: Path) -> Path:
    return truncated_copy(make_video(folder, "whole.mp4", seconds=2.0), "truncated_no_moov.mp4")


def _damaged(folder: Path) -> Path:
    return damaged_copy(make_video(folder, "intact.mp4", seconds=3.0, extra_args=["-movflags", "+faststart"]),
                        "corrupt_middle.mp4")  # fmt: skip


def _text(name: str, text: str, beside: str | None = None) -> Maker:
    """A text file (a playlist, a concat list, ANSI art); ``beside``: a short WAV of that name next to it, so a
    playlist that libav followed would find a real file."""

    def make(folder: Path) -> Path:
        if beside:
            make_audio(folder, beside)
        path = folder / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def _many_streams(folder: Path) -> Path:
    """An MKV with three video and three audio tracks."""
    path = folder / "many_streams.mkv"
    run_ffmpeg("-f", "lavfi", "-i", "testsrc=size=160x120:rate=10", "-f", "lavfi", "-i", "sine=frequency=440",
               "-t", "1", *[arg for _ in range(3) for arg in ("-map", "0:v")],
               *[arg for _ in range(3) for arg in ("-map", "1:a")], "-c:v", "libx264", "-preset", "ultrafast",
               "-pix_fmt", "yuv420p", "-c:a", "aac", path)  # fmt: skip
    return path


def _lying_wav(folder: Path) -> Path:
    """A 1 s WAV whose RIFF and data sizes declare an hour of audio."""
    path = make_audio(folder, "lying_header.wav", seconds=1.0)
    data = bytearray(path.read_bytes())
    hour = 3600 * 16000 * 2
    data[4:8] = struct.pack("<I", hour + 36)
    offset = data.index(b"data")
    data[offset + 4 : offset + 8] = struct.pack("<I", hour)
    path.write_bytes(bytes(data))
    return path


def _ffv1(name: str, size: tuple[int, int], pix_fmt: str) -> Maker:
    """A lossless FFV1 MKV (odd sizes and pixel formats H.264 does not take), without audio."""
    return _video(name, size=size, audio=False, extra_args=["-c:v", "ffv1", "-pix_fmt", pix_fmt])


@dataclass(frozen=True)
class Case:
    """One input of the corpus and what EmoClassify must make of it."""

    name: str
    expected: str  # the CLI's outcome, and the API's unless ``api`` says otherwise
    make: Maker
    api: str | None = None  # the API's outcome where its limits (e.g. EMOCLASSIFY_MAX_DURATION) make it differ
    options: Mapping[str, bool] = field(default_factory=dict)  # boolean analysis options asked for
    warning: str | None = None  # text a warning of the result must contain
    upload_name: str | None = None  # the file name the API client sends, where not the file's own

    @property
    def api_expected(self) -> str:
        return self.api or self.expected

    def cli_flags(self) -> list[str]:
        return [f"--{name.replace('_', '-')}" for name, on in self.options.items() if on]

    def form_fields(self) -> dict[str, str]:
        return {name: str(on).lower() for name, on in self.options.items()}


def _up_and_back(name: str) -> Maker:
    """A file reached through a path that goes into a folder and back out with ``..``."""

    def make(folder: Path) -> Path:
        (folder / "sub").mkdir(exist_ok=True)
        return make_audio(folder, name).parent / "sub" / ".." / name

    return make


def _png_image(size: int, name: str) -> Maker:
    def make(folder: Path) -> Path:
        Image.new("RGB", (size, size)).save(folder / "picture.png")
        return (folder / "picture.png").rename(folder / name)

    return make


CORPUS: list[Case] = [
    Case("empty file", "empty_file", _bytes("empty.mp4", b"")),
    Case("1 byte", "not_media", _bytes("one_byte.mp4", b"\x00")),
    Case("text renamed .mp4", "not_media", _bytes("text.mp4", b"hello, this is not a video\n" * 40)),
    Case("HTML renamed .mp4", "not_media", _bytes("page.mp4", b"<!doctype html><html><body>video</body></html>" * 20)),
    Case("JSON renamed .wav", "not_media", _bytes("data.wav", b'{"audio": [1, 2, 3]}' * 50)),
    Case("zip renamed .mp4", "not_media", _bytes("archive.mp4", _zip_bytes())),
    Case("random bytes .mkv", "not_media", _bytes("noise.mkv", np.random.default_rng(0).bytes(4096))),
    Case("truncated mp4 (moov missing)", "corrupt_media", _truncated),
    Case("corrupt frames in the middle", "ok", _damaged),
    Case("zero-duration audio (header only)", "zero_duration", lambda f: make_audio(f, "zero.wav", seconds=0)),
    Case("zero-duration video (ffmpeg -t 0: no track)", "not_media", _video("zero.mp4", seconds=0)),
    Case("1-frame video", "ok", _video("one_frame.mp4", seconds=0.1, fps=10)),
    Case("16000x16000 declared image", "too_large", _png_file_declaring(16000, 16000)),
    Case(
        "16000x16000 declared video (16-bit RGBA PNG frames, AVI)",
        "too_large",
        _declared_video("declared_png.avi", "png", png_declaring(16000, 16000, "RGBA", 16), "rgba64be"),
    ),
    Case(
        "16000x16000 declared video (MJPEG, MKV)",
        "too_large",
        _declared_video("declared_mjpeg.mkv", "mjpeg", jpeg_declaring(16000, 16000), "yuvj420p"),
    ),
    Case("10-hour declared duration (2 s of content)", "ok", _ten_hours_declared, api="too_long"),
    Case("audio-only mp4", "ok", lambda f: make_audio(f, "audio_only.m4a", seconds=1.0)),
    Case("video without audio", "ok", _video("silent_video.mp4", seconds=1.0, audio=False)),
    Case(
        "video without audio, double check asked",
        "ok",
        _video("no_audio_check.mp4", seconds=1.0, audio=False),
        options={"double_check": True},
        warning="double check skipped",
    ),
    Case("silent audio", "ok", _wav("silence.wav", 16000, np.zeros(32000, dtype="<i2"))),
    Case("NaN/inf samples in a float wav", "ok", _float_wav_with_nan),
    Case("1 Hz sample rate", "ok", _wav("rate_1hz.wav", 1, np.zeros(4, dtype="<i2"))),
    Case("384 kHz sample rate", "ok", lambda f: make_audio(f, "rate_384k.wav", seconds=1.0, rate=384000)),
    Case("8 audio channels", "ok", lambda f: make_audio(f, "eight_channels.wav", seconds=1.0, channels=8)),
    Case("webm video", "ok", _video("clip.webm", seconds=0.5)),
    Case("flv video", "ok", _video("clip.flv", seconds=0.5)),
    Case("avi video", "ok", _video("clip.avi", seconds=0.5)),
    Case("tiny 1x1 image", "ok", _png_image(1, "pixel.png")),
    Case("png renamed .mp4", "ok", _png_image(64, "picture.mp4")),
    Case("wav renamed .mp4", "ok", _renamed(lambda f: make_audio(f, "t.wav"), "sound.mp4")),
    Case("unicode file name", "ok", lambda f: make_audio(f, "émotion 😀 voix.wav")),
    Case("spaces in file name", "ok", lambda f: make_audio(f, "my recording (final).wav")),
    Case("'..' in file name", "ok", lambda f: make_audio(f, "..evil..name.wav")),
    Case(
        "'../' in the path (CLI) and in the uploaded file name (API)",
        "ok",
        _up_and_back("escape.wav"),
        upload_name="../../../etc/escape.wav",
    ),
    Case(
        "very long file name (240 bytes; 4 KB sent to the API)",
        "ok",
        lambda f: make_audio(f, "a" * 240 + ".wav"),
        upload_name="a" * 4096 + ".wav",
    ),
    Case("dot-file name", "ok", lambda f: make_audio(f, ".hidden.wav")),
    Case(
        "640x12 video (frames too small for face detection)",
        "ok",
        _video("wide_strip.mp4", size=(640, 12)),
        warning="too small for face detection",
    ),
    Case("12x640 video", "ok", _video("tall_strip.mp4", size=(12, 640)), warning="too small for face detection"),
    Case("2x2 video (FFV1)", "ok", _ffv1("two_pixels.mkv", (2, 2), "yuv444p"), warning="too small for face detection"),
    Case("odd frame size 101x37 (FFV1)", "ok", _ffv1("odd_size.mkv", (101, 37), "yuv444p")),
    Case("16-bit gray pixels (FFV1)", "ok", _ffv1("gray16.mkv", (160, 120), "gray16le")),
    Case("10-bit 4:4:4 H.264", "ok", _video("high444.mp4", seconds=1.0, extra_args=["-pix_fmt", "yuv444p10le"])),
    Case("3 video + 3 audio tracks", "ok", _many_streams),
    Case("WAV header declaring 1 hour (1 s of samples)", "ok", _lying_wav),
    Case(
        "1 MB of random bytes .bin (FFmpeg's bintext demuxer, chosen by extension)",
        "not_media",
        _bytes("noise.bin", np.random.default_rng(1).bytes(1 << 20)),
    ),
    Case(
        "ANSI art .ans (FFmpeg's tty demuxer)",
        "not_media",
        _text("art.ans", "\x1b[1;31mEMO\x1b[0m classify \x1b[44m    \x1b[0m\n" * 200),
    ),
    Case(
        "HLS playlist naming a local file",
        "not_media",
        _text("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nnear.wav\n#EXT-X-ENDLIST\n", "near.wav"),
    ),
    Case(
        "ffconcat list naming a local file",
        "not_media",
        _text("list.ffconcat", "ffconcat version 1.0\nfile 'near2.wav'\n", "near2.wav"),
    ),
    Case(
        "QuickTime Animation video (a decoder outside the allowlist)",
        "not_media",
        _video("animation.mov", seconds=0.5, audio=False, extra_args=["-c:v", "qtrle", "-pix_fmt", "rgb24"]),
    ),
]


# ---------------------------------------------------------------------------------------------------------------
# The CLI side, run in a child process


def run_cli(plan: list[dict]) -> Iterator[dict]:
    """Run the command line (``python -m backend`` without the interpreter start) on each ``{"name", "args"}`` of
    the plan in turn: exit status, what it printed on stderr and the peak RSS while it ran."""
    from backend.__main__ import main

    for item in plan:
        reset_peak_rss()
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = main(item["args"])
        yield {"name": item["name"], "exit": code, "stderr": stderr.getvalue(), "peak_rss": peak_rss_bytes()}


if __name__ == "__main__":
    for record in run_cli(json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))):
        print(json.dumps(record), flush=True)
