"""Video throughput and memory of the face pipeline at sample_fps=5 with the `cnn` model.

Makes a 60 s 720p clip from the shared CREMA-D clips (or, without ../shared, from scikit-image's astronaut),
and a 10 min clip by repeating it; analyses each in a fresh process and prints frames/s decoded, faces/s
classified, the real-time factor (processing time / media duration) and the peak RSS.
Targets on the 2-core CPU: real-time factor <= 0.3, peak RSS <= 1.5 GB and the same for both lengths.

    .venv/bin/python bench/video_throughput.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from backend.config import get_settings  # noqa: E402

FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
SCALE_720P = "scale=-2:720,pad=1280:720:(ow-iw)/2:0,setsar=1,fps=30"


def _ffmpeg(*args: str) -> None:
    subprocess.run([FFMPEG, "-y", "-loglevel", "error", *args], check=True)


def make_minute_clip(folder: Path) -> Path:
    """60 s of 1280x720 30 fps H.264 + AAC from the CREMA-D clips, looped."""
    target = folder / "clip-60s-720p.mp4"
    clips = sorted((get_settings().data_dir / "video").glob("1001_DFA_*_XX.mp4"))
    if clips:
        listing = folder / "clips.txt"
        listing.write_text("".join(f"file '{c}'\n" for c in clips))
        source = ["-stream_loop", "-1", "-f", "concat", "-safe", "0", "-i", str(listing)]
    else:
        from PIL import Image
        from skimage import data

        still = folder / "astronaut.png"
        Image.fromarray(data.astronaut()).save(still)
        source = ["-loop", "1", "-i", str(still), "-f", "lavfi", "-i", "sine=frequency=220"]
        print("shared clips not found: using the astronaut photo as a still video", file=sys.stderr)
    _ffmpeg(*source, "-t", "60", "-vf", SCALE_720P, "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
            "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k", str(target))  # fmt: skip
    return target


def make_long_clip(minute: Path, minutes: int) -> Path:
    target = minute.with_name(f"clip-{minutes}min-720p.mp4")
    _ffmpeg("-stream_loop", str(minutes - 1), "-i", str(minute), "-c", "copy", str(target))
    return target


def measure(path: Path) -> dict:
    """Analyse ``path`` in this process; called in a fresh child so that its peak RSS is its own."""
    from backend import media
    from backend.options import AnalysisOptions
    from backend.pipeline import analyse

    info = media.probe(path)
    started = time.perf_counter()
    result = analyse(path, AnalysisOptions(sample_fps=5.0, face_model="cnn"))
    elapsed = time.perf_counter() - started
    decoded = round(info.duration * (info.fps or 0))
    return {
        "file": path.name,
        "media_seconds": round(info.duration, 1),
        "processing_seconds": round(elapsed, 1),
        "real_time_factor": round(elapsed / info.duration, 3),
        "frames_decoded_per_s": round(decoded / elapsed, 1),
        "frames_analysed": result.frames_analysed,
        "faces_classified_per_s": round(len(result.faces) / max(result.timings["face_classification"], 1e-9), 1),
        "faces_found_share": round(result.summary["frames_with_faces"] / max(1, result.frames_analysed), 3),
        "timings": result.timings,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def run_child(path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--measure", str(path)], check=True, capture_output=True,
                         text=True)  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--keep", type=Path, help="folder to keep the generated clips in")
    parser.add_argument("--long-minutes", type=int, default=10)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure)))
        return 0
    folder = args.keep or Path(tempfile.mkdtemp(prefix="emoclassify-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    minute = make_minute_clip(folder)
    runs = [run_child(minute), run_child(make_long_clip(minute, args.long_minutes))]
    print(f"{'file':<24}{'media s':>9}{'proc s':>9}{'RTF':>7}{'dec fps':>9}{'faces/s':>9}{'faces%':>8}{'RSS MB':>9}")
    for r in runs:
        print(f"{r['file']:<24}{r['media_seconds']:>9}{r['processing_seconds']:>9}{r['real_time_factor']:>7}"
              f"{r['frames_decoded_per_s']:>9}{r['faces_classified_per_s']:>9}{r['faces_found_share']:>8.0%}"
              f"{r['peak_rss_mb']:>9}")  # fmt: skip
    print(json.dumps({"video_throughput": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
