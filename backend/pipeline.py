"""``analyse(path, options, on_progress)``: the one place that orders the steps of an analysis.

file -> media (the probe and the sampled frames from one open, the sound from a second) -> faces (detect in batches,
track, align, classify in batches) and, from one decode of the sound, voice (windows, speech detection, batched
classification), transcript and, with ``speakers`` other than 1, diarization -> people (whose voice is whose face,
``backend.people``) -> fusion (fused windows, double check, echo mean) -> results (timeline, summary) -> render
(``backend.render.artifacts``: JSON, CSV, graph, report, annotated video, the only stage that reads the file again).
"""

from __future__ import annotations

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
from .faces.mouth import MouthMotion, TrackedFace
from .faces.tracking import FaceTracker
from .fusion.double_check import double_check, voice_segments
from .fusion.echo_mean import echo_mean
from .options import AnalysisOptions
from .people.assemble import Voices, assemble_people, label_speakers, who_speaks
from .render.artifacts import write_artifacts
from .render.thumbnails import FaceThumbnails
from .results import FaceObservation, Result, VoiceRecord, smooth_faces

if TYPE_CHECKING:
    from .speakers import DiarizationStream
    from .transcribe import Transcript, TranscriptStream

ProgressCallback = Callable[[str, float], None]
_T = TypeVar("_T")
FRAMES_PER_BATCH = 16
VOICE_BLOCK_SECONDS = 60.0  # audio is classified block by block, so memory does not grow with the file
SOUND_RATE = 16_000  # Hz: the one decode of the sound, at the rate of the voice models and the transcriber
SOUND_CHUNK_SECONDS = 5.0  # the sound reaches the voice analysis and the transcript in pieces this long


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
        # The report's key frames and the face thumbnails are cut from the frames of this pass, never decoded again.
        self.thumbnails = FaceThumbnails() if options.report or options.face_thumbnails else None
        self.mouths = MouthMotion() if options.speakers != 1 else None  # which face speaks, when voices are told apart
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
            face_ids = self._tracker.assign(frame.t, faces)
            if self.mouths is not None:
                self.mouths.add(frame.t, frame.image, [TrackedFace(i, face) for i, face in zip(face_ids, faces)])
            for face, face_id in zip(faces, face_ids):
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
            observation = FaceObservation.build(frame.t, frame.index, face_id, face.as_list(), face.score, probs,
                                                low_confidence=small or face.score is None)  # fmt: skip
            self.observations.append(observation)
            if self.thumbnails is not None:
                self.thumbnails.offer(observation, frame.image)

    def run(self, source: media.MediaSource, options: AnalysisOptions, progress: ProgressCallback) -> None:
        info = source.info
        if info.kind == "image":
            self.add(list(source.frames()), fallback_whole_image=True)
            return
        frames = source.frames(sample_fps=options.sample_fps, frame_step=options.frame_step,
                               max_frames=options.max_frames)  # fmt: skip
        for batch in _batched(frames, FRAMES_PER_BATCH):
            self.add(batch)
            if info.duration > 0:
                progress("faces", min(70.0, 5 + 65 * batch[-1].t / info.duration))


