"""The bad-input corpus: files a user (or an attacker) may hand to EmoClassify, made on the fly (nothing
downloaded, nothing committed). Each entry is (name, expected outcome, maker); a maker writes the file into a
folder and returns its path. ``expected`` is an error code of the documented list, or ``"ok"`` for a file that
must be analysed normally."""

from __future__ import annotations

import io
import struct
import wave
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from media_factory import damaged_copy, make_audio, make_video, truncated_copy
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


def _png_declaring(width: int, height: int) -> Maker:
    """A tiny PNG whose header declares ``width`` x ``height`` (a decompression bomb's announcement)."""

    def make(folder: Path) -> Path:
        buffer = io.BytesIO()
        Image.new("L", (8, 8)).save(buffer, format="PNG")
        data = bytearray(buffer.getvalue())
        ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
        data[16:29] = ihdr
        data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xFFFFFFFF)
        path = folder / f"declared_{width}x{height}.png"
        path.write_bytes(bytes(data))
        return path

    return make


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


CORPUS: list[tuple[str, str, Maker]] = [
    ("empty file", "empty_file", _bytes("empty.mp4", b"")),
    ("1 byte", "not_media", _bytes("one_byte.mp4", b"\x00")),
    ("text renamed .mp4", "not_media", _bytes("text.mp4", b"hello, this is not a video\n" * 40)),
    ("HTML renamed .mp4", "not_media", _bytes("page.mp4", b"<!doctype html><html><body>video</body></html>" * 20)),
    ("JSON renamed .wav", "not_media", _bytes("data.wav", b'{"audio": [1, 2, 3]}' * 50)),
    ("zip renamed .mp4", "not_media", _bytes("archive.mp4", _zip_bytes())),
    ("random bytes .mkv", "not_media", _bytes("noise.mkv", np.random.default_rng(0).bytes(4096))),
    ("truncated mp4 (moov missing)", "corrupt_media", _truncated),
    ("corrupt frames in the middle", "ok", _damaged),
    ("zero-duration audio (header only)", "zero_duration", lambda f: make_audio(f, "zero.wav", seconds=0)),
    ("1-frame video", "ok", _video("one_frame.mp4", seconds=0.1, fps=10)),
    ("16000x16000 declared image", "too_large", _png_declaring(16000, 16000)),
    ("audio-only mp4", "ok", lambda f: make_audio(f, "audio_only.m4a", seconds=1.0)),
    ("video without audio", "ok", _video("silent_video.mp4", seconds=1.0, audio=False)),
    ("silent audio", "ok", _wav("silence.wav", 16000, np.zeros(32000, dtype="<i2"))),
    ("NaN/inf samples in a float wav", "ok", _float_wav_with_nan),
    ("1 Hz sample rate", "ok", _wav("rate_1hz.wav", 1, np.zeros(4, dtype="<i2"))),
    ("384 kHz sample rate", "ok", lambda f: make_audio(f, "rate_384k.wav", seconds=1.0, rate=384000)),
    ("8 audio channels", "ok", lambda f: make_audio(f, "eight_channels.wav", seconds=1.0, channels=8)),
    ("webm video", "ok", _video("clip.webm", seconds=0.5)),
    ("flv video", "ok", _video("clip.flv", seconds=0.5)),
    ("avi video", "ok", _video("clip.avi", seconds=0.5)),
    ("tiny 1x1 image", "ok", lambda f: Image.new("RGB", (1, 1)).save(f / "pixel.png") or f / "pixel.png"),
    (
        "png renamed .mp4",
        "ok",
        _renamed(lambda f: Image.new("RGB", (64, 64)).save(f / "x.png") or f / "x.png", "picture.mp4"),
    ),  # fmt: skip
    ("wav renamed .mp4", "ok", _renamed(lambda f: make_audio(f, "t.wav"), "sound.mp4")),
    ("unicode file name", "ok", lambda f: make_audio(f, "émotion 😀 voix.wav")),
    ("spaces in file name", "ok", lambda f: make_audio(f, "my recording (final).wav")),
    ("'..' in file name", "ok", lambda f: make_audio(f, "..evil..name.wav")),
    ("very long file name", "ok", lambda f: make_audio(f, "a" * 240 + ".wav")),
    ("dot-file name", "ok", lambda f: make_audio(f, ".hidden.wav")),
]
