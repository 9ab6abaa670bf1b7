"""What was said, and when: speech recognition behind one interface.

``Transcriber.transcribe(signal_16k, language) -> Transcript``: timed segments (phrases between pauses), each with
its timed words, in seconds from the start of the signal, and the language they were heard in. Implementations,
chosen by name (``asr_model``):

- ``whisper-base`` (default; ``whisper`` is the same): OpenAI Whisper base through faster-whisper (CTranslate2,
  int8 on the CPU), from the model-data wheels the project pins (``backend.voice.whisper_encoder.whisper_base_dir``
  joins and checks them; the voice model's encoder reads the same folder). 99 languages; with no ``language``
  given, Whisper detects it and the transcript records it with its probability.
- ``whisper:<folder or hub id>``: another CTranslate2 conversion of Whisper, from that folder or the Hugging Face
  cache only, unless downloads are allowed (``EMOCLASSIFY_ALLOW_DOWNLOADS=1``). Its absence is a
  ``ModelUnavailableError``.
- ``pocketsphinx``: CMU PocketSphinx with the US-English model its wheel ships. Light and fast, but it mishears
  most plain speech (README): kept for English-only machines that want it.

Long audio is cut into pieces of at most ``max_piece_seconds``, at the quietest moment near the end of each piece,
and decoded piece by piece, so memory stays flat however long the file (:class:`TranscriptStream`); the language
detected in the first piece with words holds for the rest of the file. Models load once per process
(:func:`get_transcriber`, thread-safe); one decoder is used by one thread at a time.

:func:`attach_emotions` (``transcribe_focus``) gives each segment and word the mean voice emotion of the speech
windows overlapping it and, for video, the emotion of the dominant face at that time.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backend.config import DEFAULT_ASR_MODEL, Settings, shown_path
from backend.emotions import top_label
from backend.errors import InputError, ModelUnavailableError
from backend.intervals import FaceIndex, SpanIndex, weighted_mean
from backend.model_info import ModelInfo

SAMPLE_RATE = 16_000
WHISPER_BASE = "whisper-base"
WHISPER_ALIAS = "whisper"  # the name of the transformers-era option, now the same model as whisper-base
WHISPER_PREFIX = "whisper:"
ASR_MODELS = (WHISPER_BASE, "pocketsphinx", WHISPER_ALIAS)  # and whisper:<folder or hub id>
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
    speaker_id: str | None = None  # the speaker with the most speech in it (backend.people); None: none


@dataclass
class Heard:
    """One piece's words and the language they were decoded in; ``probability`` is the detection's (None when the
    language was given)."""

    words: list[Word]
    language: str | None
    probability: float | None


@dataclass
class Transcript:
    segments: list[Segment]
    language: str | None  # None: no language given and no word heard to detect one
    language_probability: float | None  # Whisper's confidence in the detected language; None when it was given

    def language_record(self) -> dict:
        """The result's ``transcript_language``."""
        detected = self.language_probability is not None
        return {"code": self.language, "probability": self.language_probability, "detected": detected}


def _engine(asr_model: str) -> str:
    return "pocketsphinx" if asr_model == "pocketsphinx" else "whisper"


def check_language(asr_model: str, language: str | None) -> None:
    """Raise ``InputError(code="unsupported_language")`` when ``asr_model`` has no model for ``language`` (None:
    Whisper detects it; PocketSphinx has English only)."""
    if language is None:
        return
    name = _engine(asr_model)
    supported = POCKETSPHINX_LANGUAGES if name == "pocketsphinx" else WHISPER_LANGUAGES
    if language not in supported:
        hint = f" (Whisper covers 99 languages: use asr_model={WHISPER_BASE})" if name == "pocketsphinx" else ""
        raise InputError(f"no speech-recognition model for language '{language}' with {name}: it supports "
                         f"{', '.join(supported)}{hint}", code="unsupported_language",
                         details={"asr_model": asr_model, "language": language,
                                  "supported": list(supported)})  # fmt: skip


