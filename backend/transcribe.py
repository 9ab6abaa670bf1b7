"""What was said, and when: speech recognition behind one interface.

``Transcriber.transcribe(signal_16k, language) -> list[Segment]``: timed segments (phrases between pauses), each
with its timed words, in seconds from the start of the signal. Two implementations, chosen by name:

- ``pocketsphinx`` (default): CMU PocketSphinx with the US-English model its wheel ships. Offline, light, fast;
  word timestamps come from the decoder's segmentation.
- ``whisper`` / ``whisper:<hub id or folder>``: OpenAI Whisper through transformers (default
  ``openai/whisper-tiny``, or ``EMOCLASSIFY_WHISPER_MODEL``), from a local folder or the Hugging Face cache only,
  unless downloads are allowed (``EMOCLASSIFY_ALLOW_DOWNLOADS=1``). Its absence is a ``ModelUnavailableError``.

Long audio is cut into pieces of at most ``max_piece_seconds``, at the quietest moment near the end of each piece,
and decoded piece by piece, so memory stays flat however long the file (:func:`transcribe_stream`). Models load
once per process (:func:`get_transcriber`, thread-safe); one decoder is used by one thread at a time.

:func:`attach_emotions` (``transcribe_focus``) gives each segment and word the mean voice emotion of the speech
windows overlapping it and, for video, the emotion of the dominant face at that time.
"""

from __future__ import annotations

import os
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.emotions import EMOTIONS
from backend.errors import InputError, ModelUnavailableError
from backend.faces.classifiers.base import ModelInfo

SAMPLE_RATE = 16_000
ASR_MODELS = ("pocketsphinx", "whisper")  # whisper also as whisper:<hub id or folder>
WHISPER_PREFIX = "whisper:"
POCKETSPHINX_LANGUAGES = ("en",)  # the wheel ships the US-English acoustic model, dictionary and language model
# Languages Whisper was trained on (ISO 639-1 and the few codes Whisper uses), checked before any model loads.
_WHISPER_CODES = (
    "af am ar as az ba be bg bn bo br bs ca cs cy da de el en es et eu fa fi fo fr gl gu ha haw he hi hr ht hu hy "
    "id is it ja jw ka kk km kn ko la lb ln lo lt lv mg mi mk ml mn mr ms mt my ne nl nn no oc pa pl ps pt ro ru "
    "sa sd si sk sl sn so sq sr su sv sw ta te tg th tk tl tr tt uk ur uz vi yi yo yue zh"
)
WHISPER_LANGUAGES = tuple(_WHISPER_CODES.split())
SEGMENT_PAUSE = 0.45  # seconds of silence between two words that start a new segment
_QUIET_FRAME = 0.1  # seconds: frames over which the quietest cut point is looked for


@dataclass
class Word:
    start: float
    end: float
    text: str
    voice_emotion: dict | None = None  # transcribe_focus: {"label", "confidence"}; None when no speech window
    face_emotion: dict | None = None  # transcribe_focus, video: {"face_id", "label", "confidence"}


@dataclass
class Segment:
    start: float
    end: float
    text: str
    words: list[Word] = field(default_factory=list)
    voice_emotion: dict | None = None
    face_emotion: dict | None = None


def check_language(asr_model: str, language: str) -> None:
    """Raise ``InputError(code="unsupported_language")`` when ``asr_model`` has no model for ``language``."""
    name = "whisper" if asr_model.startswith(WHISPER_PREFIX) else asr_model
    supported = POCKETSPHINX_LANGUAGES if name == "pocketsphinx" else WHISPER_LANGUAGES
    if language not in supported:
        hint = " (Whisper covers 99 languages: use asr_model=whisper)" if name == "pocketsphinx" else ""
        raise InputError(f"no speech-recognition model for language '{language}' with {name}: it supports "
                         f"{', '.join(supported)}{hint}", code="unsupported_language",
                         details={"asr_model": asr_model, "language": language,
                                  "supported": list(supported)})  # fmt: skip


def check_asr_model(asr_model: str) -> None:
    if asr_model not in ASR_MODELS and not (asr_model.startswith(WHISPER_PREFIX) and len(asr_model) > 8):
        raise InputError(f"asr_model must be one of {', '.join(ASR_MODELS)} or whisper:<hub id or folder>, "
                         f"got '{asr_model}'", code="invalid_option")  # fmt: skip


# ---------------------------------------------------------------------------------------------------------------
# The interface


class Transcriber:
    """Speech to timed text. Subclasses implement ``_decode`` for one piece of at most ``max_piece_seconds``."""

    name: str
    info: ModelInfo
    max_piece_seconds: float = 30.0

    def __init__(self) -> None:
        self._lock = threading.Lock()  # one decoder, one thread at a time

    def transcribe(self, signal_16k: np.ndarray, language: str = "en") -> list[Segment]:
        """Segments of a 16 kHz mono float32 signal, times in seconds from its start."""
        return transcribe_stream(self, [np.asarray(signal_16k, dtype=np.float32)], language)

    def transcribe_piece(self, piece: np.ndarray, language: str, offset: float = 0.0) -> list[Segment]:
        check_language(self.name, language)
        if len(piece) < SAMPLE_RATE // 10:
            return []
        with self._lock:
            words = self._decode(piece, language)
        return group_words([Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text) for w in words])

    def _decode(self, piece: np.ndarray, language: str) -> list[Word]:
        raise NotImplementedError


