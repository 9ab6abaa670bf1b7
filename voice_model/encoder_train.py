"""Training of the voice network over Whisper encoder frames (``backend.voice.head``) on every corpus of the
manifest, split by speaker within each corpus.

- **Loss over the corpus' own labels.** Corpora label different sets (ASED has no disgust or surprise, TurEV only
  angry, calm → neutral, happy, sad): each window's cross-entropy is taken over the classes its corpus labels,
  so a class the corpus never uses is unknown there, not wrong.
- **Balance.** Every (corpus, class) pair weighs the same in total: the small corpora and rare classes count as
  much as RAVDESS's many windows.
- **Augmentation.** Each epoch every window is a random crop of 75-100 % of its frames (time shift and length);
  with ``variants`` beyond ``clean``, each utterance is heard in one of its versions (``voice_model.augment``: sped
  up or slowed down, noise added), drawn per epoch.
- **Schedule.** AdamW with a cosine decay over ``epochs``; the last epoch is kept (the recipe and the epoch count
  are chosen by cross-validation over speakers, :func:`cross_validate`, never on the test speakers). A checkpoint
  is written after every epoch under ``<cache_dir>/voice_runs/<name>``; a run started again resumes from it.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.voice import store
from backend.voice.features import FeatureParams
from backend.voice.head import encoder_head, keras

from .data import Utterance, read_manifest, speaker_folds, split_speakers
from .encoded import CACHED_BLOCKS, EncodedWindows, load_encoded
from .encoder_outputs import utterance_probabilities
from .probe import fit_probe
from .scores import corpus_scores, headline


@dataclass
class EncoderConfig:
    name: str = "voice-whisper-v1"
    blocks: tuple[int, ...] = CACHED_BLOCKS
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    channels: int = 128
    hidden: int = 128
    dropout: float = 0.3
    head: str = "conv"  # the Conv1D network; "linear": the statistics head; "probe": it fitted by voice_model.probe
    min_crop: float = 0.75
    variants: tuple[str, ...] = ("clean",)  # recordings each epoch draws from per utterance (voice_model.augment)
    level_dbfs: float | None = None  # each window levelled before the encoder (backend.voice.loudness); None: not
    seed: int = 0
    threads: int = 2
    refit: bool = False  # the final fit: train + val speakers (else the train speakers only); last epoch kept


def corpus_label_masks(utterances: list[Utterance]) -> dict[str, np.ndarray]:
    """Per corpus, which of the 7 labels it uses (``(7,)`` float32 of 0/1)."""
    masks: dict[str, np.ndarray] = {}
    for u in utterances:
        masks.setdefault(u.corpus, np.zeros(len(EMOTIONS), dtype=np.float32))[u.label] = 1.0
    return masks


def masked_crossentropy(smoothing: float):
    """Cross-entropy over the classes a window's corpus labels; ``y_true`` packs the one-hot label (first 7) and the
    corpus' label mask (last 7); label smoothing spreads over the corpus' own classes only."""
    ops = keras.ops
    n = len(EMOTIONS)

    def loss(y_true, y_pred):
        y_true, y_pred = ops.convert_to_tensor(y_true), ops.convert_to_tensor(y_pred)
        onehot, mask = y_true[:, :n], y_true[:, n:]
        target = (1.0 - smoothing) * onehot + smoothing * mask / ops.sum(mask, axis=1, keepdims=True)
        inside = ops.sum(y_pred * mask, axis=1, keepdims=True)
        log_p = ops.log(ops.clip(y_pred / inside, 1e-7, 1.0))
        return -ops.sum(target * log_p * mask, axis=1)

    return loss


def _targets(encoded: EncodedWindows, windows: np.ndarray, masks: dict[str, np.ndarray]) -> np.ndarray:
    owners = [encoded.utterances[i] for i in encoded.utterance_index[windows]]
    onehot = np.eye(len(EMOTIONS), dtype=np.float32)[[u.label for u in owners]]
    return np.concatenate([onehot, np.stack([masks[u.corpus] for u in owners])], axis=1)


def _batches(encoded: EncodedWindows, windows: np.ndarray, config: EncoderConfig, rng: np.random.Generator):
    """Index batches of windows of similar length (sorted in buckets of 10 frames, batch order shuffled)."""
    order = rng.permutation(windows)
    order = order[np.argsort(encoded.lengths[order] // 10, kind="stable")]
    batches = [order[s : s + config.batch_size] for s in range(0, len(order), config.batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def _batch_inputs(encoded: EncodedWindows, batch: np.ndarray, config: EncoderConfig, rng: np.random.Generator):
    shortest = int(encoded.lengths[batch].min())
    length = max(1, int(round(shortest * rng.uniform(config.min_crop, 1.0))))
    x = []
    for i in batch:
        start = int(rng.integers(0, encoded.lengths[i] - length + 1))
        x.append(encoded.window(int(i), config.blocks, start, length))
    return np.stack(x)


def build(config: EncoderConfig, steps: int) -> keras.Model:
    model = encoder_head(len(config.blocks), channels=config.channels, hidden=config.hidden, dropout=config.dropout,
                         head=config.head)  # fmt: skip
    schedule = keras.optimizers.schedules.CosineDecay(config.lr, decay_steps=max(1, steps), alpha=0.02)
    model.compile(optimizer=keras.optimizers.AdamW(learning_rate=schedule, weight_decay=config.weight_decay),
                  loss=masked_crossentropy(config.label_smoothing))  # fmt: skip
    return model


def _epoch_windows(encoded: EncodedWindows, utterance_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return encoded.drawn(utterance_ids, rng) if len(encoded.variants) > 1 else encoded.subset(utterance_ids)


def fit(encoded: EncodedWindows, utterance_ids: np.ndarray, config: EncoderConfig, run: str | None = None,
        log=print):  # fmt: skip
    """A model fitted on the windows of ``utterance_ids`` (in ``encoded``'s variants) for ``config.epochs``; with
    ``run``, checkpointed after every epoch in ``<cache_dir>/voice_runs/<run>`` and resumed from there."""
    import torch

    if tuple(config.variants) != encoded.variants:
        raise ValueError(f"the recipe's variants {config.variants} are not the encoded ones {encoded.variants}")
    torch.set_num_threads(config.threads)
    if config.head == "probe":
        return _fit_probe(encoded, utterance_ids, config, log)
    masks = corpus_label_masks(encoded.utterances)
    y = _targets(encoded, np.arange(len(encoded)), masks)
    steps_per_epoch = len(_batches(encoded, encoded.subset(utterance_ids), config, np.random.default_rng(0)))
    keras.utils.set_random_seed(config.seed)
    model, start, history = build(config, steps_per_epoch * config.epochs), 0, []
    folder = get_settings().cache_dir / "voice_runs" / run if run else None
    if folder and (folder / "last.keras").exists():
        state = json.loads((folder / "state.json").read_text())
        if state["config"] == _jsonable(config):
            model = keras.saving.load_model(folder / "last.keras", compile=False, safe_mode=True)
            fresh = build(config, steps_per_epoch * config.epochs)
            fresh.set_weights(model.get_weights())
            model, start, history = fresh, state["epoch"], state["history"]
            model.optimizer.iterations.assign(start * steps_per_epoch)
            log(f"resumed {run} after epoch {start}")
    for epoch in range(start, config.epochs):
        rng = np.random.default_rng([config.seed, epoch])
        began, losses = time.time(), []
        windows = _epoch_windows(encoded, utterance_ids, rng)
        weight_of = dict(zip(windows.tolist(), encoded.balance_weights(windows)))
        for batch in _batches(encoded, windows, config, rng):
            x = _batch_inputs(encoded, batch, config, rng)
            weights = np.array([weight_of[i] for i in batch.tolist()], dtype=np.float32)
            losses.append(float(model.train_on_batch(x, y[batch], sample_weight=weights)))
        record = {
            "epoch": epoch + 1,
            "loss": round(float(np.mean(losses)), 4),
            "seconds": round(time.time() - began, 1),
        }
        history.append(record)
        log(json.dumps(record))
        if folder:
            folder.mkdir(parents=True, exist_ok=True)
            model.save(folder / "last.keras")
            (folder / "state.json").write_text(json.dumps({"config": _jsonable(config), "epoch": epoch + 1,
                                                           "history": history}))  # fmt: skip
    return model, history


def _fit_probe(encoded: EncodedWindows, utterance_ids: np.ndarray, config: EncoderConfig, log=print):
    """``--head probe``: the linear head fitted by L-BFGS (``voice_model.probe``); its one record stands for the
    epochs' history."""
    targets = _targets(encoded, np.arange(len(encoded)), corpus_label_masks(encoded.utterances))
    started = time.time()
    model, record = fit_probe(encoded, utterance_ids, config.blocks, targets, log)
    return model, [{**record, "seconds": round(time.time() - started, 1)}]


def _jsonable(config: EncoderConfig) -> dict:
    return json.loads(json.dumps(asdict(config)))


def _speaker_ids(utterances: list[Utterance], speakers: list[str]) -> np.ndarray:
    keep = set(speakers)
    return np.array([i for i, u in enumerate(utterances) if u.speaker in keep])


def cross_validate(config: EncoderConfig, folds: int = 4, by_corpus: bool = False, members: int = 1,
                   held_out_corpora: list[str] | None = None, log=print) -> dict:  # fmt: skip
    """The recipe scored on every train + val speaker by a model that never heard them: ``folds`` groups of speakers
    (each corpus and gender spread over them), or with ``by_corpus`` one corpus held out at a time (trained on the
    others: the stand-in for a corpus never trained on), only those of ``held_out_corpora`` when given (each keeps
    its fold number and seed of the full run). With ``members`` > 1, each fold's model is the mean of that
    many networks from different seeds (the first is the single-network run's, reused from its checkpoint). Test
    speakers are never used. Pooled held-out utterance scores go to
    ``<cache_dir>/voice_runs/<name>/crossval[-corpus][-<members>x].json``, each held-out utterance's probabilities
    beside them (``.npz``), for ``crossval_mean``."""
    utterances = read_manifest()
    split = split_speakers(utterances)
    speakers = split["train"] + split["val"]
    encoded = load_encoded(utterances, config.variants, config.level_dbfs, log=log)
    if by_corpus:
        corpus_of = {u.speaker: u.corpus for u in utterances}
        names = sorted(set(corpus_of.values()))
        groups = [[s for s in speakers if corpus_of[s] == c] for c in names]
        unknown = set(held_out_corpora or ()) - set(names)
        if unknown:
            raise ValueError(f"no such corpus in the manifest: {', '.join(sorted(unknown))}")
    elif held_out_corpora:
        raise ValueError("held-out corpora need by_corpus")
    else:
        groups = speaker_folds(utterances, speakers, folds)
    held_ids, probabilities, per_fold = [], [], []
    started = time.time()
    for k, held in enumerate(groups):
        if held_out_corpora and names[k] not in held_out_corpora:
            continue
        fitted = [s for s in speakers if s not in set(held)]
        fitted_ids, ids = _speaker_ids(utterances, fitted), _speaker_ids(utterances, held)
        p = 0.0
        for m in range(members):
            fold_config = EncoderConfig(**{**asdict(config), "seed": config.seed + k + 1000 * m})
            run = f"{config.name}-cv{'corpus' if by_corpus else folds}-{k}" + (f"-m{m}" if m else "")
            model, _ = fit(encoded, fitted_ids, fold_config, run=run, log=log)
            p = p + utterance_probabilities(model, encoded, ids, config.blocks) / members
        fold = {"held_out": held, "n": len(ids), **headline(corpus_scores([utterances[i] for i in ids], p))}
        log(f"fold {k + 1}/{len(groups)}: {json.dumps(fold)}")
        per_fold.append(fold)
        held_ids.append(ids)
        probabilities.append(p)
    ids, p = np.concatenate(held_ids), np.concatenate(probabilities)
    scores = corpus_scores([utterances[i] for i in ids], p)
    result = {"config": _jsonable(config), "by_corpus": by_corpus, "held_out_corpora": held_out_corpora,
              "members": members, "folds": per_fold, "n": len(ids),
              **headline(scores), "scores": scores, "minutes": round((time.time() - started) / 60, 1)}  # fmt: skip
    stem = _crossval_stem(config.name, by_corpus)
    stem = stem.with_name(stem.name + (f"-{members}x" if members > 1 else ""))
    stem.parent.mkdir(parents=True, exist_ok=True)
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2))
    np.savez(stem.with_suffix(".npz"), paths=np.array([str(utterances[i].path) for i in ids]), probabilities=p)
    return result


