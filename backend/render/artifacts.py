"""The files of an analysis beside ``result.json``: what the options ask for, written to a hidden staging folder and
moved into place only when everything succeeded, so a failed analysis leaves nothing half-written."""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from backend.options import AnalysisOptions
from backend.results import Result

from .thumbnails import FaceThumbnails

RESULT_FILE = "result.json"
CSV_FILE = "timeline.csv"
GRAPH_FILE = "timeline.png"
GRAPH_SVG_FILE = "timeline.svg"
FACE_THUMBNAIL_FILE = "face-{face_id}.png"
ANNOTATED_FILE = "annotated.mp4"
REPORT_FILE = "report.{fmt}"
TRANSCRIPT_CSV_FILE = "transcript.csv"


def describe_artifact(path: Path) -> dict:
    """Name, media type, size and SHA-256 of a written file, as the result lists it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"name": path.name, "media_type": media_type, "size": path.stat().st_size, "sha256": digest.hexdigest()}


def write_artifacts(result: Result, options: AnalysisOptions, output_dir: Path, source: Path | None,
                    progress: Callable[[str, float], None],
                    thumbnails: FaceThumbnails | None) -> list[Path]:  # fmt: skip
    """Every file the options ask for, result.json last (it lists the others), written to a hidden staging folder
    and moved into ``output_dir`` only when all of them succeeded. Returns the paths written."""
    from .csv_export import write_timeline_csv

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=output_dir))
    try:
        annotate = options.annotate_video and source is not None and result.input.get("kind") == "video"
        if options.annotate_video and not annotate:
            result.warnings.append("annotated video skipped: it needs a video input")
        if options.csv:
            write_timeline_csv(result, staging / CSV_FILE)
        if result.transcript is not None:
            from .csv_export import write_transcript_csv

            write_transcript_csv(result, staging / TRANSCRIPT_CSV_FILE)
        if options.make_graph or options.report:
            from .graph import draw_timeline  # matplotlib: a second of start-up, paid only for a graph
        if options.make_graph:
            draw_timeline(result, staging / GRAPH_FILE, also=(staging / GRAPH_SVG_FILE,))
        if annotate:
            from .annotate import write_annotated_video

            progress("annotating", 97.0)
            write_annotated_video(source, result, staging / ANNOTATED_FILE,
                                  on_progress=lambda done: progress("annotating", 97 + 2 * done / 100))  # fmt: skip
        if options.report:
            from .report import write_report

            progress("report", 99.0)
            graph = staging / (GRAPH_FILE if options.make_graph else ".report-graph.png")
            if not options.make_graph:
                draw_timeline(result, graph)
            write_report(result, source, staging / REPORT_FILE.format(fmt=options.report_format), graph,
                         options.report_format, thumbnails)  # fmt: skip
            if not options.make_graph:
                graph.unlink()
        if options.face_thumbnails:
            from .report_model import face_thumbnails

            for thumbnail in face_thumbnails(result, thumbnails):
                (staging / FACE_THUMBNAIL_FILE.format(face_id=thumbnail.face_id)).write_bytes(thumbnail.png)
        result.artifacts = [describe_artifact(item) for item in sorted(staging.iterdir())]
        result.write_json(staging / RESULT_FILE)  # last, so that it lists every other artifact
        written = []
        for item in sorted(staging.iterdir()):
            target = output_dir / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)
