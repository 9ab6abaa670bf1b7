"""Analysis options: what a user may ask of one analysis, each declared once with its default, limits and help;
the CLI's arguments and the API's option schema are built from these fields. Options marked ``env`` take their
default from the environment (:func:`load_default_options`); the rest are checked here before any work starts."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace

from .config import DEFAULT_ASR_MODEL, limits_text, load, setting, within_limits
from .errors import InputError
from .faces.classifiers.registry import NAMES as FACE_MODEL_NAMES
from .speakers.clustering import MAX_SPEAKERS
from .transcribe import check_asr_model, check_language

INT32_MAX = 2**31 - 1  # counts a client in a typed language can hold


@dataclass(frozen=True)
class AnalysisOptions:
    sample_fps: float | None = setting(5.0, "frames analysed per second of media time (or give frame_step)",
                                       minimum=0, exclusive_minimum=True, maximum=60)  # fmt: skip
    # the original project's "every 2nd frame" is frame_step=2
    frame_step: int | None = setting(None, "analyse every Nth decoded frame instead of sample_fps", env=False,
                                     minimum=1, maximum=INT32_MAX)  # fmt: skip
    face_model: str = setting("cnn", "face classifier: cnn (ours, offline), vit (needs its weights), auto (the ViT "
                              "where available, else cnn)", choices=FACE_MODEL_NAMES)  # fmt: skip
    face_smoothing: float = setting(0.6, "seconds of per-face moving average kept beside the raw probabilities "
                                    "(0: off)", env=False, minimum=0, maximum=10)  # fmt: skip
    # between full detections, known faces are followed by MTCNN's last stage alone (backend.faces.following)
    face_redetect: float = setting(1.0, "seconds between full face detections in video, so a person who walks in "
                                   "is found within this (0: detect every frame in full)", env=False, minimum=0,
                                   maximum=60)  # fmt: skip
    max_frames: int | None = setting(None, "stop after this many analysed frames", env=False, minimum=1,
                                     maximum=INT32_MAX)  # fmt: skip
    modalities: str = setting("auto", "auto: faces if the file has video, voice if it has audio; face / voice / "
                              "both: only those, an error if the file lacks one", env=False,
                              choices=("auto", "face", "voice", "both"))  # fmt: skip
    voice_model: str = setting("default", "a shipped voice model's name, or (CLI only) legacy:PATH for an "
                               "original-format .h5", env=False)  # fmt: skip
    voice_window: float = setting(2.0, "seconds of audio per voice prediction", env=False, minimum=0.5, maximum=10)
    voice_hop: float = setting(1.0, "seconds between voice windows (at most voice_window)", env=False, minimum=0.1,
                               maximum=10)  # fmt: skip
    speakers: int | str = setting(1, "how many people speak: 1 (one voice, the default), up to 10 (the voices told "
                                  "apart and each linked to its face), or auto (their number found: experimental, "
                                  "right on about 58 % of test files)", minimum=1, maximum=MAX_SPEAKERS,
                                  words=("auto",))  # fmt: skip
    double_check: bool = setting(False, "compare face and voice window by window", env=False)
    echo_mean: bool = setting(False, "the whole file's time-weighted mean emotion, face and voice", env=False)
    fuse: bool | None = setting(None, "fuse face and voice per window with the learned combiner (default: when "
                                "both modalities run)", env=False)  # fmt: skip
    face_thumbnails: bool = setting(False, "write face-<id>.png: each face at its most confident moment", env=False)
    make_graph: bool = setting(False, "write the timeline graph (timeline.png)", env=False, flag="--graph")
    csv: bool = setting(False, "write the per-second timeline (timeline.csv)", env=False)
    annotate_video: bool = setting(False, "write annotated.mp4: faces boxed and labelled, voice strip, original "
                                   "audio", env=False, flag="--annotate")  # fmt: skip
    report: bool = setting(False, "write a report (report.pdf, or see report_format)", env=False)
    report_format: str = setting("pdf", "report format", env=False, choices=("pdf", "docx"))
    transcribe: bool = setting(False, "transcribe the speech: timed segments and words", env=False)
    transcribe_focus: bool = setting(False, "transcribe, with the voice (and face) emotion of each phrase and word",
                                     env=False)  # fmt: skip
    asr_model: str = setting(DEFAULT_ASR_MODEL, f"speech recognizer: {DEFAULT_ASR_MODEL} (offline, 99 languages), "
                             "pocketsphinx (English only), or whisper:<folder or hub id>", env=False)  # fmt: skip
    language: str | None = setting(None, "language of the speech, ISO 639-1 (default: Whisper detects it)",
                                   env=False)  # fmt: skip

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if not within_limits(item, value):
                raise InputError(f"{item.name} must be {limits_text(item)}, got {value!r}", code="invalid_option")
        if self.sample_fps is not None and self.frame_step is not None:
            raise InputError("give either sample_fps or frame_step, not both", code="invalid_option")
        if self.voice_hop > self.voice_window:
            raise InputError("voice_hop must be at most voice_window", code="invalid_option")
        if self.transcribe_focus and not self.transcribe:  # focus implies the transcript: one spelling of it
            object.__setattr__(self, "transcribe", True)
        check_asr_model(self.asr_model)
        check_language(self.asr_model, self.language)

    def to_dict(self) -> dict:
        return asdict(self)


def with_choices(defaults: AnalysisOptions, given: Mapping[str, object]) -> AnalysisOptions:
    """The options a user gave over ``defaults`` (the settings'). A frame_step given without sample_fps replaces
    the default sampling rate, as the two are exclusive."""
    if given.get("frame_step") is not None and "sample_fps" not in given:
        given = {**given, "sample_fps": None}
    return replace(defaults, **given)


def load_default_options(environ: Mapping[str, str] | None = None) -> AnalysisOptions:
    """An analysis's defaults: the options marked ``env`` as ``environ`` (default: the process environment) sets
    them. Read once by the CLI and once per API app, so that both start every analysis from the same values."""
    return load(AnalysisOptions, environ)