def check_asr_model(asr_model: str) -> None:
    if asr_model not in ASR_MODELS and not (asr_model.startswith(WHISPER_PREFIX) and len(asr_model) > 8):
        raise InputError(f"asr_model must be one of {', '.join(ASR_MODELS)} or whisper:<folder or hub id>, "
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

    def transcribe(self, signal_16k: np.ndarray, language: str | None = None) -> Transcript:
        """The transcript of a 16 kHz mono float32 signal, times in seconds from its start."""
        return transcribe_stream(self, [np.asarray(signal_16k, dtype=np.float32)], language)

    def transcribe_piece(self, piece: np.ndarray, language: str | None, offset: float = 0.0) -> Heard:
        """The words of one piece, their times offset by ``offset`` seconds."""
        check_language(self.name, language)
        if len(piece) < SAMPLE_RATE // 10:
            return Heard([], language, None)
        with self._lock:
            heard = self._decode(piece, language)
        heard.words = [Word(round(w.start + offset, 3), round(w.end + offset, 3), w.text) for w in heard.words]
        return heard

    def _decode(self, piece: np.ndarray, language: str | None) -> Heard:
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


class _Pieces:
    """16 kHz chunks cut into pieces of at most ``max_seconds`` (see :func:`pieces`); read each generator to its end."""

    def __init__(self, max_seconds: float):
        self.limit = round(max_seconds * SAMPLE_RATE)
        self.buffer, self.taken = np.zeros(0, dtype=np.float32), 0

    def push(self, chunk: np.ndarray) -> Iterator[tuple[float, np.ndarray]]:
        self.buffer = np.concatenate([self.buffer, np.asarray(chunk, dtype=np.float32)])
        while len(self.buffer) > self.limit:
            cut = _cut_point(self.buffer, self.limit)
            yield self.taken / SAMPLE_RATE, self.buffer[:cut]
            self.buffer, self.taken = self.buffer[cut:], self.taken + cut

    def rest(self) -> Iterator[tuple[float, np.ndarray]]:
        if len(self.buffer):
            yield self.taken / SAMPLE_RATE, self.buffer


def pieces(chunks: Iterable[np.ndarray], max_seconds: float) -> Iterator[tuple[float, np.ndarray]]:
    """(offset in seconds, samples) pieces of at most ``max_seconds`` from a stream of 16 kHz chunks, each cut at
    a quiet moment; at most one piece and one chunk are held at a time."""
    cutter = _Pieces(max_seconds)
    for chunk in chunks:
        yield from cutter.push(chunk)
    yield from cutter.rest()


class TranscriptStream:
    """A transcript made as its sound arrives: :meth:`feed` it 16 kHz mono float32 chunks, piece by piece decoded
    as they fill, then :meth:`finish`; so one decode of a file's sound can feed this and the voice analysis at once.
    Without a ``language``, the one detected in the first piece with words is used for the pieces after it: a file
    is in one language, and a piece of laughter or a name is no reason to switch."""

    def __init__(self, transcriber: Transcriber, language: str | None = None):
        check_language(transcriber.name, language)
        self.transcriber, self._language = transcriber, language
        self._pieces = _Pieces(transcriber.max_piece_seconds)
        self._words: list[Word] = []
        self._detected: Heard | None = None

    def feed(self, chunk: np.ndarray) -> None:
        for offset, piece in self._pieces.push(chunk):
            self._hear(offset, piece)

    def finish(self) -> Transcript:
        for offset, piece in self._pieces.rest():
            self._hear(offset, piece)
        if self._language is not None:
            return Transcript(group_words(self._words), self._language, None)
        if self._detected is None:
            return Transcript([], None, None)
        return Transcript(group_words(self._words), self._detected.language, self._detected.probability)

    def _hear(self, offset: float, piece: np.ndarray) -> None:
        language = self._language or (self._detected and self._detected.language)
        heard = self.transcriber.transcribe_piece(piece, language, offset)
        if heard.words and self._language is None and self._detected is None:
            self._detected = heard
        self._words += heard.words


def transcribe_stream(transcriber: Transcriber, chunks: Iterable[np.ndarray], language: str | None = None,
                      ) -> Transcript:  # fmt: skip
    """The transcript of a stream of 16 kHz mono float32 chunks (e.g. ``media.iter_audio``), piece by piece."""
    stream = TranscriptStream(transcriber, language)
    for chunk in chunks:
        stream.feed(chunk)
    return stream.finish()


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

    def _decode(self, piece: np.ndarray, language: str | None) -> Heard:
        # No dither: on the acted corpora (which have stretches of digital silence) a -60 dBFS dither raised the
        # WER (RAVDESS 0.55 -> 0.69, CREMA-D 0.54 -> 0.63), although it rescues espeak-ng's noiseless speech.
        pcm = (np.clip(piece, -1.0, 1.0) * 32767).astype("<i2").tobytes()
        decoder = self._decoder
        decoder.start_utt()
        decoder.process_raw(pcm, no_search=False, full_utt=True)
        decoder.end_utt()
        if decoder.hyp() is None:
            return Heard([], "en", None)
        words = []
        for seg in decoder.seg():
            if self._FILLER.match(seg.word):
                continue
            text = self._ALTERNATIVE.sub("", seg.word)
            words.append(Word(seg.start_frame / self._frame_rate, (seg.end_frame + 1) / self._frame_rate, text))
        return Heard(words, "en", None)


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------------------------------------
# Whisper (faster-whisper)


def whisper_source(asr_model: str, settings: Settings) -> tuple[str, str | None]:
    """(folder or hub id faster-whisper loads, pinned SHA-256 or None) for a Whisper ``asr_model``: the shipped base
    model's checked folder, or what ``whisper:<...>`` names."""
    if asr_model == WHISPER_BASE:
        from backend.voice.whisper_encoder import WHISPER_BASE_SHA256, whisper_base_dir

        return str(whisper_base_dir(settings)), WHISPER_BASE_SHA256
    return asr_model.removeprefix(WHISPER_PREFIX), None


class FasterWhisperTranscriber(Transcriber):
    """Whisper through faster-whisper: CTranslate2, int8 on the CPU, beam search of 5, word timestamps.

    Whisper writes text where there is none (a "You" on digital silence, "nd nd nd" on noise), so two gates stand
    before a word reaches the transcript: a piece with no speech window by the project's own detector
    (``backend.voice.speech_detection.speech_mask``, the one the voice model uses) is not decoded at all, and a Whisper
    segment must overlap a speech window. faster-whisper's Silero voice-activity filter was measured as a third gate
    and left off: on 98 strong-intensity RAVDESS clips of the voice model's training actors it raised the WER from
    0.007 to 0.048 (it cuts into emotional speech), and the two gates already silence silence, tones and noise. Each
    piece is decoded on its own (``condition_on_previous_text`` off), so one misheard piece cannot start a repetition
    loop in the next."""

    max_piece_seconds = 30.0  # Whisper reads 30 s at a time
    beam_size = 5
    vad_filter = False  # see above

    def __init__(self, name: str, source: str, settings: Settings, sha256: str | None = None):
        super().__init__()
        self.name = name
        offline = not settings.allow_downloads
        try:
            import faster_whisper

            self._model = faster_whisper.WhisperModel(source, device="cpu", compute_type="int8",
                                                      local_files_only=offline)  # fmt: skip
        except (OSError, RuntimeError, ValueError) as exc:
            cache = os.environ.get("HF_HUB_CACHE") or os.path.join(
                os.environ.get("HF_HOME", os.path.expanduser("~/.cache/huggingface")), "hub"
            )
            fix = (f"pass a folder of a CTranslate2 Whisper conversion (asr_model=whisper:/path/to/folder), fetch it "
                   f"once into the cache (or set EMOCLASSIFY_ALLOW_DOWNLOADS=1), or use the offline default "
                   f"asr_model={WHISPER_BASE} or asr_model=pocketsphinx")  # fmt: skip
            raise ModelUnavailableError(
                f"Whisper model '{source}' is not available: looked for a folder '{source}' and in the Hugging Face "
                f"cache {cache}{' (downloads are off)' if offline else ''}. To fix: {fix}.",
                details={"model": source, "looked_in": [source, cache], "reason": str(exc)[:300]},
            ) from exc
        shown = shown_path(Path(source)) if Path(source).is_dir() else f"huggingface:{source}"
        self.info = ModelInfo(role="speech_recognizer", name=name, sha256=sha256, source=shown,
                              version=f"faster-whisper {faster_whisper.__version__}, int8")  # fmt: skip

    def _decode(self, piece: np.ndarray, language: str | None) -> Heard:
        from backend.voice.speech_detection import speech_mask
        from backend.voice.windows import window_bounds

        mask = speech_mask(piece, SAMPLE_RATE)
        if not mask.any():
            return Heard([], language, None)
        speech = [b for b, is_speech in zip(window_bounds(len(piece) / SAMPLE_RATE), mask) if is_speech]
        segments, info = self._model.transcribe(piece, language=language, beam_size=self.beam_size,
                                                word_timestamps=True, condition_on_previous_text=False,
                                                vad_filter=self.vad_filter)  # fmt: skip
        words = [Word(float(w.start), float(w.end), w.word.strip())
                 for s in segments if any(a < s.end and s.start < b for a, b in speech)
                 for w in s.words or [] if w.word.strip()]  # fmt: skip
        return Heard(words, info.language, None if language else round(float(info.language_probability), 4))


# ---------------------------------------------------------------------------------------------------------------
# Registry


_CACHE: dict[tuple, Transcriber] = {}
_CACHE_LOCK = threading.Lock()


def get_transcriber(asr_model: str = DEFAULT_ASR_MODEL, settings: Settings | None = None) -> Transcriber:
    """The transcriber named ``asr_model``, loaded once per process (thread-safe)."""
    from backend.config import get_settings

    check_asr_model(asr_model)
    settings = settings or get_settings()
    name = WHISPER_BASE if asr_model == WHISPER_ALIAS else asr_model
    key = (name,) if name == "pocketsphinx" else (name, settings.cache_dir, settings.allow_downloads)
    with _CACHE_LOCK:
        if key not in _CACHE:
            if name == "pocketsphinx":
                _CACHE[key] = PocketSphinxTranscriber()
            else:
                source, sha256 = whisper_source(name, settings)
                _CACHE[key] = FasterWhisperTranscriber(name, source, settings, sha256)
        return _CACHE[key]


# ---------------------------------------------------------------------------------------------------------------
# transcribe_focus: emotions at the time of each segment and word


def _emotion(probabilities: np.ndarray) -> dict:
    label, confidence = top_label(probabilities)
    return {"label": label, "confidence": confidence}


def attach_emotions(segments: list[Segment], voice: list, faces: list, sample_fps: float | None) -> list[Segment]:
    """Give each segment and word its voice emotion (the speech windows under it) and, when there are faces, its face
    emotion (the face seen longest while it was said, with its id), in place; both by :mod:`backend.intervals`' rule,
    a frame standing for the time up to halfway to the next one (``1 / sample_fps``, or the sampled times' gap)."""
    speech = [r for r in voice if r.speech]
    voice_index = SpanIndex([r.start for r in speech], [r.end for r in speech])
    face_index = FaceIndex(faces, 1 / sample_fps if sample_fps else None) if faces else None
    for segment in segments:
        for item in [segment, *segment.words]:
            positions, weights = voice_index.overlap(item.start, item.end)
            item.voice_emotion = (_emotion(weighted_mean([speech[i].vector() for i in positions], weights))
                                  if len(positions) else None)  # fmt: skip
            face = face_index.dominant_face(item.start, item.end) if face_index else None
            item.face_emotion = None if face is None else {"face_id": face.face_id, **_emotion(face.probabilities)}
    return segments
