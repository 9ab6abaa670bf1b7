"""Every option on: the analysis of a 30 s 720p talking head with faces, voice, transcript (with its focus), fusion,
double check, echo mean, graph, CSV, face thumbnails, PDF report and annotated video, as a job runs it: each run in
a fresh process, model loading and artifacts included. Figures: the time, the peak RSS, and how many times libav
opened the file (issue #34, decode once: one open for the probe and the pictures, one for the sound, and the
annotated video's own). Targets: no slower and no more memory than before that change: run ``--against`` a checkout
of the code before it (e.g. a worktree at 1e1e0c7), on the same machine in the same run, the runs alternating.

    .venv/bin/python bench/every_option.py [--quick] [--runs N] [--against CHECKOUT]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import ROOT, emit, in_child, peak_rss_mb, talking_head

SECONDS, HEIGHT, RUNS = 30.0, 720, 2
OPTIONS = {"make_graph": True, "csv": True, "echo_mean": True, "double_check": True, "face_thumbnails": True,
           "report": True, "annotate_video": True, "transcribe": True, "transcribe_focus": True}  # fmt: skip


def measure(path: Path, root: Path) -> dict:
    """Analyse ``path`` with every option, with the ``backend`` of checkout ``root``, in this fresh process."""
    sys.path.insert(0, str(root))
    import av
    from media_opens import counting  # tests/ is on the path from here on

    opens: list[str] = []
    av.open = counting(av.open, opens)
    from backend.options import AnalysisOptions
    from backend.pipeline import analyse

    output = Path(tempfile.mkdtemp(prefix="emoclassify-every-option-"))
    try:
        started = time.perf_counter()
        result = analyse(path, AnalysisOptions(**OPTIONS), output_dir=output)
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(output, ignore_errors=True)
    import backend

    return {"checkout": str(Path(backend.__file__).resolve().parents[1]), "seconds": round(seconds, 2),
            "peak_rss_mb": peak_rss_mb(), "file_opens": opens.count(str(path)), "faces": len(result.faces),
            "voice_windows": len(result.voice), "timings": result.timings}  # fmt: skip


def medians(runs: list[dict], checkout: Path) -> dict:
    """The median time and peak RSS of one checkout's runs, and the most file opens of any."""
    own = [run for run in runs if Path(run["checkout"]) == checkout]
    return {"seconds": round(statistics.median(run["seconds"] for run in own), 2),
            "peak_rss_mb": round(statistics.median(run["peak_rss_mb"] for run in own), 1),
            "file_opens": max(run["file_opens"] for run in own)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="one run of a 2 s 360p clip: a smoke run")
    parser.add_argument("--runs", type=int, default=RUNS, help=f"runs of each checkout (default {RUNS})")
    parser.add_argument("--against", type=Path, help="another checkout (the code before a change), run in turn")
    args = parser.parse_args()
    if args.measure:
        emit(measure(args.measure, args.root))
        return 0
    seconds, height, runs = (2.0, 360, 1) if args.quick else (SECONDS, HEIGHT, args.runs)
    checkouts = [ROOT] + ([args.against.resolve()] if args.against else [])
    folder = Path(tempfile.mkdtemp(prefix="emoclassify-bench-"))
    try:
        clip, source = talking_head(folder, height, seconds)
        measured = [in_child(__file__, "--measure", clip, "--root", root) for _ in range(runs) for root in checkouts]
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{height}p talking head ({source}), {seconds:g} s, every option on; fresh process per run")
    print(f"{'checkout':<28}{'s':>8}{'peak RSS MB':>13}{'file opens':>12}")
    for run in measured:
        print(f"{Path(run['checkout']).name:<28}{run['seconds']:>8}{run['peak_rss_mb']:>13}{run['file_opens']:>12}")
    emit({"benchmark": "every_option", "source": source, "height": height, "media_seconds": seconds,
          "options": sorted(OPTIONS), "runs": measured, **medians(measured, ROOT),
          "against": medians(measured, checkouts[1]) if args.against else None})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
