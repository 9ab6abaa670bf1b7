"""Evaluation of a face model: accuracy, macro-F1, per-class recall, confusion matrix, calibration (ECE before
and after temperature scaling) and time per face, beside the ``fer`` reference model on the same images.

Temperature is fitted on the even-indexed half of ``val`` and the ECE reported on the odd half, so the
calibration figure is not measured on the data it was fitted to.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from backend import metrics
from backend.config import DEFAULT_CNN_MODEL, DEFAULT_CNN_SMALL_FACE_MODEL, get_settings
from backend.emotions import EMOTIONS
from backend.faces import cnn_store as store
from backend.faces.cnn_int8 import INT8_GRAPH, int8_graph, pixels
from backend.onnx_network import OnnxNetwork

from .crema import crema_table, score_crema
from .data import FaceSet, fer_dir, load_folder
from .reference import FerReference, reference_path
from .train import held_aside_faces, predict_logits_batched
from .video_views import CENTRAL_OFFSET, as_classified

TIMING_BATCH = 32


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The temperature minimising the negative log-likelihood, on a fine grid (robust, no optimiser state)."""
    grid = np.linspace(0.5, 4.0, 141)
    nll = [-np.log(metrics.softmax(logits, t)[np.arange(len(labels)), labels] + 1e-12).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def ms_per_face(predict, images: np.ndarray, repeats: int = 20) -> float:
    """Median milliseconds per face over batches of 32 (flip averaging included where the model does it)."""
    batch = images[:TIMING_BATCH]
    predict(batch)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        predict(batch)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)) / len(batch), 3)


