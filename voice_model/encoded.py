"""Speech-encoder frames of manifest utterances, window by window as the runtime cuts them, computed once.

Each utterance is trimmed of leading and trailing silence (as the MFCC models' training did) and cut by
``backend.voice.window_bounds`` (2 s every 1 s, a shorter last window): the network is trained on exactly what
``backend.voice`` feeds it, and an utterance's prediction is the mean of its windows'. The frames of the cached
encoder blocks are stored as float16 in shards of :data:`SHARD` utterances under
``<cache_dir>/voice_encoded/<key>/`` (key: files + sizes, encoder hash, blocks, windows), so an interrupted run
resumes where it stopped and a recipe run never encodes again.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from backend.config import get_settings
from backend.speech import SAMPLE_RATE, WHISPER_BASE_SHA256, get_speech_encoder
from backend.voice import equal_length_batches, window_bounds

from .data import Utterance, read_audio
from .features import FeatureParams, trim

CACHED_BLOCKS = (2, 3, 4)  # encoder blocks kept; a recipe reads any of them
WINDOW_SECONDS, HOP_SECONDS = 2.0, 1.0
SHARD = 256
BATCH = 32


@dataclass
class EncodedWindows:
    """Frames of every window of some utterances: ``frames[block][offsets[i]:offsets[i + 1]]`` is window ``i``."""

    frames: dict[int, np.ndarray]  # block -> (total frames, 512) float16
    offsets: np.ndarray  # (windows + 1,)
    utterance_index: np.ndarray  # (windows,): the window's utterance in ``utterances``
    utterances: list[Utterance]

    def __len__(self) -> int:
        return len(self.utterance_index)

    @cached_property
    def lengths(self) -> np.ndarray:
        """Frames of each window."""
        return np.diff(self.offsets)

    def window(self, i: int, blocks: tuple[int, ...], start: int = 0, length: int | None = None) -> np.ndarray:
        """``(frames, len(blocks), 512)`` float32 of window ``i`` (frames ``start`` to ``start + length``)."""
        a = self.offsets[i] + start
        b = self.offsets[i + 1] if length is None else a + length
        return np.stack([self.frames[block][a:b] for block in blocks], axis=1).astype(np.float32)

    def subset(self, utterance_ids: np.ndarray) -> np.ndarray:
        """The windows of the utterances whose indices are in ``utterance_ids``."""
        return np.flatnonzero(np.isin(self.utterance_index, utterance_ids))


def utterance_windows(u: Utterance) -> list[np.ndarray]:
    """The trimmed utterance cut into run-time windows."""
    signal = trim(read_audio(u.path, SAMPLE_RATE), FeatureParams())
    bounds = window_bounds(len(signal) / SAMPLE_RATE, WINDOW_SECONDS, HOP_SECONDS)
    return [signal[int(round(a * SAMPLE_RATE)) : int(round(b * SAMPLE_RATE))] for a, b in bounds]


def encode_windows(windows: list[np.ndarray], blocks: tuple[int, ...]) -> list[np.ndarray]:
    """``(frames, len(blocks), 512)`` float32 per window, batched by equal length (no padding: attention would see
    it)."""
    encoder = get_speech_encoder(get_settings(), n_blocks=max(blocks))
    out: list[np.ndarray | None] = [None] * len(windows)
    for chunk in equal_length_batches(map(len, windows), BATCH):
        frames = encoder.frames(np.stack([windows[i] for i in chunk]), blocks)
        for i, f in zip(chunk, frames):
            out[i] = f
    return out  # type: ignore[return-value]


def _cache_dir(utterances: list[Utterance]) -> Path:
    spec = {"files": [f"{u.path}:{u.path.stat().st_size}" for u in utterances], "encoder": WHISPER_BASE_SHA256,
            "blocks": CACHED_BLOCKS, "window": [WINDOW_SECONDS, HOP_SECONDS], "trim": FeatureParams().trim_db,
            "v": 1}  # fmt: skip
    key = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]
    return get_settings().cache_dir / "voice_encoded" / key


def _encode_shard(utterances: list[Utterance], path: Path) -> None:
    windows, owner = [], []
    for i, u in enumerate(utterances):
        for w in utterance_windows(u):
            windows.append(w)
            owner.append(i)
    frames = encode_windows(windows, CACHED_BLOCKS)
    stacked = np.concatenate(frames).astype(np.float16)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # two processes encoding one shard do not collide
    np.savez(tmp, frames=stacked, lengths=np.array([len(f) for f in frames]), owner=np.array(owner))
    tmp.replace(path)


def load_encoded(utterances: list[Utterance], log=None) -> EncodedWindows:
    """The encoder frames of ``utterances``' windows, from the cache or computed (and cached) now."""
    folder = _cache_dir(utterances)
    folder.mkdir(parents=True, exist_ok=True)
    shards = [utterances[s : s + SHARD] for s in range(0, len(utterances), SHARD)]
    frames: list[np.ndarray] = []
    lengths, owners = [], []
    for k, shard in enumerate(shards):
        path = folder / f"shard-{k:04d}.npz"
        if not path.exists():
            if log:
                log(f"encoding utterances {k * SHARD + 1}-{k * SHARD + len(shard)} of {len(utterances)}")
            _encode_shard(shard, path)
        with np.load(path) as stored:
            frames.append(stored["frames"])
            lengths.append(stored["lengths"])
            owners.append(stored["owner"] + k * SHARD)
    flat = np.concatenate(frames)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
    by_block = {block: flat[:, j] for j, block in enumerate(CACHED_BLOCKS)}
    return EncodedWindows(by_block, offsets, np.concatenate(owners), utterances)
