"""Training of a voice model on the train speakers of the speech manifest, selected on the validation speakers.

Each epoch draws ``crops_per_file`` examples per training utterance: a random cached variant (clean, speed
0.9/1.1, added noise), a random ``window_seconds`` crop (time shift), per-crop normalisation and SpecAugment-style
masks. The ``baseline`` recipe reproduces the original project's: the centred 225-frame clip, no augmentation,
no class weights, Adam. The epoch with the best validation 6-way macro-F1 is shipped (with ``refit``: the last
epoch of a fit on the train and validation speakers); the last checkpoint and the history go under
``<cache_dir>/voice_runs/<name>``.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass

import numpy as np

from backend import metrics
from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.voice import store
from backend.voice.features import FeatureParams, fit_length, normalise
from backend.voice.windows import equal_length_batches

from .augment import random_crop, random_pad, spec_augment
from .data import (
    FeatureSet,
    Utterance,
    load_features,
    read_manifest,
    select,
    speaker_folds,
    split_speakers,
)
from .network import ARCHITECTURES, BASELINE_FRAMES, keras, predict
from .scores import collapsed_scores


@dataclass
class TrainConfig:
    name: str = "voice-cnn-v1"  # the recipe's single model (seed 0); the shipped default is an ensemble of seeds
    architecture: str = "improved"
    epochs: int = 60
    batch_size: int = 32
    lr: float = 1.5e-3
    weight_decay: float = 0.0
    label_smoothing: float = 0.1
    window_seconds: float = 2.0
    crops_per_file: int = 2
    augment: bool = True
    # cached waveform variants drawn from (with augment); the noisy ones and SpecAugment did worse on val
    variants: tuple[str, ...] = ("clean", "slow", "fast")
    spec_augment: bool = False
    class_weights: bool = True
    widths: tuple[int, ...] = (256, 128)
    pools: tuple[int, ...] = (4, 2)
    dropout: float = 0.3
    features: str = "mfcc"  # FeatureParams.kind: "mfcc" or "logmel"
    norm: str = "cmvn"
    seed: int = 0
    threads: int = 1
    # the final fit: once the recipe and the epoch count were chosen on the validation speakers, train on the
    # train + validation speakers for ``epochs`` and keep the last epoch (more voices, no selection on them)
    refit: bool = False

    @classmethod
    def baseline(cls, **changes) -> TrainConfig:
        values = dict(name="voice-baseline", architecture="baseline", epochs=12, lr=1e-3, weight_decay=0.0,
                      label_smoothing=0.0, augment=False, class_weights=False)  # fmt: skip
        values.update(changes)
        return cls(**values)


def model_inputs(features: list[np.ndarray], params: FeatureParams, frames: int | None) -> list[np.ndarray]:
    """What the model sees for whole utterances: normalised features, fitted to ``frames`` when fixed."""
    out = [normalise(f, params) for f in features]
    return [fit_length(f, frames) for f in out] if frames else out


def predict_utterances(model, features: list[np.ndarray], params: FeatureParams, frames: int | None) -> np.ndarray:
    """(N, 7) probabilities, one forward pass per utterance length (any-length models see the whole utterance)."""
    inputs = model_inputs(features, params, frames)
    out = np.zeros((len(inputs), len(EMOTIONS)), dtype=np.float32)
    for chunk in equal_length_batches(map(len, inputs), 64):
        out[chunk] = predict(model, np.stack([inputs[i] for i in chunk]))
    return out


def class_weights(labels: np.ndarray) -> dict[int, float]:
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(float)
    weights = np.where(counts > 0, counts.sum() / np.maximum(counts, 1) / (counts > 0).sum(), 0.0)
    return {i: float(w) for i, w in enumerate(weights)}


def _epoch_examples(sets: list[FeatureSet], config: TrainConfig, params: FeatureParams, frames: int,
                    rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    n = len(sets[0].features)
    xs, ys = [], []
    labels = sets[0].labels
    for _ in range(config.crops_per_file):
        for i in rng.permutation(n):
            if not config.augment:
                xs.append(fit_length(normalise(sets[0].features[i], params), frames))
            else:
                variant = sets[int(rng.integers(0, len(sets)))]
                crop = random_pad(normalise(random_crop(variant.features[i], frames, rng), params), frames, rng)
                xs.append(spec_augment(crop, rng) if config.spec_augment else crop)
            ys.append(labels[i])
    return np.stack(xs).astype(np.float32), np.array(ys)


def _val_scores(model, val_set: FeatureSet, params: FeatureParams, frames: int | None) -> dict[str, float]:
    probabilities = predict_utterances(model, val_set.features, params, frames)
    scores7 = metrics.summary(val_set.labels, probabilities.argmax(1), EMOTIONS)
    return {"val_accuracy": scores7["accuracy"], "val_macro_f1": scores7["macro_f1"],
            "val_macro_f1_6": collapsed_scores(val_set.labels, probabilities)["macro_f1"]}  # fmt: skip


def _run_dir(name: str):
    return get_settings().cache_dir / "voice_runs" / name


def _build(config: TrainConfig, params: FeatureParams, frames: int):
    """A compiled, untrained model of the recipe's architecture."""
    if config.architecture == "baseline":
        model = ARCHITECTURES["baseline"](params.channels, len(EMOTIONS), frames)
    else:
        model = ARCHITECTURES["improved"](
            params.channels, len(EMOTIONS), tuple(config.widths), tuple(config.pools), config.dropout
        )
    optimiser = keras.optimizers.AdamW(learning_rate=config.lr, weight_decay=config.weight_decay) if \
        config.weight_decay else keras.optimizers.Adam(learning_rate=config.lr)  # fmt: skip
    loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
    model.compile(optimizer=optimiser, loss=loss)
    return model