def _scores(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    result = metrics.summary(labels, probabilities.argmax(1), EMOTIONS)
    result["ece"] = round(metrics.expected_calibration_error(probabilities, labels), 4)
    return result


def evaluate_model(name: str, data_dir: Path | None = None, int8: bool = False,
                   temperature: float | None = None) -> dict:  # fmt: skip
    """Scores of the float model, or with ``int8`` of its shipped int8 graph; with ``temperature`` given (the
    float model's, which the runtime applies to both) no temperature is fitted."""
    torch.set_num_threads(2)
    predict = _int8_logits(name) if int8 else _float_logits(name)
    faces = load_folder(data_dir or fer_dir("val"))
    logits = predict(faces.images)
    calibrate, report = np.arange(len(faces.labels)) % 2 == 0, np.arange(len(faces.labels)) % 2 == 1
    if temperature is None:
        temperature = fit_temperature(logits[calibrate], faces.labels[calibrate])
    scores = _scores(faces.labels, metrics.softmax(logits, temperature))
    scores["ece_before_scaling_heldout_half"] = round(
        metrics.expected_calibration_error(metrics.softmax(logits[report]), faces.labels[report]), 4
    )
    scores["ece_after_scaling_heldout_half"] = round(
        metrics.expected_calibration_error(metrics.softmax(logits[report], temperature), faces.labels[report]), 4
    )
    scores["temperature"] = round(temperature, 3)
    scores["ms_per_face_batch32"] = ms_per_face(lambda b: predict(b, TIMING_BATCH), faces.images)
    return {"model": f"{name} int8" if int8 else name, "data": str(data_dir or fer_dir("val")),
            "counts": faces.counts(), "scores": scores}  # fmt: skip


def _int8_logits(name: str) -> Callable[..., np.ndarray]:
    """Logits of uint8 faces from the shipped int8 graph, as the runtime computes them."""
    network = OnnxNetwork(int8_graph(name))

    def logits(images: np.ndarray, batch: int = 512) -> np.ndarray:
        return np.concatenate([network(pixels(images[s : s + batch])) for s in range(0, len(images), batch)])

    return logits


def _float_logits(name: str) -> Callable[..., np.ndarray]:
    model, meta = store.load(name)

    def logits(images: np.ndarray, batch: int = 512) -> np.ndarray:
        return predict_logits_batched(model, images, batch, meta.flip_average)

    return logits


def evaluate_reference(data_dir: Path | None = None) -> dict | None:
    path = reference_path(get_settings().data_dir)
    if not path.exists():
        return None
    faces = load_folder(data_dir or fer_dir("val"))
    reference = FerReference(path)
    scores = _scores(faces.labels, reference.predict_proba(faces.images))
    scores["ms_per_face_batch32"] = ms_per_face(reference.predict_proba, faces.images, repeats=5)
    return {"model": reference.name, "scores": scores}


def confusion_png(matrix: list[list[int]], path: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.array(matrix, dtype=float)
    rows = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6.4, 5.6))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    for i in range(len(EMOTIONS)):
        for j in range(len(EMOTIONS)):
            ax.text(j, i, f"{rows[i, j]:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if rows[i, j] > 0.5 else "black")  # fmt: skip
    ax.set_xticks(range(len(EMOTIONS)), EMOTIONS, rotation=45, ha="right")
    ax.set_yticks(range(len(EMOTIONS)), EMOTIONS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (rows sum to 1)")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| model | accuracy | macro-F1 | UAR | ECE | ms/face (batch 32) |", "|---|---|---|---|---|---|"]
    for label, s in rows:
        lines.append(f"| {label} | {s['accuracy']:.4f} | {s['macro_f1']:.4f} | {s['uar']:.4f} | {s['ece']:.3f} | "
                     f"{s['ms_per_face_batch32']:.2f} |")  # fmt: skip
    return "\n".join(lines)


SIZE_TEMPERATURE_NEEDED = 1.1  # a size table whose largest multiplier is under this changes little


def _role(name: str) -> str:
    below = f"{get_settings().small_face_model_below_px:g} px"
    if name == DEFAULT_CNN_MODEL:
        return (f"It is the default `cnn` face model of EmoClassify for faces of {below} and more in their frame "
                f"and of unknown size; smaller ones go to `{DEFAULT_CNN_SMALL_FACE_MODEL}`.")  # fmt: skip
    if name == DEFAULT_CNN_SMALL_FACE_MODEL:
        return (f"The default `cnn` face model reads with it every face under {below} in its frame, and larger "
                f"ones with `{DEFAULT_CNN_MODEL}` (`EMOCLASSIFY_CNN_MODEL={name}` runs it on every face).")  # fmt: skip
    return f"It is shipped beside the default `{DEFAULT_CNN_MODEL}` (`EMOCLASSIFY_CNN_MODEL={name}` selects it)."


def write_card(name: str) -> Path:
    """Evaluate on ``val``, store the fitted temperature, and write metrics.json, confusion.png and card.md."""
    ours = evaluate_model(name)
    meta = store.read_meta(name)
    meta.temperature = ours["scores"]["temperature"]
    store.write_meta(meta)
    int8 = evaluate_model(name, int8=True, temperature=meta.temperature) if meta.int8 else None
    reference = evaluate_reference()
    folder = store.model_dir(name)
    crema = score_crema(name)
    (folder / "metrics.json").write_text(json.dumps({"ours": ours, "int8": int8, "reference": reference,
                                                     "crema": crema}, indent=2) + "\n")  # fmt: skip
    confusion_png(ours["scores"]["confusion"], folder / "confusion.png", f"{name} on FER2013 val")
    rows = [(f"**{name}** (ours)", ours["scores"])]
    rows += [(f"{name} int8 (what EmoClassify runs)", int8["scores"])] if int8 else []
    rows += [(reference["model"], reference["scores"])] if reference else []
    recall = " · ".join(f"{k} {v:.2f}" for k, v in ours["scores"]["per_class_recall"].items())
    card = CARD.format(
        name=name, table=_table(rows), recall=recall, counts=ours["counts"], n=ours["scores"]["n"], role=_role(name),
        architecture=_architecture(meta), training=_training(meta, json.loads((folder / "training.json").read_text())),
        ece_before=ours["scores"]["ece_before_scaling_heldout_half"],
        ece_after=ours["scores"]["ece_after_scaling_heldout_half"], int8=_int8(meta, ours, int8),
        selection=_selection(meta), unbiased=_unbiased(meta), crema=crema_table(crema), by_size=_by_size(meta),
    )  # fmt: skip
    (folder / "card.md").write_text(card)
    return folder


def _architecture(meta: store.ModelMeta) -> str:
    params = sum(p.numel() for p in meta.build().parameters())
    network = (
        "VGG-style CNN (`backend/faces/cnn_network.py`): stages of two 3x3 conv + batch-norm + ReLU with widths "
        f"{tuple(meta.widths)}, max-pooling between stages, global average pooling, dropout, one linear layer"
    )
    if meta.members > 1:
        network = (
            f"An ensemble of {meta.members} networks of one shape, trained alike from different seeds "
            f"({', '.join(meta.notes['members'])}), whose logits are averaged. Each is a {network}"
        )
    flip = (
        "At run time the prediction is averaged with the mirrored face (test-time flip, included in the timing "
        "below) and the "
        if meta.flip_average
        else "At run time the "
    )
    return (
        f"{network}; {params:,} parameters in all. Input: 48x48 grayscale, each image standardised to zero mean "
        f"and unit variance inside the network. {flip}logits are divided by the fitted temperature "
        f"{meta.temperature}."
    )


def _training(meta: store.ModelMeta, training: dict) -> str:
    runs = training["members"] if meta.members > 1 else {meta.name: training}
    lines = []
    for run, record in runs.items():
        history = record["history"]
        on = "holdout" if "holdout_accuracy" in history[-1] else "val"  # where the epoch was selected
        scored = [h for h in history if f"{on}_accuracy" in h]  # a run that keeps its last epoch scores only that
        best = max(scored, key=lambda h: (h[f"{on}_accuracy"] + h[f"{on}_macro_f1"]) / 2)
        minutes = sum(h["seconds"] for h in history) / 60
        lines.append(
            f"- `{run}`: {len(history)} epochs, best epoch {best['epoch']} ({on} accuracy "
            f"{best[f'{on}_accuracy']:.3f}, macro-F1 {best[f'{on}_macro_f1']:.3f}), {minutes:.0f} min of CPU "
            f"training; configuration `{json.dumps(record['config'])}`."
        )
    return "\n".join(lines)


def _selected_on(meta: store.ModelMeta) -> str:
    """Where the epoch was chosen: ``val`` (cnn-v1, cnn-v2) or ``holdout``; an ensemble's members all alike."""
    notes = next(iter(meta.notes["members"].values())) if meta.members > 1 else meta.notes
    return notes.get("selected_on", "val")


def _selection(meta: store.ModelMeta) -> str:
    if _selected_on(meta) == "holdout":
        return "a fixed 10 % of `train` held aside (never trained on; `--holdout`)"
    return "`val`"


def _by_size(meta: store.ModelMeta) -> str:
    if not meta.size_temperatures:
        return ""
    table = ", ".join(f"{size} px x{scale}" for size, scale in meta.size_temperatures.items())
    how = (f"A face smaller in its frame gets a higher temperature ({table}; interpolated between): the network "
           "does not grow unsure as fast as a small face loses detail."
           if max(meta.size_temperatures.values()) > SIZE_TEMPERATURE_NEEDED else
           f"The temperature hardly changes with the face's size in its frame ({table}): the network, trained on "
           "faces seen that small, already grows unsure as they lose detail.")  # fmt: skip
    return (f"{how} Fitted on the part of `train` held aside, each face seen as a video delivers it at that size "
            "(`python -m face_model calibrate`).\n")  # fmt: skip


def _unbiased(meta: store.ModelMeta) -> str:
    if _selected_on(meta) == "holdout":
        return "The epoch was selected on the part of `train` held aside, not on `val`: these figures are unbiased."
    return (
        "The `val` split was also used to select the epoch, so these figures are slightly optimistic; the "
        "held-out half\nof the test set, kept out of reach of the developers, gives the unbiased figure."
    )


def _int8(meta: store.ModelMeta, ours: dict, int8: dict | None) -> str:
    if int8 is None:
        return "No int8 graph is shipped with this model: the runtime runs the float weights."
    mine, full = int8["scores"], ours["scores"]
    return (
        f"**int8.** The runtime runs `{INT8_GRAPH}`: the same network in onnxruntime, quantized to int8 "
        f"(`python -m face_model quantize`; {meta.int8['format']}, from {meta.int8['calibration']}). "
        f"Against the float weights: accuracy {mine['accuracy']:.4f} / "
        f"{full['accuracy']:.4f}, macro-F1 {mine['macro_f1']:.4f} / {full['macro_f1']:.4f}, "
        f"{mine['ms_per_face_batch32']:.2f} / {full['ms_per_face_batch32']:.2f} ms a face. "
        "`EMOCLASSIFY_FACE_INT8=0` runs the float weights."
    )


def score_holdout(name: str, fraction: float, int8: bool = False, size: int | None = None) -> str:
    """One line of scores on the part of ``train`` held aside (``train --holdout``), for the float weights
    (flip-averaged), as training scored its epochs, or for the shipped int8 graph: the figure a round's rule
    compares, ``val`` left untouched."""
    return "holdout " + _one_line(_scores(name, held_aside_faces(fraction), int8, size), size)


def score_folder(name: str, data_dir: Path, size: int | None = None) -> str:
    """One line of scores on ``data_dir``, for the model as the runtime runs it (int8 where shipped)."""
    return _one_line(folder_scores(name, data_dir, size), size)


def folder_scores(name: str, data_dir: Path, size: int | None = None) -> dict:
    """Accuracy, macro-F1 and count (``metrics.summary``) on ``data_dir``, the model run as the runtime runs it."""
    return _scores(name, load_folder(data_dir), bool(store.read_meta(name).int8), size)


def _scores(name: str, faces: FaceSet, int8: bool, size: int | None) -> dict:
    """With ``size``, each face is first seen as a video delivers a face of that short side (``video_views``, the
    central offset)."""
    images = faces.images
    if size is not None:
        images = np.stack([as_classified(face, size, CENTRAL_OFFSET) for face in images])
    logits = (_int8_logits(name) if int8 else _float_logits(name))(images)
    return metrics.summary(faces.labels, logits.argmax(1), EMOTIONS)


def _one_line(scores: dict, size: int | None) -> str:
    return (f"{'' if size is None else f'at {size} px '}accuracy={scores['accuracy']:.4f} "
            f"macro_f1={scores['macro_f1']:.4f} score={(scores['accuracy'] + scores['macro_f1']) / 2:.4f} "
            f"n={scores['n']}")  # fmt: skip


CARD = """# Face model card: `{name}`

**What it does.** Classifies a face crop into the 7 FER2013 expressions (angry, disgust, fear, happy, neutral,
sad, surprise). {role} It runs on a CPU.

**Architecture.** {architecture}

**Training.** `python -m face_model train` on FER2013 `train`; the epoch with the best (accuracy + macro-F1) / 2
on {selection} is kept. SGD with Nesterov momentum, cosine schedule with one warm-up epoch, label smoothing 0.1, class
weights (inverse frequency)^0.5, augmentation: flips, rotation ±12°, scale, shifts, brightness/contrast, random
erasing.

{training}

## Results on FER2013 `val` ({n} images: half of the official test set)

{table}

{int8}

Per-class recall (ours): {recall}.
Counts: {counts}.

Calibration: temperature fitted on the even-indexed half of `val`; expected calibration error on the other
half {ece_before} before and {ece_after} after scaling. The ECE in the table is on all of `val`, after scaling.
{by_size}{unbiased}

![confusion matrix](confusion.png)

## Real video: CREMA-D actor 1001, every frame

{crema}

## Limits and caveats

- FER2013 faces are low-resolution web images, mostly frontal, of adults; expressions are often posed.
  Accuracy on spontaneous expressions, profile views, children, occluded faces and unusual lighting is lower.
- The 7 labels describe facial *expressions*, not inner feelings: a smile is not proof of happiness.
- `disgust` has ten times fewer training images than the other classes and is the least reliable class.
- Faces smaller than 24 px are marked low-confidence in results.
- License: FER2013 has no open license (Kaggle competition terms; image rights never cleared). This model was
  trained on it for research and evaluation; shipping it is at the project's own risk.
"""