def crossval_mean(names: list[str], by_corpus: bool = False, log=print) -> dict:
    """The mean of the held-out probabilities that ``crossval`` saved for each run in ``names`` (single networks,
    the same folds): how an ensemble of those recipes would have scored, without training anything again."""
    utterances = {str(u.path): u for u in read_manifest()}
    runs = []
    for name in names:
        saved = np.load(_crossval_stem(name, by_corpus).with_suffix(".npz"))
        runs.append(dict(zip(saved["paths"].tolist(), saved["probabilities"])))
    paths = sorted(runs[0])
    if any(sorted(run) != paths for run in runs):
        raise ValueError(f"the runs {names} did not hold out the same utterances")
    p = np.mean([[run[path] for path in paths] for run in runs], axis=0)
    result = {"runs": names, "by_corpus": by_corpus, "n": len(paths),
              **headline(corpus_scores([utterances[path] for path in paths], p))}  # fmt: skip
    log(json.dumps(result))
    return result


def _crossval_stem(name: str, by_corpus: bool) -> Path:
    return get_settings().cache_dir / "voice_runs" / name / ("crossval" + ("-corpus" if by_corpus else ""))


def train(config: EncoderConfig, log=print):
    """The shipped fit: the train + val speakers (``refit``) or the train speakers only, last epoch kept."""
    utterances = read_manifest()
    split = split_speakers(utterances)
    fitted = split["train"] + split["val"] if config.refit else split["train"]
    encoded = load_encoded(utterances, config.variants, config.level_dbfs, log=log)
    fitted_ids = _speaker_ids(utterances, fitted)
    windows = encoded.subset(fitted_ids)
    log(f"fitting {config.name} on {len(fitted)} speakers, {len(windows)} windows ({', '.join(config.variants)})")
    started = time.time()
    model, history = fit(encoded, fitted_ids, config, run=config.name, log=log)
    meta = store.ModelMeta(name=config.name, architecture="encoder", features=FeatureParams(),
                           window_seconds=2.0, encoder_blocks=tuple(config.blocks), input_level_dbfs=config.level_dbfs,
                           notes={"encoder": "whisper-base", "fitted_on": "train + val speakers" if config.refit
                                  else "train speakers", "epochs": config.epochs})  # fmt: skip
    folder = store.save(model, meta)
    summary = {
        "config": _jsonable(config),
        "split": split,
        "fitted_speakers": len(fitted),
        "fitted_windows": int(len(windows)),
        "seconds": round(time.time() - started, 1),
        "history": history,
    }
    (folder / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return folder