def _fit(model, sets: list[FeatureSet], config: TrainConfig, params: FeatureParams, frames: int, on_epoch) -> None:
    """``config.epochs`` epochs on ``sets`` (the clean features first, then the augmentation variants);
    ``on_epoch(epoch, record, started)`` after each (record: epoch, lr, loss; started: the epoch's start time)."""
    baseline = config.architecture == "baseline"
    weights = class_weights(sets[0].labels) if config.class_weights else None
    rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        started = time.time()
        progress = epoch / max(1, config.epochs - 1)
        lr = config.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress))) if not baseline else config.lr
        model.optimizer.learning_rate.assign(lr)
        x, y = _epoch_examples(sets, config, params, frames, rng)
        fit = model.fit(x, keras.utils.to_categorical(y, len(EMOTIONS)), batch_size=config.batch_size, epochs=1,
                        shuffle=True, class_weight=weights, verbose=0)  # fmt: skip
        record = {"epoch": epoch + 1, "lr": round(lr, 6), "loss": round(float(fit.history["loss"][-1]), 4)}
        on_epoch(epoch, record, started)


def _variant_sets(utterances: list[Utterance], clean: FeatureSet, speakers: list[str], config: TrainConfig,
                  params: FeatureParams, log) -> list[FeatureSet]:  # fmt: skip
    """The features of ``speakers``' utterances: clean first (a subset of ``clean``, every utterance's), then
    each augmentation variant of the recipe."""
    variants = [v for v in config.variants if v != "clean"] if config.augment else []
    fitted = select(utterances, speakers)
    return [clean.subset(speakers)] + [load_features(fitted, params, v, log=log) for v in variants]


def _prepare(config: TrainConfig) -> tuple[FeatureParams, int]:
    import torch

    torch.set_num_threads(config.threads)
    keras.utils.set_random_seed(config.seed)
    params = FeatureParams(kind=config.features, norm=config.norm)
    frames = BASELINE_FRAMES if config.architecture == "baseline" else params.frames(config.window_seconds)
    return params, frames


