"""Speech-encoder frames of manifest utterances, window by window as the runtime cuts them, computed once.

Each utterance is trimmed of leading and trailing silence (as the MFCC models' training did) and cut by
``backend.voice.windows.window_bounds`` (2 s every 1 s, a shorter last window): the network is trained on exactly what
``backend.voice`` feeds it, and an utterance's prediction is the mean of its windows'. Augmentation variants
(``voice_model.augment``: sped up or slowed down, with noise) are whole recordings of their own, encoded and cut the
same way. A recipe with an input level has each window levelled (``backend.voice.loudness``) before the encoder, as
the runtime does for its model. The frames of the cached encoder blocks are stored as float16 in shards of
:data:`SHARD` utterances under ``<cache_dir>/voice_encoded/<key>/`` (key: files + sizes, encoder hash, blocks,
windows, variant, level), so an interrupted run resumes where it stopped and a recipe run never encodes again.
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
from backend.voice.features import FeatureParams
from backend.voice.loudness import MAX_GAIN_DB, levelled
from backend.voice.whisper_encoder import SAMPLE_RATE, WHISPER_BASE_SHA256, get_speech_encoder
from backend.voice.windows import equal_length_batches, window_bounds

from .augment import SNR_DB, VARIANTS
from .data import Utterance, variant_signal

CACHED_BLOCKS = (2, 3, 4)  # encoder blocks kept; a recipe reads any of them
WINDOW_SECONDS, HOP_SECONDS = 2.0, 1.0
SHARD = 256
BATCH = 32


@dataclass
class EncodedWindows:
    """Frames of every window of some utterances, in one or more augmentation variants (the first the clean
    recording): ``frames[block][offsets[i]:offsets[i + 1]]`` is window ``i``."""

    frames: dict[int, np.ndarray]  # block -> (total frames, 512) float16
    offsets: np.ndarray  # (windows + 1,)
    utterance_index: np.ndarray  # (windows,): the window's utterance in ``utterances``
    utterances: list[Utterance]
    variant: np.ndarray | None = None  # (windows,): index into ``variants``; None: all clean
    variants: tuple[str, ...] = ("clean",)

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

    def subset(self, utterance_ids: np.ndarray, variant: int = 0) -> np.ndarray:
        """The windows of the utterances whose indices are in ``utterance_ids``, in ``variants[variant]``."""
        return np.flatnonzero(np.isin(self.utterance_index, utterance_ids) & (self._variant == variant))

    def drawn(self, utterance_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """The windows of the utterances in ``utterance_ids``, each utterance in one variant drawn at random (an
        epoch's training set: every recording once, in one of its versions)."""
        choice = rng.integers(0, len(self.variants), size=len(self.utterances))
        keep = np.isin(self.utterance_index, utterance_ids) & (self._variant == choice[self.utterance_index])
        return np.flatnonzero(keep)

    def balance_weights(self, windows: np.ndarray) -> np.ndarray:
        """Per window, 1 / (windows of its corpus and class), scaled to mean 1: every (corpus, class) pair weighs
        the same in a fit."""
        keys = [(self.utterances[i].corpus, self.utterances[i].label) for i in self.utterance_index[windows]]
        counts: dict[tuple[str, int], int] = {}
        for k in keys:
            counts[k] = counts.get(k, 0) + 1
        w = np.array([1.0 / counts[k] for k in keys])
        return (w / w.mean()).astype(np.float32)

    @cached_property
    def _variant(self) -> np.ndarray:
        return np.zeros(len(self), dtype=int) if self.variant is None else self.variant


def utterance_windows(u: Utterance, variant: str = "clean", level_dbfs: float | None = None) -> list[np.ndarray]:
    """The trimmed utterance, in one augmentation variant, cut into run-time windows (each levelled to
    ``level_dbfs`` when given)."""
    signal = variant_signal(u, FeatureParams(), variant)
    bounds = window_bounds(len(signal) / SAMPLE_RATE, WINDOW_SECONDS, HOP_SECONDS)
    windows = [signal[int(round(a * SAMPLE_RATE)) : int(round(b * SAMPLE_RATE))] for a, b in bounds]
    return windows if level_dbfs is None else [levelled(w, level_dbfs) for w in windows]


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


def _cache_dir(utterances: list[Utterance], variant: str, level_dbfs: float | None) -> Path:
    spec = {"files": [f"{u.path}:{u.path.stat().st_size}" for u in utterances], "encoder": WHISPER_BASE_SHA256,
            "blocks": CACHED_BLOCKS, "window": [WINDOW_SECONDS, HOP_SECONDS], "trim": FeatureParams().trim_db,
            "v": 1}  # fmt: skip
    if variant != "clean":  # the clean key is the one from before variants existed
        spec["augment"] = [variant, VARIANTS[variant], SNR_DB]
    if level_dbfs is not None:  # likewise the unlevelled key
        spec |= {"level_dbfs": level_dbfs, "max_gain_db": MAX_GAIN_DB}
    key = hashlib.sha1(json.dumps(spec).encode()).hexdigest()[:16]
    return get_settings().cache_dir / "voice_encoded" / key


def _encode_shard(utterances: list[Utterance], path: Path, variant: str, level_dbfs: float | None) -> None:
    windows, owner = [], []
    for i, u in enumerate(utterances):
        for w in utterance_windows(u, variant, level_dbfs):
            windows.append(w)
            owner.append(i)
    frames = encode_windows(windows, CACHED_BLOCKS)
    stacked = np.concatenate(frames).astype(np.float16)
    tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")  # two processes encoding one shard do not collide
    np.savez(tmp, frames=stacked, lengths=np.array([len(f) for f in frames]), owner=np.array(owner))
    tmp.replace(path)


def load_encoded(utterances: list[Utterance], variants: tuple[str, ...] = ("clean",), level_dbfs: float | None = None,
                 log=None) -> EncodedWindows:  # fmt: skip
    """The encoder frames of ``utterances``' windows in each of ``variants`` (the first must be ``clean``), each
    window levelled to ``level_dbfs`` when given, from the cache or computed (and cached) now."""
    if variants[0] != "clean" or not set(variants) <= set(VARIANTS):
        raise ValueError(f"variants must start with clean and be among {', '.join(VARIANTS)}: {variants}")
    parts = [_load_variant(utterances, variant, level_dbfs, log) for variant in variants]
    if len(parts) == 1:
        return parts[0]
    flat = {block: np.concatenate([part.frames[block] for part in parts]) for block in CACHED_BLOCKS}
    offsets = np.concatenate([[0], np.cumsum(np.concatenate([part.lengths for part in parts]))])
    owners = np.concatenate([part.utterance_index for part in parts])
    variant = np.concatenate([np.full(len(part), k) for k, part in enumerate(parts)])
    return EncodedWindows(flat, offsets, owners, utterances, variant, tuple(variants))


def _load_variant(utterances: list[Utterance], variant: str, level_dbfs: float | None, log) -> EncodedWindows:
    folder = _cache_dir(utterances, variant, level_dbfs)
    folder.mkdir(parents=True, exist_ok=True)
    shards = [utterances[s : s + SHARD] for s in range(0, len(utterances), SHARD)]
    frames: list[np.ndarray] = []
    lengths, owners = [], []
    for k, shard in enumerate(shards):
        path = folder / f"shard-{k:04d}.npz"
        if not path.exists():
            if log:
                log(f"encoding {variant} utterances {k * SHARD + 1}-{k * SHARD + len(shard)} of {len(utterances)}")
            _encode_shard(shard, path, variant, level_dbfs)
        with np.load(path) as stored:
            frames.append(stored["frames"])
            lengths.append(stored["lengths"])
            owners.append(stored["owner"] + k * SHARD)
    flat = np.concatenate(frames)
    offsets = np.concatenate([[0], np.cumsum(np.concatenate(lengths))])
    by_block = {block: flat[:, j] for j, block in enumerate(CACHED_BLOCKS)}
    return EncodedWindows(by_block, offsets, np.concatenate(owners), utterances)
