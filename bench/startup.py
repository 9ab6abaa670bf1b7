"""Start-up: the CLI as a whole process, as a user runs it, on a 10 s 720p talking head with faces and voice
(the defaults: 5 frames a second, fusion on). Target (issue #21): <= 4 s. Also the floor under it: a bare
interpreter importing the libraries every such analysis runs on (decoding, images, onnxruntime, faster-whisper's
voice-activity model and log-mel). Until 2026-12-04 that floor was ``import torch, facenet_pytorch``, 3.5 s; no
default analysis imports torch now. Each figure is the median of three fresh processes; the breakdown is the
analysis's own timings
from the last run's result.json.

    .venv/bin/python bench/startup.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from benchlib import analyze_command, emit, talking_head, whole_process_seconds

RUNS = 3
SECONDS, HEIGHT = 10.0, 720
TARGET_SECONDS = 4.0
FLOOR_IMPORTS = "import av, cv2, onnxruntime, faster_whisper"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one run of a 1 s clip: a smoke run")
    args = parser.parse_args()
    seconds, runs = (1.0, 1) if args.quick else (SECONDS, RUNS)
    folder = Path(tempfile.mkdtemp(prefix="emoclassify-bench-"))
    try:
        clip, source = talking_head(folder, HEIGHT, seconds)
        output = folder / "out"
        cli = statistics.median(whole_process_seconds(*analyze_command(clip, output)) for _ in range(runs))
        timings = json.loads((output / "result.json").read_text())["timings"]
        floor = statistics.median(whole_process_seconds(sys.executable, "-c", FLOOR_IMPORTS) for _ in range(runs))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"{HEIGHT}p talking head ({source}), {seconds:g} s, faces and voice, CLI as a whole process")
    print(f"CLI: {cli} s (median of {runs}); `{FLOOR_IMPORTS}` alone: {floor} s")
    print("in the analysis: " + ", ".join(f"{k} {v} s" for k, v in timings.items()))
    emit({"benchmark": "startup", "source": source, "height": HEIGHT, "media_seconds": seconds, "runs": runs,
          "cli_seconds": cli, "floor_seconds": floor, "floor_imports": FLOOR_IMPORTS, "timings": timings,
          "target_seconds": TARGET_SECONDS})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
