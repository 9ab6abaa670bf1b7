"""Analysis options: what a user may ask of one analysis, with defaults, checked before any work starts."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .config import DEFAULT_ASR_MODEL
from .errors import InputError
from .faces.classifiers.registry import NAMES as FACE_MODEL_NAMES
from .transcribe import check_asr_model, check_language

MAX_SAMPLE_FPS = 60.0
MAX_FACE_REDETECT = 60.0  # seconds: a person who walks in is found within this
MODALITIES = ("auto", "face", "voice", "both")
REPORT_FORMATS = ("pdf", "docx")


@dataclass(frozen=True)
class AnalysisOptions:
    sample_fps: float | None = 5.0  # frames per second of media time; None with frame_step for every Nth frame
    frame_step: int | None = None  # the original project's "every 2nd frame" is sample_fps=None, frame_step=2
    face_model: str = "cnn"  # cnn | vit | auto
    face_smoothing: float = 0.6  # seconds: per-face moving average kept beside the raw probabilities; 0 = off
    # seconds: in video, a full face detection runs at least this often (and whenever a face is lost); between,
    # known faces are followed by MTCNN's last stage alone (backend.faces.following); 0 = every frame in full
    face_redetect: float = 1.0
    max_frames: int | None = None  # stop after this many analysed frames
    # auto: faces where the file has video, voice where it has audio; face / voice / both: required, an error
    # when the file lacks it.
    modalities: str = "auto"
    voice_model: str = "default"  # a shipped voice model's name, or legacy:PATH for an original-format .h5
    voice_window: float = 2.0  # seconds of audio per voice prediction
    voice_hop: float = 1.0  # seconds between voice windows
    double_check: bool = False  # compare face and voice window by window
    echo_mean: bool = False  # the whole file's time-weighted mean emotion, for face and for voice (and fused)
    # face and voice fused per window by the learned combiner (backend.fused); None: when both modalities run
    fuse: bool | None = None
    face_thumbnails: bool = False  # face-<id>.png: each face at its most confident moment
    make_graph: bool = False
    csv: bool = False
    annotate_video: bool = False  # annotated.mp4: boxes, labels, probability bars, voice strip, original audio
    report: bool = False  # report.pdf / report.docx
    report_format: str = "pdf"  # pdf | docx
    transcribe: bool = False  # the transcript: timed segments and words (backend.transcribe)
    transcribe_focus: bool = False  # implies transcribe: each segment and word with the voice (and face) emotion
    asr_model: str = DEFAULT_ASR_MODEL  # whisper-base | pocketsphinx (English only) | whisper:<folder or hub id>
    language: str | None = None  # language of the speech, ISO 639-1; None: Whisper detects it

    def __post_init__(self) -> None:
        if self.sample_fps is not None and not 0 < self.sample_fps <= MAX_SAMPLE_FPS:
            raise InputError(f"sample_fps must be in (0, {MAX_SAMPLE_FPS:g}], got {self.sample_fps}",
                             code="invalid_option")  # fmt: skip
        if self.frame_step is not None and self.frame_step < 1:
            raise InputError(f"frame_step must be at least 1, got {self.frame_step}", code="invalid_option")
        if self.sample_fps is not None and self.frame_step is not None:
            raise InputError("give either sample_fps or frame_step, not both", code="invalid_option")
        if self.face_model not in FACE_MODEL_NAMES:
            raise InputError(f"face_model must be one of {', '.join(FACE_MODEL_NAMES)}, got '{self.face_model}'",
                             code="invalid_option")  # fmt: skip
        if not 0 <= self.face_smoothing <= 10:
            raise InputError(f"face_smoothing must be 0-10 s, got {self.face_smoothing}", code="invalid_option")
        if not 0 <= self.face_redetect <= MAX_FACE_REDETECT:
            raise InputError(f"face_redetect must be 0-{MAX_FACE_REDETECT:g} s, got {self.face_redetect}",
                             code="invalid_option")  # fmt: skip
        if self.modalities not in MODALITIES:
            raise InputError(f"modalities must be one of {', '.join(MODALITIES)}, got '{self.modalities}'",
                             code="invalid_option")  # fmt: skip
        if not 0.5 <= self.voice_window <= 10 or not 0.1 <= self.voice_hop <= self.voice_window:
            raise InputError("voice_window must be 0.5-10 s and voice_hop between 0.1 s and the window",
                             code="invalid_option")  # fmt: skip
        if self.max_frames is not None and self.max_frames < 1:
            raise InputError(f"max_frames must be at least 1, got {self.max_frames}", code="invalid_option")
        if self.report_format not in REPORT_FORMATS:
            raise InputError(f"report_format must be one of {', '.join(REPORT_FORMATS)}, got '{self.report_format}'",
                             code="invalid_option")  # fmt: skip
        check_asr_model(self.asr_model)
        check_language(self.asr_model, self.language)

    def to_dict(self) -> dict:
        return asdict(self)
