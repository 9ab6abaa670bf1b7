"""Training of the face-expression CNN on FER2013 ``train``.

The epoch is selected by (accuracy + macro-F1) / 2 on a part of ``train`` held aside (``holdout``, a fixed 10 %
chosen by a hash of each file's name, every class in proportion), so that ``val`` stays an unbiased figure; with
``holdout=0`` (how ``cnn-v2`` was made) it is selected on ``val``. Checkpoints after every epoch (model, optimiser,
history, the best weights so far) live under ``Settings.runs_dir``, outside the checkout, so a run continues in a
later session with the same command.

With a ``teacher`` (a trained model, such as an ensemble of several networks), the network also learns the
teacher's view of each face (Hinton et al., 2015): half of the loss is the cross-entropy with the teacher's
flip-averaged probabilities at temperature 2, computed once on the unaugmented faces (a few seconds, where
running the teacher on every augmented batch would double each epoch on a CPU).
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from backend import metrics
from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.faces import cnn_store as store
from backend.faces.cnn_network import predict_logits

from .augment import augment
from .data import FaceSet, fer_dir, load_folder
from .films import augment_mixed, film_folds, film_of
from .video_views import FACE_SIZES, VIEW_OFFSETS, as_classified


@dataclass
class TrainConfig:
    name: str = "cnn-v2"  # the defaults reproduce the shipped model
    epochs: int = 36
    batch_size: int = 128
    lr: float = 0.05
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    widths: tuple[int, ...] = (32, 64, 128, 256)
    dropout: float = 0.3
    class_weight_power: float = 0.5  # 0 = plain, 1 = fully inverse-frequency
    seed: int = 1
    threads: int = 2
    holdout: float = 0.0  # share of train held aside for selecting the epoch; 0: select on val (cnn-v2)
    cutmix: float = 0.0  # probability per batch of CutMix (a box of another face pasted in, labels mixed by area)
    teacher: str | None = None  # a model in face_model/models whose view of each face the network also learns
    bf16: bool = False  # bfloat16 autocast: 2-3x faster a step on a CPU with AVX-512 BF16; weights stay float32
    init: str | None = None  # a trained model (one network of these widths) whose weights the run starts from
    video_views: float = 0.0  # probability per face of seeing it as a video delivers it (video_views.seen_at)
    films: str | None = None  # a folder of faces from films (SFEW: <emotion>/<film>_<timestamp>_<frame>.png) mixed in
    film_repeats: int = 4  # times each film face is seen an epoch (with the heavier augmentation of ``films``)
    film_folds: int = 0  # with ``films``: the films dealt into this many folds (``films.film_folds``) ...
    film_fold_out: int = -1  # ... and the faces of this fold left out (cross-validation); -1: every film trains
    fer_per_epoch: int = 0  # FER2013 faces drawn afresh each epoch (0: all of them): a fine-tune's epochs stay short
    keep_last: bool = False  # keep the last epoch rather than the best on the holdout (an epoch count fixed before)


DISTILL_TEMPERATURE = 2.0
DISTILL_WEIGHT = 0.5  # share of the loss that follows the teacher


def to_tensor(images: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(images).float().div_(255).unsqueeze(1)


def predict_logits_batched(
    model: torch.nn.Module, images: np.ndarray, batch: int = 512, flip_average: bool = True
) -> np.ndarray:
    """Logits of uint8 (N, 48, 48) faces (flip-averaged by default), in batches to bound memory."""
    return np.concatenate(
        [
            predict_logits(model, to_tensor(images[s : s + batch]), flip_average).numpy()
            for s in range(0, len(images), batch)
        ]
    )


def class_weights(labels: np.ndarray, power: float) -> torch.Tensor:
    counts = np.bincount(labels, minlength=len(EMOTIONS)).astype(float)
    weights = (counts.max() / np.maximum(counts, 1)) ** power
    return torch.tensor(weights / weights.mean(), dtype=torch.float32)


def _lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1 + math.cos(math.pi * progress))


def _run_dir(name: str) -> Path:
    return get_settings().runs_dir / "face" / name


HOLDOUT_SALT = "emoclassify-face-holdout-v1"


def held_aside(files: list[str], fraction: float) -> np.ndarray:
    """True for the files held aside: those whose salted name hash falls in the first ``fraction`` of the range
    (a fixed, reproducible choice; about ``fraction`` of each class, as the names are unrelated to the labels)."""
    keys = [int(hashlib.sha1(f"{HOLDOUT_SALT}:{name}".encode()).hexdigest()[:8], 16) / 16**8 for name in files]
    return np.array(keys) < fraction


def _subset(faces: FaceSet, keep: np.ndarray) -> FaceSet:
    return FaceSet(faces.images[keep], faces.labels[keep], [f for f, k in zip(faces.files, keep) if k])


def held_aside_faces(fraction: float) -> FaceSet:
    """The faces of ``train`` that ``train --holdout fraction`` holds aside (never trained on)."""
    train_set = load_folder(fer_dir("train"))
    return _subset(train_set, held_aside(train_set.files, fraction))


def cutmix(x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Each face with a box of another face of the batch pasted in (Yun et al., 2019): the mixed images, the
    partner of each, and the share of the original left (the weight of its own label)."""
    n, _, h, w = x.shape
    partner = torch.randperm(n, generator=generator)
    lam = float(torch.rand(1, generator=generator))
    bh, bw = round(h * math.sqrt(1 - lam)), round(w * math.sqrt(1 - lam))
    top = int(torch.randint(0, h - bh + 1, (1,), generator=generator))
    left = int(torch.randint(0, w - bw + 1, (1,), generator=generator))
    mixed = x.clone()
    mixed[:, :, top : top + bh, left : left + bw] = x[partner, :, top : top + bh, left : left + bw]
    return mixed, partner, 1 - bh * bw / (h * w)


