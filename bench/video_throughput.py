"""Video throughput and memory by resolution and length: the real-time factor (processing time / media
duration) and the peak RSS of ``analyse`` at sample_fps=5 with the ``cnn`` model, faces and voice.

The clips are talking heads (benchlib.talking_head): 30 s at 480p, 720p and 1080p, and each looped to 120 s;
``--full`` adds 10 min at 720p. Each file is analysed in a fresh process, so each peak RSS is its own, and the
time includes loading the models (a few seconds, also shown apart). Targets on the 2-core CPU: real-time
factor <= 0.3 at 720p, peak RSS <= 1.5 GB and not growing with the length; the fusion of face and voice under 1 %
of the analysis time.

    .venv/bin/python bench/video_throughput.py [--quick | --full] [--keep DIR]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import emit, in_child, looped, peak_rss_mb, talking_head

MATRIX = {"quick": ([480], 3.0, []), "default": ([480, 720, 1080], 30.0, [4]), "full": ([480, 720, 1080], 30.0, [4])}
FULL_EXTRA = (720, 20)  # --full: the 720p clip looped 20 times (10 min)


def measure(path: Path) -> dict:
    """Analyse ``path`` in this process; called in a fresh child so that its peak RSS is its own."""
    from backend import media
    from backend.options import AnalysisOptions
    from backend.pipeline import analyse

    info = media.probe(path)
    started = time.perf_counter()
    result = analyse(path, AnalysisOptions(sample_fps=5.0, face_model="cnn"))
    elapsed = time.perf_counter() - started
    return {
        "resolution": f"{info.width}x{info.height}",
        "height": info.height,
        "media_seconds": round(info.duration, 1),
        "processing_seconds": round(elapsed, 2),
        "model_loading_seconds": result.timings.get("load_models", 0.0),
        "fuse_share": round(result.timings.get("fuse", 0.0) / elapsed, 5),  # face + voice fusion's part of the time
        "real_time_factor": round(elapsed / info.duration, 3),
        "frames_decoded_per_s": round(info.duration * (info.fps or 0) / elapsed, 1),
        "frames_analysed": result.frames_analysed,
        "faces_classified": len(result.faces),
        "frames_with_faces_share": round(result.summary["frames_with_faces"] / max(1, result.frames_analysed), 3),
        "peak_rss_mb": peak_rss_mb(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="one short 480p clip: a smoke run")
    mode.add_argument("--full", action="store_true", help="also 10 min at 720p")
    parser.add_argument("--keep", type=Path, help="folder to keep the generated clips in")
    args = parser.parse_args()
    if args.measure:
        emit(measure(args.measure))
        return 0
    name = "quick" if args.quick else "full" if args.full else "default"
    heights, seconds, loops = MATRIX[name]
    folder = args.keep or Path(tempfile.mkdtemp(prefix="emoclassify-bench-"))
    folder.mkdir(parents=True, exist_ok=True)
    runs, source = [], ""
    try:
        for height in heights:
            clip, source = talking_head(folder, height, seconds)
            files = [clip, *(looped(clip, times) for times in loops)]
            if args.full and height == FULL_EXTRA[0]:
                files.append(looped(clip, FULL_EXTRA[1]))
            runs += [in_child(__file__, "--measure", path) for path in files]
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"clips: {source}; sample_fps=5, face model cnn, faces + voice; time includes model loading")
    print(
        f"{'resolution':<11}{'media s':>8}{'proc s':>8}{'RTF':>7}{'load s':>7}{'dec fps':>9}{'faces':>7}{'RSS MB':>8}"
    )
    for r in runs:
        print(f"{r['resolution']:<11}{r['media_seconds']:>8}{r['processing_seconds']:>8}{r['real_time_factor']:>7}"
              f"{r['model_loading_seconds']:>7}{r['frames_decoded_per_s']:>9}{r['faces_classified']:>7}"
              f"{r['peak_rss_mb']:>8}")  # fmt: skip
    emit({"benchmark": "video_throughput", "mode": name, "source": source, "runs": runs})
    return 0


if __name__ == "__main__":
    sys.exit(main())
