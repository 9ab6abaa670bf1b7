"""Regenerate the gallery of docs/cli.md (docs/img/) from a shared CREMA-D clip: the timeline graph, two frames of
the annotated video and page 1 of the PDF report. Needs ../shared/data and poppler's pdftoppm.

    .venv/bin/python scripts/make_gallery.py [--clip 1001_DFA_HAP_XX.mp4]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from backend import media  # noqa: E402
from backend.config import get_settings  # noqa: E402
from backend.options import AnalysisOptions  # noqa: E402
from backend.pipeline import analyse  # noqa: E402

GALLERY = ROOT / "docs" / "img"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", default="1001_DFA_HAP_XX.mp4")
    args = parser.parse_args()
    clip = get_settings().data_dir / "video" / args.clip
    out = Path(tempfile.mkdtemp(prefix="emoclassify-gallery-"))
    options = AnalysisOptions(make_graph=True, annotate_video=True, report=True, double_check=True, echo_mean=True)
    analyse(clip, options, output_dir=out)
    GALLERY.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / "timeline.png", GALLERY / "timeline.png")
    duration = media.probe(out / "annotated.mp4").duration
    wanted = {"annotated-1.png": duration / 4, "annotated-2.png": 3 * duration / 4}
    for frame in media.iter_frames(out / "annotated.mp4", sample_fps=None):
        for name, t in list(wanted.items()):
            if frame.t >= t:
                Image.fromarray(frame.image).save(GALLERY / name)
                del wanted[name]
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(out / "report.pdf"),
                    str(GALLERY / "report-page1")], check=True)  # fmt: skip
    shutil.rmtree(out)
    print(f"gallery written to {GALLERY}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