def train(config: TrainConfig, log=print, root: Path | None = None) -> Path:
    """Train and write the kept epoch's model into ``root`` (default: face_model/models); returns its folder."""
    torch.manual_seed(config.seed)
    torch.set_num_threads(config.threads)
    train_set: FaceSet = load_folder(fer_dir("train"))
    if config.holdout > 0:
        aside = held_aside(train_set.files, config.holdout)
        train_set, select_set, selected_on = _subset(train_set, ~aside), _subset(train_set, aside), "holdout"
    else:
        select_set, selected_on = load_folder(fer_dir("val")), "val"
    fer_count = len(train_set.labels)
    if config.films:
        train_set = _with_films(train_set, config, log)
    log(f"train {len(train_set.labels)} images {train_set.counts()}; epochs selected on {selected_on} "
        f"({len(select_set.labels)} images)")  # fmt: skip

    meta = store.ModelMeta(name=config.name, widths=config.widths, dropout=config.dropout)
    # channels-last: oneDNN's convolutions (forward and backward) run ~20 % faster in that layout on this CPU.
    model = meta.build()
    if config.init:
        start, start_meta = store.load(config.init)
        if start_meta.members > 1 or tuple(start_meta.widths) != tuple(config.widths):
            raise ValueError(f"--init {config.init}: one network of widths {config.widths} is needed")
        model.load_state_dict(start.state_dict())
    model = model.to(memory_format=torch.channels_last)
    optimiser = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
    )
    weights = class_weights(train_set.labels, config.class_weight_power)
    epoch_faces = _epoch_order(fer_count, len(train_set.labels), config, torch.Generator())
    steps_per_epoch = math.ceil(len(epoch_faces) / config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    run_dir = _run_dir(config.name)
    run_dir.mkdir(parents=True, exist_ok=True)
    checkpoint_path = run_dir / "checkpoint.pt"
    history: list[dict] = []
    best_score, start_epoch = -1.0, 0
    if checkpoint_path.exists():
        state = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        optimiser.load_state_dict(state["optimiser"])
        history = json.loads(state["history"])
        best_score, start_epoch = state["best_score"], state["epoch"] + 1
        log(f"resumed from {checkpoint_path} after epoch {state['epoch'] + 1}")

    images = to_tensor(train_set.images)
    labels = torch.from_numpy(train_set.labels)
    soft = _teacher_probabilities(config.teacher, train_set.images, log) if config.teacher else None
    generator = torch.Generator().manual_seed(config.seed)
    for epoch in range(start_epoch, config.epochs):
        generator.manual_seed(config.seed * 1000 + epoch)
        model.train()
        started, running = time.time(), 0.0
        order = _epoch_order(fer_count, len(labels), config, generator)
        for i in range(steps_per_epoch):
            for group in optimiser.param_groups:
                group["lr"] = _lr_at(epoch * steps_per_epoch + i, total_steps, steps_per_epoch, config.lr)
            idx = order[i * config.batch_size : (i + 1) * config.batch_size]
            if config.video_views:  # the views start from the uint8 faces, not the float tensor
                faces = to_tensor(video_view_batch(train_set.images[idx.numpy()], config.video_views, generator))
            else:
                faces = images[idx]
            x = augment_mixed(faces, idx >= fer_count, generator) if config.films else augment(faces, generator)
            y = labels[idx]
            mixed = bool(config.cutmix) and float(torch.rand(1, generator=generator)) < config.cutmix
            if mixed:
                x, partner, own = cutmix(x, generator)
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.bf16):
                logits = model(x.contiguous(memory_format=torch.channels_last))
            logits = logits.float()
            loss = _loss(logits, y, weights, config)
            if mixed:  # labels weighed by the area each face keeps
                loss = own * loss + (1 - own) * _loss(logits, y[partner], weights, config)
            if soft is not None:
                target = own * soft[idx] + (1 - own) * soft[idx][partner] if mixed else soft[idx]
                loss = (1 - DISTILL_WEIGHT) * loss + DISTILL_WEIGHT * distillation_loss(logits, target)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.item()
        record = {"epoch": epoch + 1, "loss": round(running / steps_per_epoch, 4)}
        if not config.keep_last or epoch + 1 == config.epochs:  # with keep_last no earlier epoch is chosen
            scores = metrics.summary(select_set.labels, predict_logits_batched(model, select_set.images).argmax(1),
                                     EMOTIONS)  # fmt: skip
            record |= {f"{selected_on}_accuracy": scores["accuracy"], f"{selected_on}_macro_f1": scores["macro_f1"]}
            score = (scores["accuracy"] + scores["macro_f1"]) / 2
            if score > best_score or config.keep_last:
                best_score = score
                meta.notes = {"selected_epoch": epoch + 1, "selected_on": selected_on,
                              f"{selected_on}_accuracy": scores["accuracy"],
                              f"{selected_on}_macro_f1": scores["macro_f1"]}  # fmt: skip
                store.save(model, meta, root=run_dir)  # the best so far, kept with the run (outside the checkout)
        record["seconds"] = round(time.time() - started, 1)
        history.append(record)
        log(json.dumps(record))
        torch.save(
            {
                "model": model.state_dict(),
                "optimiser": optimiser.state_dict(),
                "history": json.dumps(history),
                "best_score": best_score,
                "epoch": epoch,
            },
            checkpoint_path,
        )
        (run_dir / "training.json").write_text(
            json.dumps({"config": {k: v for k, v in vars(config).items()}, "history": history}, indent=2) + "\n"
        )
    best, best_meta = store.load(config.name, root=run_dir)
    folder = store.save(best, best_meta, root)  # by default into face_model/models: what gets committed
    shutil.copy(run_dir / "training.json", folder / "training.json")
    return folder


