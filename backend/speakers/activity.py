"""Speech activity for diarization: silero-vad (MIT), its ONNX model from the installed wheel, run by onnxruntime.

The project's level-and-flatness detector (``backend.voice``) answers per 2 s window, too coarse to place a turn
change; silero answers every 32 ms. The model is the wheel's "sequence" export: one ONNX call per block of frames,
its LSTM state carried from one block to the next, so a long file streams through in blocks with exact results.
The file is found through the package's metadata, not by importing ``silero_vad``: that import sets torch's
thread count to 1 for the whole process.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib.metadata import distribution
from pathlib import Path

import numpy as np

from backend.model_info import ModelInfo

SAMPLE_RATE = 16_000
FRAME = 512  # samples per probability: 32 ms
FRAME_SECONDS = FRAME / SAMPLE_RATE
CONTEXT = 64  # samples of the previous frame the model sees before each frame
MODEL_FILE = "silero_vad/data/silero_vad_16k_sequence.onnx"


@cache
def model_info() -> ModelInfo:
    """How a result names the speech activity model: the wheel's version and the ONNX file's hash."""
    package = distribution("silero-vad")
    weights = Path(str(package.locate_file(MODEL_FILE)))
    return ModelInfo(role="speech_activity", name="silero-vad", version=package.version, source=f"silero-vad wheel, "
                     f"{MODEL_FILE}", sha256=hashlib.sha256(weights.read_bytes()).hexdigest())  # fmt: skip


class SpeechActivity:
    """Speech probabilities, frame by frame, of one signal fed in blocks of any length (one instance per file)."""

    def __init__(self) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        path = distribution("silero-vad").locate_file(MODEL_FILE)
        self._session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self._hidden = np.zeros((1, 1, 128), dtype=np.float32)
        self._cell = np.zeros((1, 1, 128), dtype=np.float32)
        self._context = np.zeros(CONTEXT, dtype=np.float32)
        self._pending = np.zeros(0, dtype=np.float32)

    def feed(self, block: np.ndarray, final: bool = False) -> np.ndarray:
        """The probabilities of the whole frames completed by ``block``; with ``final``, the last partial frame too
        (zero-padded)."""
        samples = np.concatenate([self._pending, np.asarray(block, dtype=np.float32).reshape(-1)])
        whole = len(samples) // FRAME if not final else -(-len(samples) // FRAME)
        self._pending = samples[whole * FRAME :]
        if whole == 0:
            return np.zeros(0, dtype=np.float32)
        frames = np.zeros((whole, FRAME), dtype=np.float32)
        frames.reshape(-1)[: min(len(samples), whole * FRAME)] = samples[: whole * FRAME]
        contexts = np.concatenate([self._context[None], frames[:-1, -CONTEXT:]])
        self._context = frames[-1, -CONTEXT:].copy()
        probabilities, self._hidden, self._cell = self._session.run(
            ["speech_probs", "hn", "cn"],
            {"input": np.concatenate([contexts, frames], axis=1), "h": self._hidden, "c": self._cell},
        )
        return np.asarray(probabilities, dtype=np.float32).reshape(-1)


class SpeechFrames:
    """Speech or not per frame, with hysteresis (silero's own rule): speech starts at a probability of ``on`` and
    lasts until it falls below ``off``. Fed in blocks, it carries its state from one to the next."""

    def __init__(self, on: float = 0.5, off: float = 0.35) -> None:
        self.on, self.off, self._active = on, off, False

    def feed(self, probabilities: np.ndarray) -> np.ndarray:
        speech = np.zeros(len(probabilities), dtype=bool)
        for i, p in enumerate(probabilities.tolist()):
            self._active = p >= (self.off if self._active else self.on)
            speech[i] = self._active
        return speech