def group_words(words: list[Word], pause: float = SEGMENT_PAUSE) -> list[Segment]:
    """Words into segments, a new one after each pause of at least ``pause`` seconds."""
    segments: list[Segment] = []
    for word in words:
        if not segments or word.start - segments[-1].end >= pause:
            segments.append(Segment(word.start, word.end, "", []))
        segments[-1].words.append(word)
        segments[-1].end = word.end
    for segment in segments:
        segment.text = " ".join(w.text for w in segment.words)
    return segments


def _cut_point(buffer: np.ndarray, limit: int) -> int:
    """Where to end a piece of at most ``limit`` samples: the quietest 100 ms in its last third."""
    frame = round(_QUIET_FRAME * SAMPLE_RATE)
    lo = (2 * limit // 3) // frame * frame
    region = buffer[lo:limit]
    count = len(region) // frame
    if count < 1:
        return limit
    energy = np.square(region[: count * frame].reshape(count, frame)).mean(axis=1)
    return lo + int(np.argmin(energy)) * frame + frame // 2


def pieces(chunks: Iterable[np.ndarray], max_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) pieces of at most ``max_seconds`` from a stream of 16 kHz chunks, each cut at
    a quiet moment; at most one piece and one chunk are held at a time."""
    limit = round(max_seconds * SAMPLE_RATE)
    buffer, taken = np.zeros(0, dtype=np.float32), 0
    for chunk in chunks:
        buffer = np.concatenate([buffer, np.asarray(chunk, dtype=np.float32)])
        while len(buffer) > limit:
            cut = _cut_point(buffer, limit)
            yield taken / SAMPLE_RATE, buffer[:cut]
            buffer, taken = buffer[cut:], taken + cut
    if len(buffer):
        yield taken / SAMPLE_RATE, buffer


def transcribe_stream(transcriber: Transcriber, chunks: Iterable[np.ndarray], language: str = "en") -> list[Segment]:
    """The transcript of a stream of 16 kHz mono float32 chunks (e.g. ``media.iter_audio``), piece by piece."""
    check_language(transcriber.name, language)
    segments: list[Segment] = []
    for offset, piece in pieces(chunks, transcriber.max_piece_seconds):
        segments += transcriber.transcribe_piece(piece, language, offset)
    return segments


# ---------------------------------------------------------------------------------------------------------------
# PocketSphinx


class PocketSphinxTranscriber(Transcriber):
    name = "pocketsphinx"
    max_piece_seconds = 30.0
    _FILLER = re.compile(r"^(<.*>|\[.*\]|\+\+.*\+\+)$")  # <s>, </s>, <sil>, [NOISE], ++BREATH++
    _ALTERNATIVE = re.compile(r"\(\d+\)$")  # "door(2)": the dictionary's 2nd pronunciation of "door"

    def __init__(self) -> None:
        super().__init__()
        try:
            import pocketsphinx
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise ModelUnavailableError("pocketsphinx is not installed: pip install -r requirements.txt",
                                        details={"model": "pocketsphinx"}) from exc  # fmt: skip
        self._decoder = Decoder(samprate=SAMPLE_RATE, loglevel="FATAL")
        self._frame_rate = int(self._decoder.config["frate"])
        version = getattr(pocketsphinx, "__version__", None) or _package_version("pocketsphinx")
        self.info = ModelInfo(role="speech_recognizer", name="pocketsphinx/en-us", version=version,
                              source=str(Path(pocketsphinx.get_model_path()) / "en-us"))  # fmt: skip

    def _decode(self, piece: np.ndarray, language: str) -> list[Word]:
        # No dither: on the acted corpora (which have stretches of digital silence) a -60 dBFS dither raised the
        # WER (RAVDESS 0.55 -> 0.69, CREMA-D 0.54 -> 0.63), although it rescues espeak-ng's noiseless speech.
        pcm = (np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=False, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return []
        words = []
        for seg in decoder.seg():
            if self._FILLER.match(seg.word):
                continue
            text = self._ALTERNATIVE.sub("", seg.word)
            words.append(Word(seg.start_frame / self._frame_rate, (seg.end_frame + 1) / self._frame_rate, text))
        return words


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------------------------
# Whisper (transformers)


def whisper_model_id(asr_model: str, settings: Settings) -> str:
    if asr_model.startswith(WHISPER_PREFIX):
        return asr_model[len(WHISPER_PREFIX) :]
    return settings.whisper_model


class WhisperTranscriber(Transcriber):
    name = "whisper"
    max_piece_seconds = 28.0  # Whisper reads 30 s at a time

    def __init__(self, model_id: str, settings: Settings):
        super().__init__()
        local = Path(model_id).expanduser()
        offline = not settings.allow_downloads
        try:
            from transformers import AutoModelForSpeechSeq2Seq, AutoProcessor, pipeline

            source = str(local) if local.is_dir() else model_id
            processor = AutoProcessor.from_pretrained(source, local_files_only=offline)
            model = AutoModelForSpeechSeq2Seq.from_pretrained(source, local_files_only=offline)
            self._pipe = pipeline("automatic-speech-recognition", model=model, tokenizer=processor.tokenizer,
                                  feature_extractor=processor.feature_extractor, device=settings.device)  # fmt: skip
        except (OSError, ValueError) as exc:
            cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
                os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
            )
            fix = (f"download it once (hf download {model_id}, or set EMOCLASSIFY_ALLOW_DOWNLOADS=1), "
                   f"or pass asr_model=whisper:/path/to/a/local/whisper/folder; the offline default is "
                   f"asr_model=pocketsphinx")  # fmt: skip
            raise ModelUnavailableError(
                f"Whisper model '{model_id}' is not available: looked for a folder '{local}' and in the Hugging Face "
                f"cache {cache}{' (downloads are off)' if offline else ''}. To fix: {fix}.",
                details={"model": model_id, "looked_in": [str(local), cache], "reason": str(exc)[:300]},
            ) from exc
        self.info = ModelInfo(role="speech_recognizer", name=model_id, version="transformers",
                              source=str(local) if local.is_dir() else f"huggingface:{model_id}")  # fmt: skip

    def _decode(self, piece: np.ndarray, language: str) -> list[Word]:
        out = self._pipe({"raw": piece, "sampling_rate": SAMPLE_RATE}, return_timestamps="word",
                         generate_kwargs={"language": language, "task": "transcribe"})  # fmt: skip
        words = []
        for chunk in out.get("chunks", []):
            start, end = chunk.get("timestamp", (None, None))
            text = chunk.get("text", "").strip()
            if text and start is not None:
                words.append(Word(float(start), float(end if end is not None else start), text))
        return words


# ---------------------------------------------------------------------------------------------------------------
# Registry


_CACHE: dict[tuple, Transcriber] = {}
_CACHE_LOCK = threading.Lock()


def get_transcriber(asr_model: str = "pocketsphinx", settings: Settings | None = None) -> Transcriber:
    """The transcriber named ``asr_model``, loaded once per process (thread-safe)."""
    from backend.config import get_settings

    check_asr_model(asr_model)
    settings = settings or get_settings()
    if asr_model == "pocketsphinx":
        key: tuple = ("pocketsphinx",)
    else:
        key = ("whisper", whisper_model_id(asr_model, settings), settings.allow_downloads, settings.device)
    with _CACHE_LOCK:
        if key not in _CACHE:
            is_sphinx = key[0] == "pocketsphinx"
            _CACHE[key] = PocketSphinxTranscriber() if is_sphinx else WhisperTranscriber(key[1], settings)
        return _CACHE[key]


# ---------------------------------------------------------------------------------------------------------------
# transcribe_focus: emotions at the time of each segment and word


def _label(vectors: list[np.ndarray]) -> dict:
    mean = np.mean(vectors, axis=0)
    best = int(np.argmax(mean))
    return {"label": EMOTIONS[best], "confidence": round(float(mean[best]), 4)}


def voice_emotion_at(voice: list, start: float, end: float) -> dict | None:
    """Label and confidence of the mean of the speech windows overlapping [start, end]; None when none does."""
    vectors = [r.vector() for r in voice if r.speech and r.start < end and r.end > start]
    return _label(vectors) if vectors else None


def face_emotion_at(faces: list, start: float, end: float, pad: float) -> dict | None:
    """The dominant face in [start - pad, end + pad] (most observations there, then largest box): its face id and
    the label and confidence of its mean there; None when no face was seen then."""
    near = [o for o in faces if start - pad <= o.t <= end + pad]
    if not near:
        return None
    counts = Counter(o.face_id for o in near)
    area = Counter()
    for o in near:
        area[o.face_id] += (o.box[2] - o.box[0]) * (o.box[3] - o.box[1])
    face_id = max(counts, key=lambda f: (counts[f], area[f], -f))
    return {"face_id": face_id, **_label([o.vector() for o in near if o.face_id == face_id])}


def attach_emotions(segments: list[Segment], voice: list, faces: list, sample_fps: float | None) -> list[Segment]:
    """Give each segment and word its voice emotion (and face emotion when there are faces), in place."""
    pad = 0.5 / sample_fps if sample_fps else 0.25  # half the time between analysed frames
    for segment in segments:
        for item in [segment, *segment.words]:
            item.voice_emotion = voice_emotion_at(voice, item.start, item.end)
            item.face_emotion = face_emotion_at(faces, item.start, item.end, pad) if faces else None
    return segments
