"""``analyse(path, options, on_progress)``: the one place that orders the steps of an analysis.

file -> media (probe; sampled frames; audio chunks) -> faces (detect in batches, track, align, classify in
batches) and voice (windows, speech detection, batched classification) -> fusion (fused windows, double check,
echo mean) -> results (timeline, summary) -> render (JSON, CSV, graph). Artifacts are written to a hidden staging folder
and moved into place only when everything succeeded, so a failed analysis leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import mimetypes
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from . import media
from .config import Settings, get_settings
from .errors import MediaError
from .faces.align import aligned_crop
from .faces.classifiers import get_classifier
from .faces.detector import FaceBox, get_detector
from .faces.following import FollowingDetector
from .faces.tracking import FaceTracker
from .fusion.double_check import VoiceSegment, double_check
from .fusion.echo_mean import echo_mean
from .options import AnalysisOptions
from .results import FaceObservation, Result, VoiceRecord, smooth_faces

if TYPE_CHECKING:
    from .transcribe import Transcript

ProgressCallback = Callable[[str, float], None]
_T = TypeVar("_T")
FRAMES_PER_BATCH = 16
VOICE_BLOCK_SECONDS = 60.0  # audio is classified block by block, so memory does not grow with the file

RESULT_FILE = "result.json"
CSV_FILE = "timeline.csv"
GRAPH_FILE = "timeline.png"
GRAPH_SVG_FILE = "timeline.svg"
FACE_THUMBNAIL_FILE = "face-{face_id}.png"
ANNOTATED_FILE = "annotated.mp4"
REPORT_FILE = "report.{fmt}"
TRANSCRIPT_CSV_FILE = "transcript.csv"


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


@dataclass(frozen=True)
class _Plan:
    """Which modalities run for this file, decided once from the options and what the probe found."""

    faces: bool
    voice: bool
    warnings: tuple[str, ...]


def _plan(path: Path, info: media.MediaInfo, options: AnalysisOptions) -> _Plan:
    has_video = info.kind == "image" or info.has_video
    wants_faces = options.modalities in ("face", "both") or (options.modalities == "auto" and has_video)
    wants_voice = options.modalities in ("voice", "both") or (options.modalities == "auto" and info.has_audio)
    if wants_faces and not has_video:
        raise MediaError(f"{path.name} has no video stream, so there are no faces to analyse",
                         code="no_video_stream")  # fmt: skip
    if wants_voice and not info.has_audio:
        raise MediaError(f"{path.name} has no audio stream, so there is no voice to analyse",
                         code="no_audio_stream")  # fmt: skip
    warnings = []
    if options.double_check and not (wants_faces and wants_voice):
        warnings.append("double check skipped: it needs both a video and an audio track")
    return _Plan(wants_faces, wants_voice, tuple(warnings))


class _FaceStage:
    """Detect, track and classify the faces of batches of frames, keeping the observations."""

    def __init__(self, options: AnalysisOptions, settings: Settings):
        self.detector = get_detector(settings)
        self.classifier = get_classifier(options.face_model, settings)
        self._settings = settings
        self._tracker = FaceTracker()
        self._following = FollowingDetector(self.detector, options.face_redetect)
        self.observations: list[FaceObservation] = []
        self.frames_analysed = 0
        self.detect_seconds = 0.0
        self.classify_seconds = 0.0

    def models(self) -> list[dict]:
        return [m.to_dict() for m in (self.detector.info, self.classifier.info, *self.classifier.components)]

    def add(self, frames: list[media.Frame], fallback_whole_image: bool = False) -> None:
        started = time.perf_counter()
        detections = self._following.detect(frames)
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
        sizes = [min(face.width, face.height) for _, face, _ in pending]
        probabilities = self.classifier.predict(crops, sizes)
        self.classify_seconds += time.perf_counter() - started
        for (frame, face, face_id), probs, size in zip(pending, probabilities, sizes):
            small = size < self._settings.small_face_px
            self.observations.append(
                FaceObservation.build(
                    frame.t,
                    frame.index,
                    face_id,
                    face.as_list(),
                    face.score,
                    probs,
                    low_confidence=small or face.score is None,
                )  # fmt: skip
            )

    def run(self, path: Path, info: media.MediaInfo, options: AnalysisOptions, progress: ProgressCallback) -> None:
        if info.kind == "image":
            self.add([media.Frame(index=0, t=0.0, image=media.load_image(path))], fallback_whole_image=True)
            return
        frames = media.iter_frames(path, sample_fps=options.sample_fps, frame_step=options.frame_step,
                                   max_frames=options.max_frames)  # fmt: skip
        for batch in _batched(frames, FRAMES_PER_BATCH):
            self.add(batch)
            if info.duration > 0:
                progress("faces", min(70.0, 5 + 65 * batch[-1].t / info.duration))


class _VoiceStage:
    """Voice windows over the audio track, classified block by block (speech windows only)."""

    def __init__(self, options: AnalysisOptions, settings: Settings):
        from .voice.models import get_voice_model

        self.model = get_voice_model(options.voice_model, settings)
        self._window, self._hop = options.voice_window, options.voice_hop
        self.records: list[VoiceRecord] = []

    def run(self, path: Path, info: media.MediaInfo, progress: ProgressCallback) -> None:
        from .voice.analysis import analyse_signal

        rate = self.model.sample_rate
        block = max(self._hop, round(VOICE_BLOCK_SECONDS / self._hop) * self._hop)  # a whole number of hops
        lookahead = self._window - self._hop
        buffer, t0 = np.zeros(0, dtype=np.float32), 0.0
        for chunk in media.iter_audio(path, sample_rate=rate, chunk_seconds=block):
            buffer = np.concatenate([buffer, chunk.samples])
            while len(buffer) >= round((block + lookahead) * rate):
                windows = analyse_signal(buffer[: round((block + lookahead) * rate)], rate, self.model,
                                         self._window, self._hop, t0)  # fmt: skip
                self._keep(w for w in windows if w.start < t0 + block - 1e-6)
                buffer, t0 = buffer[round(block * rate) :], t0 + block
                if info.duration > 0:
                    progress("voice", min(95.0, 70 + 25 * t0 / info.duration))
        tail = len(buffer) / rate
        if tail > 0 and (t0 == 0.0 or tail > lookahead + 1e-6):  # else the previous window already covers it
            self._keep(analyse_signal(buffer, rate, self.model, self._window, self._hop, t0))

    def _keep(self, windows: Iterable) -> None:
        self.records += [VoiceRecord.build(w.start, w.end, w.probabilities, w.speech_share) for w in windows]

    def segments(self) -> list[VoiceSegment]:
        return [VoiceSegment(r.start, r.end, r.vector()) for r in self.records if r.speech]


def _transcribe(path: Path, info: media.MediaInfo, options: AnalysisOptions, settings: Settings,
                faces: _FaceStage | None, voice: _VoiceStage | None,
                progress: ProgressCallback) -> tuple[Transcript | None, dict | None]:  # fmt: skip
    """The transcript (segments with words; with transcribe_focus, the emotions at their times) and the ASR model's
    record; (None, None) when the file has no audio track."""
    from .transcribe import attach_emotions, get_transcriber, transcribe_stream

    if not info.has_audio:
        return None, None
    transcriber = get_transcriber(options.asr_model, settings)
    chunks = (chunk.samples for chunk in media.iter_audio(path, sample_rate=16_000, chunk_seconds=5.0))

    def heard_until(seconds: float) -> None:
        if info.duration > 0:
            progress("transcribing", min(97.0, 95 + 2 * seconds / info.duration))

    transcript = transcribe_stream(transcriber, chunks, options.language, heard_until)
    if options.transcribe_focus:
        attach_emotions(transcript.segments, voice.records if voice else [], faces.observations if faces else [],
                        options.sample_fps)  # fmt: skip
    return transcript, transcriber.info.to_dict()


def _fuse(info: media.MediaInfo, options: AnalysisOptions, settings: Settings, observations: list[FaceObservation],
          voice: _VoiceStage | None) -> tuple[list, dict]:  # fmt: skip
    """The fused windows and the combiner's record. Without the voice, the windows are cut as the voice's would
    be (a still image: its one instant), and every fused value is the face's own."""
    from .fusion.combiner import get_fusion_model
    from .fusion.fused_windows import fuse
    from .voice.windows import window_bounds

    model = get_fusion_model(settings)
    bounds = [] if voice else window_bounds(info.duration, options.voice_window, options.voice_hop) or [(0.0, 0.0)]
    return fuse(observations, voice.records if voice else [], model, bounds), model.info.to_dict()