def _with_films(fer: FaceSet, config: TrainConfig, log) -> FaceSet:
    """FER2013's training faces followed by the film faces that train (those outside the fold left out)."""
    films = load_folder(Path(config.films))
    if config.film_fold_out >= 0:
        films = _subset(films, film_folds(films.files, config.film_folds) != config.film_fold_out)
    log(f"films: {len(films.labels)} faces of {len({film_of(f) for f in films.files})} films, each seen "
        f"{config.film_repeats} times an epoch")  # fmt: skip
    return FaceSet(np.concatenate([fer.images, films.images]), np.concatenate([fer.labels, films.labels]),
                   fer.files + films.files)  # fmt: skip


def _epoch_order(fer_count: int, total: int, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """The faces of one epoch, shuffled: FER2013's (all, or ``fer_per_epoch`` drawn afresh), then each face after
    them (from films) ``film_repeats`` times."""
    fer = torch.randperm(fer_count, generator=generator)
    if config.fer_per_epoch:
        fer = fer[: config.fer_per_epoch]
    films = torch.arange(fer_count, total).repeat(config.film_repeats if config.films else 1)
    chosen = torch.cat([fer, films])
    return chosen[torch.randperm(len(chosen), generator=generator)]


def video_view_batch(faces: np.ndarray, share: float, generator: torch.Generator) -> np.ndarray:
    """uint8 (N, 48, 48) faces, each replaced with probability ``share`` by its view as a video delivers it at a
    size below full detail and at one of the view offsets (``video_views``), brought back to 48 px as the runtime
    classifier does: the network learns faces that are small in their frame and compressed there."""
    if not share:
        return faces
    out = faces.copy()
    draws = torch.rand(len(faces), 3, generator=generator).numpy()
    small_sizes = [size for size in FACE_SIZES if size < faces.shape[-1]]
    for i in np.flatnonzero(draws[:, 0] < share):
        size = small_sizes[int(draws[i, 1] * len(small_sizes))]
        offset = VIEW_OFFSETS[int(draws[i, 2] * len(VIEW_OFFSETS))]
        out[i] = as_classified(faces[i], size, offset)
    return out


def _teacher_probabilities(name: str, images: np.ndarray, log) -> torch.Tensor:
    teacher, _ = store.load(name)
    log(f"soft targets from {name} on {len(images)} faces")
    logits = torch.from_numpy(predict_logits_batched(teacher, images))
    return torch.softmax(logits / DISTILL_TEMPERATURE, dim=1)


def distillation_loss(logits: torch.Tensor, teacher_probabilities: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of the network's tempered distribution against the teacher's, scaled by T² so that its
    gradients keep the size of the hard labels' (Hinton et al., 2015)."""
    log_probabilities = F.log_softmax(logits / DISTILL_TEMPERATURE, dim=1)
    return -(teacher_probabilities * log_probabilities).sum(dim=1).mean() * DISTILL_TEMPERATURE**2


def _loss(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor, config: TrainConfig) -> torch.Tensor:
    return F.cross_entropy(logits, labels, weight=weights, label_smoothing=config.label_smoothing)
