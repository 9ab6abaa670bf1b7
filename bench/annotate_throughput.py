"""Cost of the annotated video against decoding + encoding the same video without drawing (target: at most 2x).

    python bench/annotate_throughput.py [--quick] [--seconds 14] [--repeat 2] [--clip FILE]

The clip is ~14 s of 640x360 video with sound: the shared CREMA-D clips joined and scaled when they are present
(``<data_dir>/video``), else a generated test pattern with a pasted face. The faces come from a real analysis
(5 frames per second, the default). Prints seconds and frames per second of: decoding only, decoding + encoding
(no drawing), annotating (decode + draw + encode), and the ratio annotate / (decode + encode).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from benchlib import emit

from backend import media
from backend.config import get_settings
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from backend.render.annotate import encode_video, write_annotated_video

SIZE = (640, 360)


def make_clip(directory: Path, seconds: float) -> tuple[Path, str]:
    from media_factory import run_ffmpeg, video_from_image

    width, height = SIZE
    clips = sorted((get_settings().data_dir / "video").glob("*_XX.mp4"))
    target = directory / "bench.mp4"
    if clips:
        count = max(1, min(len(clips), round(seconds / 2.2)))
        inputs = [arg for clip in clips[:count] for arg in ("-i", str(clip))]
        scale = f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:(oh-ih)/2"
        parts = "".join(f"[{i}:v]{scale},setsar=1,fps=30000/1001[v{i}];" for i in range(count))
        joined = "".join(f"[v{i}][{i}:a]" for i in range(count))
        graph = f"{parts}{joined}concat=n={count}:v=1:a=1[v][a]"
        run_ffmpeg(*inputs, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset",
                   "veryfast", "-pix_fmt", "yuv420p", "-c:a", "aac", target)  # fmt: skip
        return target, f"{count} CREMA-D clips joined"
    from skimage import data

    face = video_from_image(directory, data.astronaut(), seconds=seconds, fps=25, name="face.mp4")
    run_ffmpeg("-i", face, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", str(seconds),
               "-vf", f"scale={width}:{height}:force_original_aspect_ratio=decrease,pad={width}:{height}:(ow-iw)/2:0",
               "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
               "-c:a", "aac", target)  # fmt: skip
    return target, "generated (astronaut panning, 440 Hz tone)"


def timed(function, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=14.0)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each step; the fastest counts")
    parser.add_argument("--clip", type=Path, help="benchmark this file instead")
    parser.add_argument("--quick", action="store_true", help="3 s, one run of each step: a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.repeat = 3.0, 1
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        clip, what = (args.clip, "given") if args.clip else make_clip(work, args.seconds)
        info = media.probe(clip)
        frames = sum(1 for _ in media.iter_frames(clip, sample_fps=None))
        result = analyse(clip, AnalysisOptions(sample_fps=5))
        print(f"clip: {what}; {info.width}x{info.height}, {info.fps:.2f} fps, {info.duration:.1f} s, {frames} frames, "
              f"{len(result.faces)} face observations, {len(result.voice)} voice windows")  # fmt: skip
        decode = timed(lambda: sum(1 for _ in media.iter_frames(clip, sample_fps=None)), args.repeat)
        plain = timed(lambda: encode_video(clip, work / "plain.mp4"), args.repeat)
        annotate = timed(lambda: write_annotated_video(clip, result, work / "annotated.mp4"), args.repeat)
        steps = {"decode": decode, "decode_encode": plain, "annotate": annotate}
        for name, seconds in steps.items():
            speed = f"{frames / seconds:7.1f} frames/s  {info.duration / seconds:5.2f}x realtime"
            print(f"{name:16s} {seconds:7.2f} s  {speed}")
        print(f"annotate / (decode + encode) = {annotate / plain:.2f}x  (target <= 2x)")
    emit({"benchmark": "annotate_throughput", "clip": what, "size": f"{info.width}x{info.height}",
          "media_seconds": round(info.duration, 1), "frames": frames,
          "seconds": {name: round(value, 2) for name, value in steps.items()},
          "frames_per_s": {name: round(frames / value, 1) for name, value in steps.items()},
          "ratio": round(annotate / plain, 2)})  # fmt: skip


if __name__ == "__main__":
    main()
