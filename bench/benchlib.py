"""What the benchmark scripts share: the test clips, measuring in a fresh child process, and the one-line JSON
that ``bench/collect.py`` reads from the end of each script's output.

Every measurement that reports a peak RSS runs in its own child process, so that what it loads before (models,
other clips) is not counted in its peak.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [p for p in (str(ROOT), str(ROOT / "tests")) if p not in sys.path]
os.environ.setdefault("KERAS_BACKEND", "torch")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
RESULT_PREFIX = "BENCH_RESULT "  # the machine-readable last line: this prefix, then one JSON object
SAMPLE_RATE = 16_000
HEIGHTS = {360: 640, 480: 854, 720: 1280, 1080: 1920}  # 16:9 frame sizes by height


def ffmpeg(*args: str | Path) -> None:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *map(str, args)], check=True)


def talking_head(folder: Path, height: int, seconds: float) -> tuple[Path, str]:
    """A ``height``p 16:9 30 fps H.264 + AAC clip of ``seconds``: the shared CREMA-D clips of one actor (one face
    filling about a third of the frame, speaking), joined and looped; without ../shared, the astronaut photo
    as a still video with a tone. Returns the file and where its pictures come from."""
    from backend.config import get_settings

    width = HEIGHTS[height]
    target = folder / f"talking-{height}p-{seconds:g}s.mp4"
    clips = sorted((get_settings().data_dir / "video").glob("1001_DFA_*_XX.mp4"))
    if clips:
        listing = folder / "clips.txt"
        listing.write_text("".join(f"file '{c}'\n" for c in clips))
        source = ["-stream_loop", "-1", "-f", "concat", "-safe", "0", "-i", listing]
        what = f"{len(clips)} CREMA-D clips of actor 1001, looped"
    else:
        from PIL import Image
        from skimage import data

        still = folder / "astronaut.png"
        Image.fromarray(data.astronaut()).save(still)
        source = ["-loop", "1", "-i", still, "-f", "lavfi", "-i", "sine=frequency=220"]
        what = "the astronaut photo as a still video (no ../shared data)"
    scale = f"scale=-2:{height},pad={width}:{height}:(ow-iw)/2:0,setsar=1,fps=30"
    ffmpeg(*source, "-t", f"{seconds:g}", "-vf", scale, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", target)  # fmt: skip
    return target, what


def speech_signal(seconds: float) -> tuple[np.ndarray, str]:
    """``seconds`` of 16 kHz speech: the shared RAVDESS clips one after the other (or, without ../shared, noise
    bursts), and where it comes from."""
    from backend.config import get_settings

    total = int(seconds * SAMPLE_RATE)
    files = sorted((get_settings().data_dir / "speech" / "ravdess").glob("Actor_*/*.flac"))
    if files:
        import soundfile as sf

        parts, length = [], 0
        for path in files:
            clip, _ = sf.read(str(path), dtype="float32")
            parts.append(clip)
            length += len(clip)
            if length >= total:
                break
        signal = np.concatenate(parts)
        while len(signal) < total:
            signal = np.concatenate([signal, signal])
        return signal[:total], f"{len(parts)} RAVDESS clips"
    rng = np.random.default_rng(0)
    envelope = np.repeat(rng.uniform(0.0, 1.0, total // 1600 + 1), 1600)[:total]
    return (0.1 * envelope * rng.standard_normal(total)).astype(np.float32), "noise bursts (no shared data)"


def looped(clip: Path, times: int) -> Path:
    """``clip`` repeated ``times`` times without re-encoding: a long file for the price of a copy."""
    target = clip.with_name(f"{clip.stem}-x{times}{clip.suffix}")
    ffmpeg("-stream_loop", str(times - 1), "-i", clip, "-c", "copy", target)
    return target


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB."""
    from memory import peak_rss_bytes  # tests/ is on the path from here on

    return round(peak_rss_bytes() / 2**20, 1)


def emit(figures: dict) -> None:
    """Print the machine-readable last line that collect.py reads."""
    print(RESULT_PREFIX + json.dumps(figures), flush=True)


def read_result(stdout: str) -> dict:
    """The figures a script emitted: its last line starting with RESULT_PREFIX."""
    for line in reversed(stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    raise ValueError("no result line in the output")


def in_child(script: str | Path, *args: str | Path) -> dict:
    """Run ``script`` with ``args`` in a fresh Python process and return the figures it emitted, so that its
    peak RSS and its model loading are its own."""
    done = subprocess.run([sys.executable, str(script), *map(str, args)], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{Path(script).name} {' '.join(map(str, args))} failed:\n{done.stderr[-3000:]}")
    return read_result(done.stdout)


def whole_process_seconds(*command: str | Path) -> float:
    """Wall-clock seconds of ``command`` from its start to its exit, as a user waits for it: interpreter start-up,
    imports and model loading included."""
    started = time.perf_counter()
    done = subprocess.run([*map(str, command)], capture_output=True, text=True, cwd=ROOT)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, command))} failed:\n{done.stderr[-3000:]}")
    return round(seconds, 2)


def analyze_command(clip: Path, output: Path, *options: str) -> list[str | Path]:
    """The CLI as a user runs it on ``clip`` (results into ``output``, no progress lines)."""
    return [sys.executable, "-m", "backend", "analyze", clip, "-o", output, "-q", *options]