class _VoiceStage:
    """Voice windows over the audio track, classified block by block (speech windows only) as the sound arrives."""

    def __init__(self, options: AnalysisOptions, settings: Settings):
        from .voice.models import get_voice_model

        self.model = get_voice_model(options.voice_model, settings)
        self._window, self._hop = options.voice_window, options.voice_hop
        self._block = max(self._hop, round(VOICE_BLOCK_SECONDS / self._hop) * self._hop)  # a whole number of hops
        self._buffer, self._t0 = np.zeros(0, dtype=np.float32), 0.0
        self.records: list[VoiceRecord] = []

    def feed(self, samples: np.ndarray) -> None:
        """Take SOUND_RATE samples; classify each whole block once the look-ahead its last windows need is in."""
        from .voice.analysis import analyse_signal

        block, lookahead = self._block, self._window - self._hop
        self._buffer = np.concatenate([self._buffer, samples])
        while len(self._buffer) >= round((block + lookahead) * SOUND_RATE):
            windows = analyse_signal(self._buffer[: round((block + lookahead) * SOUND_RATE)], SOUND_RATE, self.model,
                                     self._window, self._hop, self._t0)  # fmt: skip
            self._keep(w for w in windows if w.start < self._t0 + block - 1e-6)
            self._buffer, self._t0 = self._buffer[round(block * SOUND_RATE) :], self._t0 + block

    def finish(self) -> None:
        from .voice.analysis import analyse_signal

        tail = len(self._buffer) / SOUND_RATE
        if tail > 0 and (self._t0 == 0.0 or tail > self._window - self._hop + 1e-6):  # else already covered
            self._keep(analyse_signal(self._buffer, SOUND_RATE, self.model, self._window, self._hop, self._t0))

    def _keep(self, windows: Iterable) -> None:
        self.records += [VoiceRecord.build(w.start, w.end, w.probabilities, w.speech_share) for w in windows]


def _transcript(listener: TranscriptStream, options: AnalysisOptions, faces: _FaceStage | None,
                voice: _VoiceStage | None) -> Transcript:  # fmt: skip
    """The transcript once the sound ended (segments with words; with transcribe_focus, the emotions at their
    times)."""
    from .transcribe import attach_emotions

    transcript = listener.finish()
    if options.transcribe_focus:
        attach_emotions(transcript.segments, voice.records if voice else [], faces.observations if faces else [],
                        options.sample_fps)  # fmt: skip
    return transcript


def _listen(source: media.MediaSource, voice: _VoiceStage | None, transcript: TranscriptStream | None,
            speakers: DiarizationStream | None, progress: ProgressCallback, timer: _Timer) -> None:  # fmt: skip
    """The sound decoded once, chunk by chunk, and each chunk handed to the voice analysis, the transcript and the
    diarization."""
    duration = source.info.duration
    stage, end = ("voice" if voice else "transcribing"), (97.0 if transcript else 95.0)
    listeners = [(name, listener) for name, listener in (("voice", voice), ("transcribe", transcript),
                                                         ("speakers", speakers)) if listener]  # fmt: skip
    for chunk in source.sound(SOUND_RATE, SOUND_CHUNK_SECONDS):
        for name, listener in listeners:
            with timer(name):
                listener.feed(chunk.samples)
        if duration > 0:
            progress(stage, min(end, 70 + (end - 70) * (chunk.t + len(chunk.samples) / SOUND_RATE) / duration))
    if voice is not None:
        with timer("voice"):
            voice.finish()


def _fuse(info: media.MediaInfo, options: AnalysisOptions, settings: Settings, observations: list[FaceObservation],
          voice: _VoiceStage | None, voices: Voices) -> tuple[list, dict]:  # fmt: skip
    """The fused windows and the combiner's record. Without the voice, the windows are cut as the voice's would
    be (a still image: its one instant), and every fused value is the face's own."""
    from .fusion.combiner import get_fusion_model
    from .fusion.fused_windows import fuse
    from .voice.windows import window_bounds

    model = get_fusion_model(settings)
    bounds = [] if voice else window_bounds(info.duration, options.voice_window, options.voice_hop) or [(0.0, 0.0)]
    return fuse(observations, voice.records if voice else [], model, bounds, voices.face_of), model.info.to_dict()


def _diarizer(options: AnalysisOptions) -> DiarizationStream | None:
    """The diarization of the sound where the voices are to be told apart (``speakers`` other than 1)."""
    from .speakers import DiarizationStream

    if options.speakers == 1:
        return None
    return DiarizationStream(None if options.speakers == "auto" else int(options.speakers))


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
        source = media.MediaSource(path)
    with source:
        result, thumbnails = _analysed(source, options, settings, progress, timer, input_name)
    if output_dir is not None:
        progress("writing", 97.0)
        write_artifacts(result, options, Path(output_dir), source=path, progress=progress, thumbnails=thumbnails)
    progress("done", 100.0)
    return result