def _started(build: Callable[[], _T]) -> Future[_T]:
    """``build()`` running in a daemon thread; its value or its exception comes out of ``result()``."""
    future: Future[_T] = Future()

    def run() -> None:
        try:
            future.set_result(build())
        except BaseException as exc:  # handed to whoever waits for the result
            future.set_exception(exc)

    threading.Thread(target=run, name="model-loader", daemon=True).start()
    return future


def _describe_artifact(path: Path) -> dict:
    """Name, media type, size and SHA-256 of a written file, as the result lists it."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return {"name": path.name, "media_type": media_type, "size": path.stat().st_size, "sha256": digest.hexdigest()}


def _write_artifacts(result: Result, options: AnalysisOptions, output_dir: Path, source: Path | None = None,
                     progress: ProgressCallback = _no_progress) -> list[Path]:  # fmt: skip
    from .render.csv_export import write_timeline_csv

    output_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=output_dir))
    try:
        annotate = options.annotate_video and source is not None and result.input.get("kind") == "video"
        if options.annotate_video and not annotate:
            result.warnings.append("annotated video skipped: it needs a video input")
        if options.csv:
            write_timeline_csv(result, staging / CSV_FILE)
        if result.transcript is not None:
            from .render.csv_export import write_transcript_csv

            write_transcript_csv(result, staging / TRANSCRIPT_CSV_FILE)
        if options.make_graph or options.report:
            from .render.graph import draw_timeline  # matplotlib: a second of start-up, paid only for a graph
        if options.make_graph:
            draw_timeline(result, staging / GRAPH_FILE, also=(staging / GRAPH_SVG_FILE,))
        if annotate:
            from .render.annotate import write_annotated_video

            progress("annotating", 97.0)
            write_annotated_video(source, result, staging / ANNOTATED_FILE,
                                  on_progress=lambda done: progress("annotating", 97 + 2 * done / 100))  # fmt: skip
        if options.report:
            from .render.report import write_report

            progress("report", 99.0)
            graph = staging / (GRAPH_FILE if options.make_graph else ".report-graph.png")
            if not options.make_graph:
                draw_timeline(result, graph)
            write_report(result, source, staging / REPORT_FILE.format(fmt=options.report_format), graph,
                         options.report_format)  # fmt: skip
            if not options.make_graph:
                graph.unlink()
        if options.face_thumbnails:
            from .render.report_model import face_thumbnails

            for thumbnail in face_thumbnails(result, source):
                (staging / FACE_THUMBNAIL_FILE.format(face_id=thumbnail.face_id)).write_bytes(thumbnail.png)
        result.artifacts = [_describe_artifact(item) for item in sorted(staging.iterdir())]
        result.write_json(staging / RESULT_FILE)  # last, so that it lists every other artifact
        written = []
        for item in sorted(staging.iterdir()):
            target = output_dir / item.name
            item.replace(target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


class _Timer:
    """Seconds per named step, for the result's ``timings``."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - started, 3)