def train(config: TrainConfig, log=print):
    params, frames = _prepare(config)
    utterances = read_manifest()
    split = split_speakers(utterances)
    fit_speakers = split["train"] + split["val"] if config.refit else split["train"]
    train_utts, val_utts = select(utterances, fit_speakers), select(utterances, split["val"])
    log(
        f"split {json.dumps(split)}; fitted on {len(train_utts)} files"
        + (" (train + val speakers, last epoch kept)" if config.refit else f", selected on val {len(val_utts)}")
    )
    clean = load_features(utterances, params, "clean", log=log)
    sets = _variant_sets(utterances, clean, fit_speakers, config, params, log)
    val_set = clean.subset(split["val"])
    model = _build(config, params, frames)
    meta = store.ModelMeta(name=config.name, architecture=config.architecture, features=params,
                           input_frames=frames if config.architecture == "baseline" else None,
                           window_seconds=config.window_seconds)  # fmt: skip
    run_dir = _run_dir(config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    history, best = [], -1.0
    started_all = time.time()

    def on_epoch(epoch: int, record: dict, started: float) -> None:
        nonlocal best
        if not config.refit:
            record.update(_val_scores(model, val_set, params, meta.input_frames))
        record["seconds"] = round(time.time() - started, 1)
        history.append(record)
        log(json.dumps(record))
        if not config.refit and record["val_macro_f1_6"] > best:
            best = record["val_macro_f1_6"]
            meta.notes = {"selected_epoch": epoch + 1, **{k: v for k, v in record.items() if k.startswith("val_")}}
            model.save(run_dir / "best.keras")
        model.save(run_dir / "last.keras")

    _fit(model, sets, config, params, frames, on_epoch)
    folder = store.model_dir(config.name)
    folder.mkdir(parents=True, exist_ok=True)
    if config.refit:
        meta.notes = {"refit": "train + val speakers", "epochs": config.epochs}
    shutil.copyfile(run_dir / ("last.keras" if config.refit else "best.keras"), folder / "model.keras")
    store.write_meta(meta)
    summary = {"config": asdict(config), "split": split, "train_files": len(train_utts), "val_files": len(val_utts),
               "seconds": round(time.time() - started_all, 1), "history": history}  # fmt: skip
    (folder / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return folder


def cross_validate(config: TrainConfig, folds: int = 4, log=print) -> dict:
    """A recipe scored on every train and validation speaker, none of them seen by the model that scores them:
    those speakers are dealt into ``folds`` groups (``speaker_folds``: each corpus and gender spread over them);
    each group is held out in turn while a model is fitted on the others for ``config.epochs`` (last epoch kept, as
    in the final fit), and the held-out predictions are pooled. Two validation actors decide little; sixteen have
    about a third of their sampling noise. Test speakers are never used.
    Writes ``<cache_dir>/voice_runs/<name>/crossval.json``."""
    params, frames = _prepare(config)
    utterances = read_manifest()
    split = split_speakers(utterances)
    speakers = split["train"] + split["val"]
    groups = speaker_folds(utterances, speakers, folds)
    clean = load_features(utterances, params, "clean", log=log)
    all_sets = _variant_sets(utterances, clean, speakers, config, params, log)
    labels, probabilities, per_fold = [], [], []
    started_all = time.time()
    for k, held in enumerate(groups):
        fitted = [s for s in speakers if s not in held]
        keras.utils.set_random_seed(config.seed + k)
        model = _build(config, params, frames)
        _fit(model, [s.subset(fitted) for s in all_sets], config, params, frames,
             lambda epoch, record, started: None)  # fmt: skip
        held_set = clean.subset(held)
        fold_probabilities = predict_utterances(model, held_set.features, params,
                                                frames if config.architecture == "baseline" else None)  # fmt: skip
        fold = {"held_out": held, "n": len(held_set.utterances),
                "macro_f1_6": round(collapsed_scores(held_set.labels, fold_probabilities)["macro_f1"], 4)}  # fmt: skip
        log(f"fold {k + 1}/{folds}: {json.dumps(fold)}")
        per_fold.append(fold)
        labels.append(held_set.labels)
        probabilities.append(fold_probabilities)
    y, p = np.concatenate(labels), np.concatenate(probabilities)
    scores7 = metrics.summary(y, p.argmax(1), EMOTIONS)
    scores6 = collapsed_scores(y, p)
    result = {"config": asdict(config), "folds": per_fold, "n": len(y),
              "accuracy": scores7["accuracy"], "macro_f1": scores7["macro_f1"],
              "collapsed6_accuracy": scores6["accuracy"], "collapsed6_macro_f1": scores6["macro_f1"],
              "minutes": round((time.time() - started_all) / 60, 1)}  # fmt: skip
    run_dir = _run_dir(config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "crossval.json").write_text(json.dumps(result, indent=2) + "\n")
    return result
