"""backend.media: what probe says about real files, how frames and audio come out of them, and which error a bad
file gets. All media is made on the fly by media_factory (small and short); CREMA-D clips from the shared data
are checked when present."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
import weakref
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import png_declaring, video_of_frames
from media_factory import (
    FFMPEG,
    VFR_TIMES,
    damaged_copy,
    make_audio,
    make_rotated_video,
    make_vfr_video,
    make_video,
    save_image,
    truncated_copy,
    video_from_image,
    with_cover_art,
)

from backend import media
from backend.config import Settings
from backend.errors import MediaError
from backend.media import iter_audio, iter_frames, load_image, probe, read_audio

MP4_FORMAT = "mov,mp4,m4a,3gp,3g2,mj2"


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(scope="session")
def clip(media_dir) -> Path:
    """2 s of 160x120 H.264 at 10 fps with an AAC tone."""
    return make_video(media_dir, "clip.mp4", seconds=2.0)


@pytest.fixture(scope="session")
def silent_clip(media_dir) -> Path:
    return make_video(media_dir, "silent.mp4", seconds=1.0, audio=False)


@pytest.fixture(scope="session")
def tone(media_dir) -> Path:
    return make_audio(media_dir, "tone.wav", seconds=1.0)


@pytest.fixture(scope="session")
def vfr(media_dir) -> Path:
    return make_vfr_video(media_dir)


@pytest.fixture(scope="session")
def made(media_dir) -> Callable[..., Path]:
    """make(factory, name, **options) made once per session, for files several tests read."""
    cache: dict[tuple, Path] = {}

    def make(factory: Callable[..., Path], name: str, **options: object) -> Path:
        key = (factory.__name__, name, tuple(sorted(options.items())))
        if key not in cache:
            cache[key] = factory(media_dir, name, **options)
        return cache[key]

    return make


def media_error(code: str, read: Callable[[Path], object], path: Path) -> MediaError:
    with pytest.raises(MediaError) as caught:
        read(path)
    assert caught.value.code == code, caught.value.message
    return caught.value


def tiny_max_pixels(monkeypatch, max_pixels: int) -> None:
    monkeypatch.setattr(media.opening, "get_settings", lambda: Settings().replace(max_pixels=max_pixels))


READERS = {
    "probe": probe,
    "iter_frames": lambda path: list(iter_frames(path)),
    "iter_audio": lambda path: list(iter_audio(path)),
    "read_audio": read_audio,
    "load_image": load_image,
}


# --- probe -----------------------------------------------------------------------------------------------------

VIDEO_CONTAINERS = {  # extension: (format name, video codec, audio codec)
    ".mp4": (MP4_FORMAT, "h264", "aac"),
    ".mov": (MP4_FORMAT, "h264", "aac"),
    ".mkv": ("matroska,webm", "h264", "aac"),
    ".webm": ("matroska,webm", "vp9", "opus"),
    ".avi": ("avi", "mpeg4", "mp3"),
    ".flv": ("flv", "flv1", "mp3"),
}


@pytest.mark.parametrize("ext", VIDEO_CONTAINERS)
def test_probe_describes_each_video_container(made, ext):
    info = probe(made(make_video, f"clip{ext}", seconds=1.0))
    assert (info.format_name, info.video_codec, info.audio_codec) == VIDEO_CONTAINERS[ext]
    assert info.kind == "video" and info.has_video and info.has_audio
    assert (info.width, info.height, info.rotation) == (160, 120, 0)
    assert info.fps == pytest.approx(10.0)
    assert info.duration == pytest.approx(1.0, abs=0.15)
    assert info.audio_sample_rate == 22050 or ext == ".webm"  # opus is always 48 kHz
    assert info.audio_channels == 1


@pytest.mark.parametrize("ext", VIDEO_CONTAINERS)
def test_every_video_container_decodes_to_rgb_frames(made, ext):
    frames = list(iter_frames(made(make_video, f"clip{ext}", seconds=1.0), sample_fps=None))
    assert len(frames) == 10
    assert all(f.image.shape == (120, 160, 3) and f.image.dtype == np.uint8 for f in frames)


COLOUR_TAGS = {  # how the encoder turned RGB into YUV, and the tags it wrote: each decodes by its own tags
    "untagged (BT.601, limited range)": [],
    "BT.709": ["-vf", "scale=out_color_matrix=bt709", "-colorspace", "bt709"],
    "full range": ["-vf", "scale=out_range=full", "-color_range", "pc"],
}


@pytest.mark.parametrize("tags", COLOUR_TAGS)
def test_a_decoded_frame_has_the_colour_that_was_encoded_whatever_the_colour_tags(made, tags):
    orange = (192, 64, 32)
    name = f"orange-{list(COLOUR_TAGS).index(tags)}.mp4"
    video = made(make_video, name, seconds=0.5, audio=False, source="color=c=0xC04020:size=64x48:rate=10",
                 extra_args=tuple(COLOUR_TAGS[tags]))  # fmt: skip
    frame = next(iter_frames(video, sample_fps=None))
    assert frame.image[8:40, 8:56].reshape(-1, 3).mean(axis=0) == pytest.approx(orange, abs=4)


AUDIO_FORMATS = {  # extension: (format name, codec, sample rate)
    ".wav": ("wav", "pcm_s16le", 44100),
    ".mp3": ("mp3", "mp3", 44100),
    ".flac": ("flac", "flac", 44100),
    ".ogg": ("ogg", "vorbis", 44100),
    ".m4a": (MP4_FORMAT, "aac", 44100),
}


@pytest.mark.parametrize("ext", AUDIO_FORMATS)
def test_probe_describes_each_audio_format(made, ext):
    info = probe(made(make_audio, f"stereo{ext}", rate=44100, channels=2))
    assert (info.format_name, info.audio_codec, info.audio_sample_rate) == AUDIO_FORMATS[ext]
    assert info.kind == "audio" and info.has_audio and not info.has_video
    assert info.audio_channels == 2
    assert (info.width, info.height, info.fps, info.video_codec) == (None, None, None, None)
    assert info.duration == pytest.approx(1.0, abs=0.1)


@pytest.mark.parametrize("ext", AUDIO_FORMATS)
def test_every_audio_format_decodes_to_about_its_duration(made, ext):
    """Lossy codecs pad a little (encoder delay, last frame); within 5 % of 1 s."""
    samples = read_audio(made(make_audio, f"stereo{ext}", rate=44100, channels=2))
    assert len(samples) == pytest.approx(16000, rel=0.05)


@pytest.mark.parametrize("name", ["voice.m4a", "voice.mp4"])
def test_audio_only_mp4_probes_as_audio(tmp_path, name):
    info = probe(make_audio(tmp_path, name))
    assert (info.kind, info.format_name, info.has_video) == ("audio", MP4_FORMAT, False)


def test_cover_art_in_an_mp3_is_not_video(tmp_path, tone):
    cover = save_image(tmp_path, "cover.png", np.zeros((32, 32, 3), np.uint8))
    song = with_cover_art(tmp_path, make_audio(tmp_path, "song.mp3"), cover)
    info = probe(song)
    assert (info.kind, info.has_video, info.has_audio) == ("audio", False, True)
    media_error("no_video_stream", READERS["iter_frames"], song)


def test_kind_is_decided_by_content_not_extension(tmp_path, tone):
    wav_named_mp4 = tmp_path / "sound.mp4"
    wav_named_mp4.write_bytes(tone.read_bytes())
    png_named_mp4 = tmp_path / "picture.mp4"
    save_image(tmp_path, "picture.png", np.zeros((20, 30, 3), np.uint8)).rename(png_named_mp4)
    assert (probe(wav_named_mp4).kind, probe(wav_named_mp4).format_name) == ("audio", "wav")
    assert (probe(png_named_mp4).kind, probe(png_named_mp4).format_name) == ("image", "png")


def test_probe_describes_an_image(tmp_path):
    info = probe(save_image(tmp_path, "still.png", np.zeros((20, 30, 3), np.uint8)))
    assert (info.kind, info.format_name, info.width, info.height, info.duration) == ("image", "png", 30, 20, 0.0)
    assert not info.has_video and not info.has_audio


def test_probe_gives_the_display_size_of_a_sideways_photo(tmp_path):
    """EXIF orientation 6: stored 30 wide and 20 high, shown 20 wide and 30 high."""
    info = probe(save_image(tmp_path, "phone.jpg", np.zeros((20, 30, 3), np.uint8), exif_orientation=6))
    assert (info.width, info.height) == (20, 30)


def test_media_info_is_json_ready(clip):
    assert json.loads(json.dumps(probe(clip).to_dict()))["kind"] == "video"


# --- frames: sampling by time ----------------------------------------------------------------------------------


def test_sampling_5_fps_from_10_fps_keeps_every_other_frame_0_2_s_apart(clip):
    frames = list(iter_frames(clip, sample_fps=5))
    assert [f.index for f in frames] == list(range(0, 20, 2))
    assert [f.t for f in frames] == pytest.approx([i * 0.2 for i in range(10)], abs=1e-3)


@pytest.mark.parametrize("sample_fps", [10, 30])
def test_sampling_at_or_above_the_stream_rate_keeps_every_frame(clip, sample_fps):
    assert [f.index for f in iter_frames(clip, sample_fps=sample_fps)] == list(range(20))


def test_frame_step_2_keeps_decoded_frames_0_2_4(clip):
    frames = list(iter_frames(clip, sample_fps=None, frame_step=2))
    assert [f.index for f in frames] == list(range(0, 20, 2))
    assert [f.t for f in frames] == pytest.approx([f.index / 10 for f in frames], abs=1e-3)


def test_no_sampling_keeps_every_frame(clip):
    frames = list(iter_frames(clip, sample_fps=None))
    assert [f.index for f in frames] == list(range(20))
    assert [f.t for f in frames] == pytest.approx([i / 10 for i in range(20)], abs=1e-3)


def test_max_frames_stops_early(clip):
    assert [f.index for f in iter_frames(clip, sample_fps=5, max_frames=3)] == [0, 2, 4]


def test_variable_frame_rate_times_come_from_timestamps(vfr):
    frames = list(iter_frames(vfr, sample_fps=None))
    assert [f.t for f in frames] == pytest.approx(VFR_TIMES, abs=1e-3)
    # frame i was encoded with gray level 20 * i: the right picture comes with each time
    assert [int(f.image.mean()) for f in frames] == pytest.approx([20 * i for i in range(len(frames))], abs=3)


def test_a_gap_in_variable_frame_rate_video_gives_one_frame_not_a_burst(vfr):
    """At 5 fps: 0.0, 0.2, then 0.5 after the gap (the grid skips 0.4 and 0.6), 1.0, and 1.5."""
    assert [f.t for f in iter_frames(vfr, sample_fps=5)] == pytest.approx([0.0, 0.2, 0.5, 1.0, 1.5], abs=1e-3)


def test_frame_times_count_from_the_start_of_the_stream(tmp_path):
    late = make_video(tmp_path, "late.mkv", seconds=1.0, audio=False, extra_args=["-output_ts_offset", "3"])
    assert [f.t for f in iter_frames(late, sample_fps=None, max_frames=2)] == pytest.approx([0.0, 0.1], abs=1e-3)


def test_frames_without_timestamps_are_timed_by_the_stream_rate(tmp_path):
    """A raw H.264 stream has no timestamps; libav assumes 25 fps for it."""
    raw = make_video(tmp_path, "raw.h264", seconds=1.0, audio=False)
    assert [f.t for f in iter_frames(raw, sample_fps=None)] == pytest.approx([i / 25 for i in range(10)])


@pytest.mark.parametrize(
    "arguments", [{"sample_fps": 5, "frame_step": 2}, {"sample_fps": 0}, {"frame_step": 0}, {"max_frames": 0}]
)
def test_sampling_arguments_are_checked_before_the_file_is_read(tmp_path, arguments):
    with pytest.raises(ValueError):
        iter_frames(tmp_path / "missing.mp4", **{"sample_fps": None, **arguments})


def test_an_image_yields_itself_as_one_frame(tmp_path):
    (frame,) = iter_frames(save_image(tmp_path, "still.png", np.full((20, 30, 3), 7, np.uint8)))
    assert (frame.index, frame.t, frame.image.shape, int(frame.image[0, 0, 0])) == (0, 0.0, (20, 30, 3), 7)


def test_video_from_image_pans_across_the_picture(tmp_path, astronaut):
    video = video_from_image(tmp_path, astronaut, seconds=1.0, fps=10)
    frames = list(iter_frames(video, sample_fps=None))
    assert (len(frames), frames[0].image.shape) == (10, (408, 408, 3))
    first, last = (f.image.astype(int) for f in (frames[0], frames[-1]))
    assert np.abs(first - astronaut[:408, :408]).mean() < 8  # H.264 is lossy, but close
    assert np.abs(last - astronaut[:408, -408:]).mean() < 8


# --- rotation ----------------------------------------------------------------------------------------------------

# Where the white block of the stored picture's top-left corner must be once the video is upright.
UPRIGHT_CORNER = {0: "top-left", 90: "bottom-left", 180: "bottom-right", 270: "top-right"}


def white_corner(image: np.ndarray) -> str:
    corners = {"top-left": image[2, 2], "top-right": image[2, -3],
               "bottom-left": image[-3, 2], "bottom-right": image[-3, -3]}  # fmt: skip
    (white,) = [name for name, pixel in corners.items() if pixel.mean() > 200]
    return white


@pytest.mark.parametrize("rotation", UPRIGHT_CORNER)
def test_rotated_video_comes_out_upright(made, rotation):
    video = made(make_rotated_video, f"rotated{rotation}.mp4", rotation=rotation)
    info = probe(video)
    frame = next(iter_frames(video))
    upright_size = (120, 160) if rotation in (90, 270) else (160, 120)
    assert (info.rotation, info.width, info.height) == (rotation, *upright_size)
    assert frame.image.shape == (info.height, info.width, 3)
    assert white_corner(frame.image) == UPRIGHT_CORNER[rotation]


def test_rotation_matches_what_ffmpeg_shows(made):
    """ffmpeg's own autorotation is the reference for the direction of the turn."""
    video = made(make_rotated_video, "rotated90.mp4", rotation=90)
    command = [FFMPEG, "-v", "error", "-i", str(video), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    shown = np.frombuffer(subprocess.run(command, capture_output=True, check=True).stdout, np.uint8)
    ours = next(iter_frames(video)).image
    assert np.abs(shown.reshape(ours.shape).astype(int) - ours).mean() < 2


def test_a_negative_display_rotation_is_reported_as_270(tmp_path):
    assert probe(make_rotated_video(tmp_path, rotation=-90)).rotation == 270


# --- audio -------------------------------------------------------------------------------------------------------


def test_stereo_44k_audio_comes_as_16k_mono_float32_chunks(tmp_path):
    chunks = list(iter_audio(make_audio(tmp_path, "stereo.wav", seconds=2.5, rate=44100, channels=2)))
    assert [c.t for c in chunks] == [0.0, 1.0, 2.0]
    assert [len(c.samples) for c in chunks[:2]] == [16000, 16000] and 0 < len(chunks[2].samples) < 16000
    assert all(c.samples.dtype == np.float32 and c.samples.ndim == 1 for c in chunks)
    assert sum(len(c.samples) for c in chunks) == pytest.approx(2.5 * 16000, rel=0.01)
    assert all(np.abs(c.samples).max() <= 1.0 for c in chunks)


def test_eight_channel_audio_is_mixed_down_to_mono(tmp_path):
    samples = read_audio(make_audio(tmp_path, "surround.wav", seconds=1.0, rate=48000, channels=8))
    assert len(samples) == pytest.approx(16000, rel=0.01)
    assert np.sqrt(np.mean(samples**2)) > 0.02  # the tone is still there


def test_resampling_keeps_the_pitch(tmp_path):
    samples = read_audio(make_audio(tmp_path, "a.wav", seconds=1.0, rate=44100, channels=2, freq=440))
    spectrum = np.abs(np.fft.rfft(samples))
    assert np.fft.rfftfreq(len(samples), 1 / 16000)[spectrum.argmax()] == pytest.approx(440, abs=3)


def test_chunk_length_and_sample_rate_are_chosen_by_the_caller(tone):
    chunks = list(iter_audio(tone, sample_rate=8000, chunk_seconds=0.25))
    assert [c.t for c in chunks] == [0.0, 0.25, 0.5, 0.75]
    assert [len(c.samples) for c in chunks] == [2000] * 4


def test_read_audio_is_the_chunks_joined(clip):
    whole = read_audio(clip)
    assert np.array_equal(whole, np.concatenate([c.samples for c in iter_audio(clip)]))
    assert len(whole) == pytest.approx(2 * 16000, rel=0.05)


def test_a_video_without_audio_has_no_audio_stream(silent_clip):
    assert not probe(silent_clip).has_audio
    media_error("no_audio_stream", READERS["iter_audio"], silent_clip)


def test_an_audio_file_has_no_video_stream(tone):
    media_error("no_video_stream", READERS["iter_frames"], tone)


# --- errors ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reader", READERS)
def test_a_missing_file_is_file_not_found(tmp_path, reader):
    error = media_error("file_not_found", READERS[reader], tmp_path / "gone.mp4")
    assert "gone.mp4" in error.message


def test_a_directory_is_file_not_found(tmp_path):
    media_error("file_not_found", probe, tmp_path)


@pytest.mark.parametrize("reader", READERS)
def test_an_empty_file_is_empty_file(tmp_path, reader):
    (tmp_path / "empty.mp4").touch()
    assert "empty.mp4" in media_error("empty_file", READERS[reader], tmp_path / "empty.mp4").message


def write_zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("notes.txt", "not a video " * 50)


NOT_MEDIA = {
    "text": lambda path: path.write_text("hello, this is not a video\n" * 50),
    "html": lambda path: path.write_text("<!doctype html><html><body><video src=x></video></body></html>"),
    "zip": write_zip,
    "garbage": lambda path: path.write_bytes(np.random.default_rng(1).integers(0, 256, 5000, np.uint8).tobytes()),
    "subtitles": lambda path: path.write_text("1\n00:00:01,000 --> 00:00:02,000\nHello\n\n"),
}


@pytest.mark.parametrize("content", NOT_MEDIA)
@pytest.mark.parametrize("reader", READERS)
def test_other_files_named_mp4_are_not_media(tmp_path, content, reader):
    path = tmp_path / f"{content}.mp4"
    NOT_MEDIA[content](path)
    assert path.name in media_error("not_media", READERS[reader], path).message


def test_an_mp4_cut_before_its_index_is_corrupt_media(clip):
    """ffmpeg writes the moov atom (the index) at the end unless asked for faststart."""
    cut = truncated_copy(clip, "cut.mp4")
    for reader in ("probe", "iter_frames", "iter_audio"):
        assert "cut.mp4" in media_error("corrupt_media", READERS[reader], cut).message


def test_an_mp4_with_its_index_first_and_cut_gives_the_frames_before_the_cut(tmp_path):
    cut = truncated_copy(make_video(tmp_path, "fast.mp4", seconds=2.0, extra_args=["-movflags", "+faststart"]),
                         "fast-cut.mp4")  # fmt: skip
    frames = list(iter_frames(cut, sample_fps=None))
    assert 3 <= len(frames) < 20 and frames[0].t == 0.0
    assert len(read_audio(cut)) > 0


def test_damage_in_the_middle_costs_frames_not_the_file(tmp_path):
    damaged = damaged_copy(make_video(tmp_path, "whole.mp4", seconds=3.0), "damaged.mp4", start=0.4, length=0.2)
    times = [f.t for f in iter_frames(damaged, sample_fps=None)]
    assert times[0] == 0.0 and times[-1] > 2.5  # frames after the damaged stretch still come
    assert len(times) < 30
    assert len(read_audio(damaged)) > 0


def test_a_wav_without_samples_is_zero_duration(tmp_path):
    empty = make_audio(tmp_path, "silence.wav", seconds=0.0)
    for reader in ("probe", "iter_audio"):
        media_error("zero_duration", READERS[reader], empty)


@pytest.mark.parametrize("reader", ["probe", "iter_frames"])
def test_a_video_frame_above_max_pixels_is_too_large(monkeypatch, clip, reader):
    tiny_max_pixels(monkeypatch, 100 * 100)
    assert "160x120" in media_error("too_large", READERS[reader], clip).message


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("size", [150, 300], ids=["over the cap", "over twice the cap: Pillow's bomb error"])
@pytest.mark.parametrize("reader", ["probe", "load_image"])
def test_an_image_above_max_pixels_is_too_large(monkeypatch, tmp_path, size, reader):
    big = save_image(tmp_path, "big.png", np.zeros((size, size, 3), np.uint8))
    tiny_max_pixels(monkeypatch, 100 * 100)
    media_error("too_large", READERS[reader], big)


_BOMB_CHILD = """
import json, sys
from backend.errors import MediaError
from backend.media import iter_frames, probe
from tests.memory import peak_rss_bytes
codes = {}
for path in sys.argv[1:]:
    for name, read in (("probe", probe), ("iter_frames", lambda p: list(iter_frames(p)))):
        try:
            read(path)
        except MediaError as exc:
            codes[f"{path} {name}"] = exc.code
print(json.dumps({"codes": codes, "peak_rss": peak_rss_bytes()}))
"""


def test_video_frames_declaring_16000x16000_are_refused_before_libav_allocates_them(tmp_path):
    """A few KB of AVI whose PNG frames declare 16000x16000 16-bit RGBA: libav decodes a first frame while
    opening the file (to learn the pixel format) and, uncapped, allocates 2 GB for it. With the cap passed to its
    decoders the file is refused as too_large, and frames that lie about their size behind a small container
    header are not decoded at all (corrupt_media), both in a child process whose peak RSS stays small."""
    frame = png_declaring(16000, 16000, "RGBA", 16)
    declared = video_of_frames(tmp_path / "declared.avi", "png", frame, (16000, 16000), "rgba64be")
    hidden = video_of_frames(tmp_path / "hidden.avi", "png", frame, (16, 16), "rgba64be")
    done = subprocess.run([sys.executable, "-c", _BOMB_CHILD, str(declared), str(hidden)], capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parents[1], check=True)  # fmt: skip
    outcome = json.loads(done.stdout)
    expected = {declared: "too_large", hidden: "corrupt_media"}
    assert outcome["codes"] == {f"{path} {reader}": code for path, code in expected.items()
                                for reader in ("probe", "iter_frames")}  # fmt: skip
    assert outcome["peak_rss"] < 400 * 1024**2


# --- load_image --------------------------------------------------------------------------------------------------


def test_transparency_is_composited_on_white(tmp_path):
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[:5] = (200, 10, 10, 255)  # opaque red top half, transparent bottom half
    image = load_image(save_image(tmp_path, "logo.png", rgba))
    assert (image.shape, image.dtype) == ((10, 12, 3), np.uint8)
    assert image[0, 0].tolist() == [200, 10, 10] and image[-1, -1].tolist() == [255, 255, 255]


def test_grayscale_becomes_three_equal_channels(tmp_path):
    image = load_image(save_image(tmp_path, "gray.png", np.arange(120, dtype=np.uint8).reshape(10, 12)))
    assert image.shape == (10, 12, 3) and image.dtype == np.uint8
    assert (image[..., 0] == image[..., 1]).all() and (image[..., 1] == image[..., 2]).all()
    assert image[9, 11, 0] == 119


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    image = load_image(save_image(tmp_path, "deep.png", np.array([[0, 32768, 65535]], np.uint16)))
    assert image[0, :, 0].tolist() == [0, 128, 255]


def test_exif_orientation_is_applied(tmp_path):
    """Orientation 6 means "turn 90 degrees clockwise to view": the stored top-left block ends top-right."""
    stored = np.zeros((20, 30, 3), np.uint8)
    stored[:5, :5] = 255
    image = load_image(save_image(tmp_path, "phone.png", stored, exif_orientation=6))
    assert image.shape == (30, 20, 3)
    assert white_corner(image) == "top-right"


def test_a_cut_image_is_corrupt_media(tmp_path):
    whole = save_image(tmp_path, "photo.png", np.random.default_rng(2).integers(0, 256, (64, 64, 3), np.uint8))
    media_error("corrupt_media", load_image, truncated_copy(whole, "cut.png"))


def test_load_image_of_audio_is_not_media(tone):
    media_error("not_media", load_image, tone)


# --- resources ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def long_video(media_dir) -> Path:
    """20 s of 320x240 at 10 fps: 200 decoded frames, 100 kept at 5 fps."""
    return make_video(media_dir, "long.mp4", seconds=20.0, size=(320, 240), fps=10)


def test_consumed_frames_are_released(long_video):
    """The iterator holds no reference to frames it has handed out, so memory does not grow with the video."""
    seen = []
    for frame in iter_frames(long_video, sample_fps=5):
        seen.append(weakref.ref(frame.image))
    del frame
    gc.collect()
    assert len(seen) == 100
    assert sum(ref() is not None for ref in seen) == 0


def peak_traced_bytes(path: Path) -> int:
    tracemalloc.start()
    try:
        for _chunk in iter_audio(path):
            pass
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_audio_memory_does_not_grow_with_the_file(tmp_path, tone):
    list(iter_audio(tone))  # first use imports and caches; not what is measured
    short = peak_traced_bytes(make_audio(tmp_path, "10s.flac", seconds=10.0))
    long = peak_traced_bytes(make_audio(tmp_path, "40s.flac", seconds=40.0))
    assert long < 1.5 * short
    assert long < 40 * 16000 * 4 / 4  # well under the decoded track (2.5 MB)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_abandoned_iterators_close_their_files(clip):
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    for _ in range(5):
        frames, chunks = iter_frames(clip), iter_audio(clip)
        next(frames), next(chunks)
        frames.close()
        del chunks  # dropped without close(): the generator's finalizer closes the container
    gc.collect()
    assert open_files() == before


# --- shared data -------------------------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("ext", [".flv", ".mp4"])
def test_crema_d_clips_probe_as_480x360_video_with_audio(shared_data, ext):
    clip = shared_data / "video" / f"1001_DFA_ANG_XX{ext}"
    if not clip.is_file():
        pytest.skip(f"CREMA-D clip {clip.name} not in {clip.parent}")
    info = probe(clip)
    assert (info.kind, info.width, info.height, info.has_audio) == ("video", 480, 360, True)
    assert info.fps == pytest.approx(29.97, abs=0.01)
    assert info.duration == pytest.approx(2.25, abs=0.1)
    frame = next(iter_frames(clip))
    assert frame.image.shape == (360, 480, 3)
    assert len(read_audio(clip)) == pytest.approx(info.duration * 16000, rel=0.03)


@pytest.mark.shared_data
def test_every_shared_video_probes(shared_data):
    clips = [p for p in sorted((shared_data / "video").iterdir()) if p.suffix in {".mp4", ".mov", ".flv", ".mpg"}]
    infos = [probe(p) for p in clips]
    assert all(info.kind == "video" and info.width and info.height and info.fps for info in infos)


def test_a_source_reads_its_pictures_on_from_the_probe_and_its_sound_from_a_second_open(clip, media_opens):
    with media.MediaSource(clip) as source:
        assert source.info.kind == "video" and len(media_opens) == 1
        frames = list(source.frames(sample_fps=None))
        chunks = list(source.sound(16000, chunk_seconds=0.5))
    assert len(media_opens) == 2
    assert [frame.index for frame in frames] == list(range(20))  # 2 s at 10 fps: the probe's frame is not lost
    assert [frame.t for frame in frames] == [frame.t for frame in iter_frames(clip, sample_fps=None)]
    assert np.array_equal(np.concatenate([chunk.samples for chunk in chunks]), read_audio(clip))


def test_an_audio_file_is_opened_once_for_its_probe_and_its_sound(tone, media_opens):
    with media.MediaSource(tone) as source:
        samples = sum(len(chunk.samples) for chunk in source.sound(16000))
    assert len(media_opens) == 1 and samples == pytest.approx(16000, rel=0.01)


def test_a_source_gives_its_pictures_once(clip):
    with media.MediaSource(clip) as source:
        list(source.frames(max_frames=1))
        with pytest.raises(RuntimeError):
            list(source.frames())