def analyse(path: str | Path, options: AnalysisOptions | None = None, on_progress: ProgressCallback | None = None,
            output_dir: Path | None = None, settings: Settings | None = None,
            input_name: str | None = None) -> Result:  # fmt: skip
    """Analyse one media file; with ``output_dir``, also write result.json (+ CSV and graph when asked).
    ``input_name`` is what the result calls the file (default: ``path``): the API gives the uploaded file's name,
    so a served result does not tell the server's own paths."""
    options = options or AnalysisOptions()
    settings = settings or get_settings()
    progress = on_progress or _no_progress
    path = Path(path)
    timer = _Timer()

    progress("probing", 0.0)
    with timer("probe"):
        info = media.probe(path)
    plan = _plan(path, info, options)

    progress("loading models", 2.0)
    with timer("load_models"):
        faces = _FaceStage(options, settings) if plan.faces else None
        # With faces to analyse, the voice model (the speech encoder's weights and the network's graph) loads in a
        # thread while they are analysed. It starts once the face models are loaded: two threads importing torch or
        # its submodules at once break their imports.
        voice_loading = _started(lambda: _VoiceStage(options, settings)) if plan.voice and plan.faces else None
        voice = _VoiceStage(options, settings) if plan.voice and voice_loading is None else None

    models: list[dict] = []
    warnings = list(plan.warnings)
    if faces is not None:
        progress("faces", 5.0)
        with timer("faces"):
            faces.run(path, info, options, progress)
        timer.timings |= {"face_detection": round(faces.detect_seconds, 3),
                          "face_classification": round(faces.classify_seconds, 3)}  # fmt: skip
        models += faces.models()
        searchable = info.kind != "video" or faces.detector.can_search(info.height or 1, info.width or 1)
        if not searchable:
            warnings.append(f"the frames are {info.width}x{info.height}: too small for face detection, so no face "
                            "was looked for")  # fmt: skip
        elif faces.frames_analysed and not faces.observations:
            warnings.append("no face was found in any analysed frame")
        if options.max_frames is not None and faces.frames_analysed >= options.max_frames and info.kind == "video":
            warnings.append(f"faces were analysed in the first {faces.frames_analysed} sampled frames only "
                            f"(max_frames): later frames were not looked at")  # fmt: skip
    if voice_loading is not None:
        with timer("load_models"):
            voice = voice_loading.result()  # its errors (model_unavailable) surface here
    if voice is not None:
        progress("voice", 70.0)
        with timer("voice"):
            voice.run(path, info, progress)
        models += [m.to_dict() for m in (voice.model.info, *voice.model.components)]
        if voice.records and not any(r.speech for r in voice.records):
            warnings.append("no speech was found in the audio")

    transcript = None
    if options.transcribe or options.transcribe_focus:
        progress("transcribing", 95.0)
        with timer("transcribe"):
            transcript, asr_info = _transcribe(path, info, options, settings, faces, voice, progress)
        if asr_info is None:
            warnings.append("transcript skipped: the file has no audio track")
        else:
            models.append(asr_info)
            if options.transcribe_focus and voice is None:
                warnings.append("transcribe_focus: the voice was not analysed, so words carry no voice emotion")

    observations = faces.observations if faces else []
    smooth_faces(observations, options.face_smoothing)
    segments = voice.segments() if voice else []
    checked = options.double_check and faces is not None and voice is not None
    fused = None
    if options.fuse or (options.fuse is None and faces and voice):
        with timer("fuse"):
            fused, fusion_info = _fuse(info, options, settings, observations, voice)
        models.append(fusion_info)
    result = Result(
        input=info.to_dict() | ({"path": input_name} if input_name else {}),
        options=options.to_dict(),
        models=models,
        faces=observations,
        frames_analysed=faces.frames_analysed if faces else 0,
        voice=voice.records if voice else [],
        double_check=double_check(observations, segments, fused or ()) if checked else None,
        echo_mean=echo_mean(observations, segments, fused=fused) if options.echo_mean else None,
        fused=fused,
        transcript=transcript.segments if transcript else None,
        transcript_language=transcript.language_record() if transcript else None,
        timings=timer.timings,
        warnings=warnings,
    ).finalise()
    if output_dir is not None:
        progress("writing", 97.0)
        _write_artifacts(result, options, Path(output_dir), source=path, progress=progress)
    progress("done", 100.0)
    return result
