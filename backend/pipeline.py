"""``analyse(path, options, on_progress)``: the one place that orders the steps of an analysis.

file -> media (probe, sampled frames) -> faces (detect in batches, track, align, classify in batches)
-> results (timeline, summary) -> render (JSON, CSV, graph). Artifacts are written to a hidden staging folder
and moved into place only when everything succeeded, so a failed analysis leaves nothing half-written.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import media
from .config import Settings, get_settings
from .errors import MediaError
from .faces.align import aligned_crop
from .faces.classifiers import FaceClassifier, get_classifier
from .faces.detector import FaceBox, FaceDetector, get_detector
from .faces.tracking import FaceTracker
from .options import AnalysisOptions
from .results import FaceObservation, Result

ProgressCallback = Callable[[str, float], None]
FRAMES_PER_BATCH = 16

RESULT_FILE = "result.json"
CSV_FILE = "timeline.csv"
GRAPH_FILE = "timeline.png"


@dataclass
class _Models:
    detector: FaceDetector
    classifier: FaceClassifier


def _no_progress(stage: str, percent: float) -> None:
    """Default progress sink."""


def _batched(frames: Iterable[media.Frame], size: int) -> Iterator[list[media.Frame]]:
    batch: list[media.Frame] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _FaceStage:
    """Detect, track and classify the faces of batches of frames, keeping the observations."""

    def __init__(self, models: _Models, settings: Settings):
        self._models = models
        self._settings = settings
        self._tracker = FaceTracker()
        self.observations: list[FaceObservation] = []
        self.frames_analysed = 0
        self.detect_seconds = 0.0
        self.classify_seconds = 0.0

    def add(self, frames: list[media.Frame], fallback_whole_image: bool = False) -> None:
        started = time.perf_counter()
        detections = self._models.detector.detect([f.image for f in frames])
        self.detect_seconds += time.perf_counter() - started
        pending: list[tuple[media.Frame, FaceBox, int]] = []
        crops: list[np.ndarray] = []
        for frame, faces in zip(frames, detections):
            if not faces and fallback_whole_image:
                height, width = frame.image.shape[:2]
                faces = [FaceBox(0.0, 0.0, float(width), float(height), None)]
            for face, face_id in zip(faces, self._tracker.assign(frame.t, faces)):
                pending.append((frame, face, face_id))
                crops.append(aligned_crop(frame.image, face))
        self.frames_analysed += len(frames)
        if not crops:
            return
        started = time.perf_counter()
        probabilities = self._models.classifier.predict(crops)
        self.classify_seconds += time.perf_counter() - started
        for (frame, face, face_id), probs in zip(pending, probabilities):
            small = min(face.width, face.height) < self._settings.small_face_px
            self.observations.append(
                FaceObservation.build(frame.t, frame.index, face_id, face.as_list(), face.score, probs,
                                      low_confidence=small or face.score is None)  # fmt: skip
            )


def _analyse_faces(path: Path, info: media.MediaInfo, options: AnalysisOptions, stage: _FaceStage,
                   progress: ProgressCallback) -> None:  # fmt: skip
    if info.kind == "image":
        stage.add([media.Frame(index=0, t=0.0, image=media.load_image(path))], fallback_whole_image=True)
        return
    if not info.has_video:
        raise MediaError(
            f"{path.name} has no video stream, so there are no faces to analyse "
            "(voice analysis of audio files is not available in this version)",
            code="no_video_stream",
        )
    frames = media.iter_frames(path, sample_fps=options.sample_fps, frame_step=options.frame_step,
                               max_frames=options.max_frames)  # fmt: skip
    for batch in _batched(frames, FRAMES_PER_BATCH):
        stage.add(batch)
        if info.duration > 0:
            progress("faces", min(95.0, 5 + 90 * batch[-1].t / info.duration))


def _write_artifacts(result: Result, options: AnalysisOptions, output_dir: Path) -> list[Path]:
    from .render.csv_export import write_timeline_csv
    from .render.graph import draw_timeline

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=output_dir))
    try:
        result.write_json(staging / RESULT_FILE)
        if options.csv:
            write_timeline_csv(result, staging / CSV_FILE)
        if options.make_graph:
            draw_timeline(result, staging / GRAPH_FILE)
        written = []
        for item in sorted(staging.iterdir()):
            target = output_dir / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def analyse(path: str | Path, options: AnalysisOptions | None = None, on_progress: ProgressCallback | None = None,
            output_dir: Path | None = None, settings: Settings | None = None) -> Result:  # fmt: skip
    """Analyse one media file; with ``output_dir``, also write result.json (+ CSV and graph when asked)."""
    options = options or AnalysisOptions()
    settings = settings or get_settings()
    progress = on_progress or _no_progress
    path = Path(path)
    timings: dict[str, float] = {}

    progress("probing", 0.0)
    started = time.perf_counter()
    info = media.probe(path)
    timings["probe"] = time.perf_counter() - started

    progress("loading models", 2.0)
    started = time.perf_counter()
    models = _Models(get_detector(settings), get_classifier(options.face_model, settings))
    timings["load_models"] = time.perf_counter() - started

    progress("faces", 5.0)
    stage = _FaceStage(models, settings)
    started = time.perf_counter()
    _analyse_faces(path, info, options, stage, progress)
    timings["faces_total"] = time.perf_counter() - started
    timings["face_detection"] = stage.detect_seconds
    timings["face_classification"] = stage.classify_seconds

    warnings = []
    if stage.frames_analysed and not stage.observations:
        warnings.append("no face was found in any analysed frame")
    result = Result(
        input=info.to_dict(),
        options=options.to_dict(),
        models=[
            {"role": "face_detector", "name": models.detector.name, "version": models.detector.version,
             "source": "facenet-pytorch wheel", "sha256": None},  # fmt: skip
            models.classifier.info.to_dict(),
        ],
        faces=stage.observations,
        frames_analysed=stage.frames_analysed,
        warnings=warnings,
        timings={name: round(seconds, 3) for name, seconds in timings.items()},
    ).finalise()
    if output_dir is not None:
        progress("writing", 97.0)
        _write_artifacts(result, options, Path(output_dir))
    progress("done", 100.0)
    return result
