"""The speech manifest, labels, the speaker split, audio reading and the feature cache.

Manifest columns: ``path`` (relative to the manifest's folder), ``corpus``, ``speaker``, ``gender``, ``emotion``,
``source_label``, ``intensity``, ``sentence``, ``duration_s``, ``sample_rate``. Any number of corpora.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.voice.features import FeatureParams, spectral_features, trim

from .augment import SNR_DB, VARIANTS, apply_variant

# RAVDESS "calm" is a low-arousal neutral: merged into neutral (our 7 labels have no calm).
LABEL_MAP = {name: name for name in EMOTIONS} | {"calm": "neutral", "fearful": "fear", "surprised": "surprise"}
# The original model's 6 classes: angry and disgust are one "negative" class.
COLLAPSED6 = ("fear", "negative", "neutral", "happy", "sad", "surprise")
TO_COLLAPSED6 = np.array([COLLAPSED6.index("negative" if e in ("angry", "disgust") else e) for e in EMOTIONS])

# Split rule: within each (corpus, gender), speakers ordered by sha1(f"{SPLIT_SALT}:{speaker}"); the first
# round(TEST_FRACTION * n) are test, the next round(VAL_FRACTION * n) validation, the rest train.
SPLIT_SALT = "emoclassify-voice-v1"
TEST_FRACTION = 0.2
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class Utterance:
    path: Path
    corpus: str
    speaker: str
    gender: str
    emotion: str  # one of EMOTIONS (after LABEL_MAP)
    source_label: str

    @property
    def label(self) -> int:
        return EMOTIONS.index(self.emotion)


def manifest_path() -> Path:
    return get_settings().data_dir / "speech" / "manifest.csv"


def read_manifest(path: Path | None = None) -> list[Utterance]:
    path = Path(path or manifest_path())
    if not path.exists():
        raise FileNotFoundError(f"no speech manifest at {path}")
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            emotion = LABEL_MAP.get(row["emotion"].strip().lower())
            if emotion is None:
                continue  # a label outside our 7 (after merging) is not scored
            rows.append(Utterance(path=path.parent / row["path"], corpus=row.get("corpus", "unknown"),
                                  speaker=row.get("speaker", ""), gender=row.get("gender", ""), emotion=emotion,
                                  source_label=row["emotion"]))  # fmt: skip
    return rows


def _order_key(speaker: str) -> str:
    return hashlib.sha1(f"{SPLIT_SALT}:{speaker}".encode()).hexdigest()


def split_speakers(utterances: list[Utterance]) -> dict[str, list[str]]:
    """``{"train": [...], "val": [...], "test": [...]}`` speaker ids; each speaker in exactly one split, each
    split balanced by gender within each corpus."""
    groups: dict[tuple[str, str], set[str]] = {}
    for u in utterances:
        groups.setdefault((u.corpus, u.gender), set()).add(u.speaker)
    split: dict[str, list[str]] = {"train": [], "val": [], "test": []}
    for key in sorted(groups):
        speakers = sorted(groups[key], key=_order_key)
        n = len(speakers)
        n_test = max(1, round(TEST_FRACTION * n)) if n >= 3 else 0
        n_val = max(1, round(VAL_FRACTION * n)) if n >= 3 else 0
        split["test"] += speakers[:n_test]
        split["val"] += speakers[n_test : n_test + n_val]
        split["train"] += speakers[n_test + n_val :]
    return {name: sorted(ids) for name, ids in split.items()}


def speaker_folds(utterances: list[Utterance], speakers: list[str], folds: int) -> list[list[str]]:
    """``speakers`` dealt into ``folds`` groups for cross-validation: grouped by (corpus, gender), one group after
    the other, then speaker i to fold i mod ``folds``, so that each fold has its share of each corpus and gender."""
    groups: dict[tuple[str, str], set[str]] = {}
    keep = set(speakers)
    for u in utterances:
        if u.speaker in keep:
            groups.setdefault((u.corpus, u.gender), set()).add(u.speaker)
    order = [speaker for _, group in sorted(groups.items()) for speaker in sorted(group)]
    return [order[k::folds] for k in range(folds)]


def select(utterances: list[Utterance], speakers: list[str]) -> list[Utterance]:
    keep = set(speakers)
    return [u for u in utterances if u.speaker in keep]


def read_audio(path: Path, sample_rate: int) -> np.ndarray:
    """Mono float32 at ``sample_rate`` (FLAC/WAV through soundfile; resampled when the file's rate differs)."""
    import soundfile as sf

    signal, rate = sf.read(str(path), dtype="float32", always_2d=True)
    signal = signal.mean(axis=1)
    if rate != sample_rate:
        import librosa

        signal = librosa.resample(signal, orig_sr=rate, target_sr=sample_rate)
    return np.ascontiguousarray(signal, dtype=np.float32)


@dataclass
class FeatureSet:
    """Unnormalised features of trimmed utterances, one ``(T_i, channels)`` array per utterance and variant."""

    features: list[np.ndarray]
    utterances: list[Utterance]
    variant: str

    @property
    def labels(self) -> np.ndarray:
        return np.array([u.label for u in self.utterances], dtype=np.int64)

    def subset(self, speakers: list[str]) -> FeatureSet:
        keep = [i for i, u in enumerate(self.utterances) if u.speaker in set(speakers)]
        return FeatureSet([self.features[i] for i in keep], [self.utterances[i] for i in keep], self.variant)


def _cache_key(utterances: list[Utterance], params: FeatureParams, variant: str) -> str:
    files = [f"{u.path}:{u.path.stat().st_size}" for u in utterances]
    spec = {"files": files, "params": params.to_dict(), "variant": variant, "v": 1}
    if variant != "clean":
        spec["augment"] = [VARIANTS[variant], SNR_DB]
    blob = json.dumps(spec)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


def variant_signal(u: Utterance, params: FeatureParams, variant: str = "clean") -> np.ndarray:
    """The utterance trimmed of leading and trailing silence, in one augmentation variant (the same noise every
    time: seeded by the variant and the file's name)."""
    signal = trim(read_audio(u.path, params.sample_rate), params)
    seed = int(hashlib.sha1(f"{variant}:{u.path.name}".encode()).hexdigest()[:8], 16)
    return apply_variant(signal, variant, params.sample_rate, np.random.default_rng(seed))


def utterance_features(u: Utterance, params: FeatureParams, variant: str = "clean") -> np.ndarray:
    return spectral_features(variant_signal(u, params, variant), params)


def load_features(utterances: list[Utterance], params: FeatureParams, variant: str = "clean",
                  cache: bool = True, log=None) -> FeatureSet:  # fmt: skip
    """Features of every utterance for one augmentation variant, computed once and cached as ``.npz``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    path = get_settings().cache_dir / "voice_features" / f"{variant}-{_cache_key(utterances, params, variant)}.npz"
    if cache and path.exists():
        with np.load(path) as stored:
            flat, offsets = stored["flat"], stored["offsets"]
        features = [flat[a:b].astype(np.float32) for a, b in zip(offsets[:-1], offsets[1:])]
        return FeatureSet(features, utterances, variant)
    if log:
        log(f"computing {variant} features of {len(utterances)} files")
    features = [utterance_features(u, params, variant) for u in utterances]
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        offsets = np.cumsum([0] + [len(f) for f in features])
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, flat=np.concatenate(features).astype(np.float16), offsets=offsets)
        tmp.replace(path)
        features = [f.astype(np.float16).astype(np.float32) for f in features]  # same values as a cache hit
    return FeatureSet(features, utterances, variant)