def _analysed(source: media.MediaSource, options: AnalysisOptions, settings: Settings, progress: ProgressCallback,
              timer: _Timer, input_name: str | None) -> tuple[Result, FaceThumbnails | None]:  # fmt: skip
    """The result of the analysis, read from ``source``'s pictures and sound once each, and the face thumbnails
    kept on the way for the artifacts."""
    info = source.info
    plan = _plan(source.path, info, options)

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
            faces.run(source, options, progress)
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
    diarizer = _diarizer(options) if voice is not None else None
    models += diarizer.models if diarizer else []
    transcribing = options.transcribe or options.transcribe_focus
    listener = None
    if transcribing and info.has_audio:
        from .transcribe import TranscriptStream, get_transcriber

        with timer("transcribe"):
            listener = TranscriptStream(get_transcriber(options.asr_model, settings), options.language)
    if voice is not None or listener is not None:
        progress("voice" if voice else "transcribing", 70.0)
        _listen(source, voice, listener, diarizer, progress, timer)
    if voice is not None:
        models += [m.to_dict() for m in (voice.model.info, *voice.model.components)]
        if voice.records and not any(r.speech for r in voice.records):
            warnings.append("no speech was found in the audio")

    transcript = None
    if transcribing and listener is None:
        warnings.append("transcript skipped: the file has no audio track")
    elif listener is not None:
        with timer("transcribe"):
            transcript = _transcript(listener, options, faces, voice)
        models.append(listener.transcriber.info.to_dict())
        if options.transcribe_focus and voice is None:
            warnings.append("transcribe_focus: the voice was not analysed, so words carry no voice emotion")

    observations = faces.observations if faces else []
    smooth_faces(observations, options.face_smoothing)
    with timer("speakers"):
        voices = who_speaks(voice.records if voice else [], diarizer.finish() if diarizer else None,
                            faces.mouths.signals() if faces and faces.mouths else [],
                            sorted({o.face_id for o in observations}))  # fmt: skip
    label_speakers(transcript.segments if transcript else [], voices.turns)
    if diarizer is not None and voice is not None and any(r.speech for r in voice.records) and not voices.turns:
        warnings.append("the voices could not be told apart (the speaker detector heard no speech): the speech "
                        "belongs to no person")  # fmt: skip
    if diarizer is not None and observations and voices.turns and not voices.face_of:
        warnings.append("no face was linked to a voice (no face's lips followed a speaker's turns): each face and "
                        "each voice is a person of its own")  # fmt: skip
    segments = voice_segments(voice.records) if voice else []
    checked = options.double_check and faces is not None and voice is not None
    fused = None
    if options.fuse or (options.fuse is None and faces and voice):
        with timer("fuse"):
            fused, fusion_info = _fuse(info, options, settings, observations, voice, voices)
        models.append(fusion_info)
    result = Result(
        input=info.to_dict() | ({"path": input_name} if input_name else {}),
        options=options.to_dict(),
        models=models,
        faces=observations,
        frames_analysed=faces.frames_analysed if faces else 0,
        voice=voice.records if voice else [],
        double_check=double_check(observations, segments, fused or (), voices.face_of) if checked else None,
        echo_mean=echo_mean(observations, segments, fused=fused) if options.echo_mean else None,
        fused=fused,
        people=assemble_people(observations, voice.records if voice else [], fused, voices),
        transcript=transcript.segments if transcript else None,
        transcript_language=transcript.language_record() if transcript else None,
        timings=timer.timings,
        warnings=warnings,
    ).finalise()
    return result, faces.thumbnails if faces else None
