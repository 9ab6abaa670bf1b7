"""Evaluation of a voice model on the held-out (test) speakers: accuracy, macro-F1 and UAR, per corpus and
overall, on the 7 labels and on the original model's 6-way collapse (fear, negative = angry + disgust, neutral,
happy, sad, surprise), beside ``seed_model3.h5`` run with its own preprocessing on the same files.

Everything is deterministic (cached features, inference mode), so a rerun reproduces the committed metrics.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np

from backend.config import DEFAULT_VOICE_MODEL, get_settings
from backend.emotions import EMOTIONS
from backend.voice import store
from backend.voice.models.legacy import LegacyModel

from .augment import VARIANTS
from .data import (
    COLLAPSED6,
    TEST_FRACTION,
    VAL_FRACTION,
    FeatureSet,
    Utterance,
    load_features,
    read_manifest,
    split_speakers,
)
from .scores import corpus_scores
from .train import TrainConfig, predict_utterances

LEGACY_PREFIX = "legacy:"
TARGET_F1_6 = 0.60  # issue 4: 6-way macro-F1 on speakers the model never heard


def reference_path() -> Path:
    return get_settings().data_dir.parent / "reference" / "seed_model3.h5"


def probabilities(name: str, utterances: list[Utterance], features: FeatureSet | None = None) -> np.ndarray:
    """(N, 7) utterance probabilities from a shipped model ``name`` or a ``legacy:PATH`` original-format model."""
    if name.startswith(LEGACY_PREFIX):
        return LegacyModel(Path(name[len(LEGACY_PREFIX) :])).predict_files([u.path for u in utterances])
    model, meta = store.load(name)
    if meta.architecture == "encoder":
        from .encoded import load_encoded
        from .encoder_outputs import utterance_probabilities

        encoded = load_encoded(utterances, level_dbfs=meta.input_level_dbfs)
        return utterance_probabilities(model, encoded, np.arange(len(utterances)), meta.encoder_blocks)
    features = features or load_features(utterances, meta.features, "clean")
    return predict_utterances(model, features.features, meta.features, meta.input_frames)


CREMA_D_LABELS = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}


def other_corpus_clips() -> list[Utterance]:
    """The CREMA-D clips in ``<data>/video`` (``<actor>_<sentence>_<EMO>_<level>.wav``): speakers of another corpus
    than the training one, labelled by their names. Few, but the only cross-corpus check the shared data allows."""
    clips = []
    for path in sorted((get_settings().data_dir / "video").glob("*_*_*_*.wav")):
        actor, _, code, _ = path.stem.split("_")
        if code in CREMA_D_LABELS:
            clips.append(Utterance(path, "crema-d", f"cremad_{actor}", "", CREMA_D_LABELS[code], code))
    return clips


def ms_per_window(name: str, repeats: int = 5) -> float:
    """Median milliseconds per 2 s window in batches of 64 through the run-time path (features + network)."""
    from backend.voice.models import shipped_voice_model

    model = shipped_voice_model(name, get_settings())
    rng = np.random.default_rng(0)
    windows = list(rng.standard_normal((64, 2 * model.sample_rate)).astype(np.float32))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(windows)
        times.append(time.perf_counter() - started)
    return round(1000 * float(np.median(times)) / len(windows), 3)


def evaluate(name: str, reference: bool = True) -> dict:
    import torch

    torch.set_num_threads(2)
    utterances = read_manifest()
    split = split_speakers(utterances)
    meta = store.read_meta(name)
    clean = load_features(utterances, meta.features, "clean")
    result: dict = {"model": name, "split": split, "counts": {}, "ours": {}, "reference": None}
    for part in ("train", "val", "test"):
        subset = clean.subset(split[part])
        result["counts"][part] = {
            "files": len(subset.utterances),
            "speakers": len(split[part]),
            "emotions": {e: sum(u.emotion == e for u in subset.utterances) for e in EMOTIONS},
        }
        if part != "train":
            result["ours"][part] = corpus_scores(subset.utterances, probabilities(name, subset.utterances, subset))
    result["timing"] = {"ms_per_window_batch64": ms_per_window(name)}
    path = reference_path()
    use_reference = reference and path.exists()
    if use_reference:
        test = clean.subset(split["test"]).utterances
        result["reference"] = {"model": "seed_model3.h5 (original project)", "path": str(path),
                               "test": corpus_scores(test, probabilities(LEGACY_PREFIX + str(path), test))}  # fmt: skip
    clips = other_corpus_clips()
    if clips:
        result["other_corpus"] = {"files": [c.path.name for c in clips],
                                  "ours": corpus_scores(clips, probabilities(name, clips))["all"]}  # fmt: skip
        if use_reference:
            legacy = probabilities(LEGACY_PREFIX + str(path), clips)
            result["other_corpus"]["reference"] = corpus_scores(clips, legacy)["all"]
    return result


def _row(label: str, s: dict) -> str:
    a, b = s["labels7"], s["collapsed6"]
    return (
        f"| {label} | {a['accuracy']:.3f} | {a['macro_f1']:.3f} | {a['uar']:.3f} | {b['accuracy']:.3f} | "
        f"{b['macro_f1']:.3f} | {b['uar']:.3f} | {a['n']} |"
    )


def scores_table(rows: list[tuple[str, dict]]) -> str:
    head = ["| model · speakers | 7-way acc | 7-way macro-F1 | 7-way UAR | 6-way acc | 6-way macro-F1 | 6-way UAR "
            "| n |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    return "\n".join(head + [_row(label, s) for label, s in rows])


def _experiments(folder: Path) -> str:
    path = folder / "experiments.json"
    if not path.exists():
        return "(none recorded)"
    lines = ["| run | what changed | val 6-way macro-F1 | test 7-way macro-F1 | test 6-way macro-F1 | minutes |",
             "|---|---|---|---|---|---|"]  # fmt: skip

    def cell(value) -> str:
        return "—" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    for e in json.loads(path.read_text()):
        values = [e["run"], e["what"], e.get("val_f1_6"), e.get("test_f1_7"), e.get("test_f1_6")]
        minutes = "—" if e.get("minutes") is None else f"{e['minutes']:.1f}"
        lines.append("| " + " | ".join(cell(v) for v in values) + f" | {minutes} |")
    return "\n".join(lines)


ARCHITECTURE_TEXT = {
    "improved": "the original's two Conv1D layers (256 k5 and 128 k5, ReLU, dropout 0.2 / 0.1) with shorter max-pools "
    "(4, 2), then global average + max pooling over time instead of Flatten, dropout 0.3, Dense 64, Dense 7 softmax; "
    "any input length (trained on 2 s crops, evaluated on whole trimmed utterances, run on 2 s windows)",
    "baseline": "the original architecture (Conv1D 256 k5 → ReLU → MaxPool 8 → Dropout 0.2 → Conv1D 128 k5 → ReLU → "
    "MaxPool 4 → Dropout 0.1 → Flatten → Dense 64 → Dense 7 → softmax) on a fixed input of 225 frames "
    "(centre crop or zero padding)",
}


def _recipe(config: dict) -> str:
    optimiser = "AdamW" if config.get("weight_decay") else "Adam"
    parts = [f"{optimiser}, learning rate {config['lr']}" + (" with a cosine schedule" if config["architecture"] ==
             "improved" else " (constant)"), f"batch {config['batch_size']}"]  # fmt: skip
    if config.get("label_smoothing"):
        parts.append(f"label smoothing {config['label_smoothing']}")
    if config.get("class_weights"):
        parts.append("class weights (inverse frequency: neutral, with calm, is the largest class)")
    if config.get("augment"):
        variants = [v for v in config.get("variants", VARIANTS) if v != "clean"]
        noisy = "; noisy = white, pink or brown noise at 10-30 dB SNR" if any("noisy" in v for v in variants) else ""
        parts.append(f"per epoch {config['crops_per_file']} random {config['window_seconds']:g} s crop(s) of each "
                     f"training file (time shift) from a random cached waveform variant (clean, {', '.join(variants)}: "
                     f"slow / fast = speed 0.9 / 1.1 by resampling, i.e. tempo and pitch together{noisy})")  # fmt: skip
        if config.get("spec_augment", True):
            parts.append("SpecAugment-style masks (2 time spans ≤ 0.2 s, one band of ≤ 6 coefficients)")
    else:
        parts.append("no augmentation (the centred clip of each training file, as the original)")
    parts.append("level (gain) changes are removed by the per-input normalisation")
    return "; ".join(parts) + "."


def _architecture(meta: store.ModelMeta, members: int) -> str:
    text = f"`voice_model/network.py` architecture `{meta.architecture}`: {ARCHITECTURE_TEXT[meta.architecture]}"
    if members == 1:
        return text
    return f"the mean of the probabilities of {members} networks of the same {text}"


def _training(name: str, members: dict[str, dict]) -> str:
    """How the model (or each member of an ensemble) was trained and selected, from its training records."""

    def run(record: dict) -> str:
        kept = (
            "last epoch kept"
            if record["config"].get("refit")
            else f"epoch {max(record['history'], key=lambda epoch: epoch['val_macro_f1_6'])['epoch']} selected"
        )
        minutes = record["seconds"] / 60
        return f"seed {record['config']['seed']}, {len(record['history'])} epochs, {minutes:.1f} min, {kept}"

    if _refit(members):
        common = ("on the train and validation speakers together, on a 2-core CPU often shared with other work, "
                  "for a number of epochs fixed beforehand (recipe and epoch count were chosen on earlier runs, "
                  "see What was tried; the final fit: more voices, no choice made on them); the last epoch is "
                  "kept")  # fmt: skip
    else:
        common = ("on the train speakers, on a 2-core CPU often shared with other work; the epoch with the best "
                  "validation-speaker 6-way macro-F1 is kept")  # fmt: skip
    if len(members) == 1:
        return f"`python -m voice_model train` {common} ({run(next(iter(members.values())))})."
    listed = "; ".join(f"`{member}` ({run(record)})" for member, record in members.items())
    config = next(iter(members.values()))["config"]
    flags = (f" --refit --epochs {config['epochs']}" if _refit(members) else "") + _recipe_flags(config)
    return (
        f"{len(members)} models trained by `python -m voice_model train --seed N{flags}` with one recipe, {common}: "
        f"{listed}; then `python -m voice_model ensemble --name {name} --members ...` averages their "
        "probabilities. The members and their number were fixed before any of them was scored on the test "
        "speakers."
    )


def _recipe_flags(config: dict) -> str:
    """The ``train`` options that give a recorded configuration's features and augmentation, where not the
    defaults."""
    defaults = TrainConfig()
    flags = ""
    if config.get("features", defaults.features) != defaults.features:
        flags += f" --features {config['features']}"
    if tuple(config.get("variants", defaults.variants)) != defaults.variants:
        flags += f" --variants {','.join(config['variants'])}"
    if config.get("spec_augment", defaults.spec_augment) != defaults.spec_augment:
        flags += " --spec-augment" if config["spec_augment"] else " --no-spec-augment"
    return flags


def _refit(members: dict[str, dict]) -> bool:
    """Whether the model was fitted on the validation speakers too (then its validation scores are not held out)."""
    return any(record["config"].get("refit") for record in members.values())


def _against_target(f1_6: float) -> str:
    verdict = "Meets" if f1_6 >= TARGET_F1_6 else "Below"
    return (
        f"{verdict} the issue's target: 6-way macro-F1 {f1_6:.3f} on held-out speakers against the target "
        f"{TARGET_F1_6:.2f}, on 4 actors only (see the margin of error below)."
    )


def other_corpus_text(result: dict) -> str:
    """The card's sentence on the CREMA-D clips: how many each model gets right, or that there were none."""
    other = result.get("other_corpus")
    if not other:
        return "no clip of another corpus was found in the shared data to check this."

    def right(scores: dict) -> str:
        n = scores["labels7"]["n"]
        return (f"{round(scores['labels7']['accuracy'] * n)} of {n} right "
                f"({round(scores['collapsed6']['accuracy'] * n)} on the 6-way collapse)")  # fmt: skip

    text = (f"on the {len(other['files'])} CREMA-D clips in `../shared/data/video` (another corpus, other speakers) "
            f"this model gets {right(other['ours'])}")  # fmt: skip
    if "reference" in other:
        text += f", seed_model3.h5 {right(other['reference'])} (and it was trained on CREMA-D)"
    return text + ". So few clips prove little."


def counts_table(counts: dict) -> str:
    lines = ["| split | speakers | files | " + " | ".join(EMOTIONS) + " |", "|---" * (3 + len(EMOTIONS)) + "|"]
    for part, c in counts.items():
        per_emotion = " | ".join(str(c["emotions"][e]) for e in EMOTIONS)
        lines.append(f"| {part} | {c['speakers']} | {c['files']} | {per_emotion} |")
    return "\n".join(lines)


def role_text(name: str) -> str:
    if name == DEFAULT_VOICE_MODEL:
        return "It is EmoClassify's default voice model."
    return f"It is shipped beside the default `{DEFAULT_VOICE_MODEL}` (`--voice-model {name}` selects it)."


def record_scores(name: str, result: dict) -> tuple[Path, dict, store.ModelMeta, dict]:
    """Write a model's ``metrics.json`` and test confusion matrix; ``(folder, test scores, meta, training record)``
    for its card."""
    from face_model.evaluate import confusion_png

    folder = store.model_dir(name)
    (folder / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    test = result["ours"]["test"]
    confusion_png(test["all"]["labels7"]["confusion"], folder / "confusion.png", f"{name}: held-out speakers")
    return folder, test, store.read_meta(name), json.loads((folder / "training.json").read_text())


def write_mfcc_card(name: str, reference: bool = True) -> Path:
    """The card of an MFCC model (an encoder model's is :func:`voice_model.encoder_card.write_card`)."""
    result = evaluate(name, reference)
    folder, test, meta, training = record_scores(name, result)
    members = training.get("members", {name: training})  # an ensemble keeps each member's training record
    first = next(iter(members.values()))
    rows = [(f"**{name}** · test ({corpus})", s) for corpus, s in test.items() if corpus != "all"]
    if len(test) > 2:
        rows.append((f"**{name}** · test (all corpora)", test["all"]))
    seen = "seen in training" if _refit(members) else "model selection"
    rows.append((f"{name} · val ({seen})", result["ours"]["val"]["all"]))
    if result["reference"]:
        ref = result["reference"]["test"]
        rows += [(f"seed_model3.h5 · test ({corpus})", s) for corpus, s in ref.items() if corpus != "all"]
    params = store.load(name)[0].count_params()
    counts = result["counts"]
    card = CARD.format(
        name=name, table=scores_table(rows), split=json.dumps(result["split"]), counts=counts_table(counts),
        role=role_text(name), architecture=_architecture(meta, len(members)), training=_training(name, members),
        recipe=_recipe(first["config"]),
        n_fit_speakers=counts["train"]["speakers"] + (counts["val"]["speakers"] if _refit(members) else 0),
        n_train=counts["train"]["files"], n_val=counts["val"]["files"], n_test=counts["test"]["files"],
        test_fraction=TEST_FRACTION, val_fraction=VAL_FRACTION, params=params,
        config=json.dumps(first["config"]), features=json.dumps(meta.features.to_dict()),
        recall=" · ".join(f"{k} {v:.2f}" for k, v in test["all"]["labels7"]["per_class_recall"].items()),
        recall6=" · ".join(f"{k} {v:.2f}" for k, v in test["all"]["collapsed6"]["per_class_recall"].items()),
        target=_against_target(test["all"]["collapsed6"]["macro_f1"]), ms=result["timing"]["ms_per_window_batch64"],
        experiments=_experiments(folder), collapsed=", ".join(COLLAPSED6), other_corpus=other_corpus_text(result),
    )  # fmt: skip
    (folder / "card.md").write_text(card)
    return folder


def score_manifest(name: str, manifest: Path) -> list[str]:
    """Score every file of any manifest (paths relative to its folder): the two summary lines."""
    utterances = read_manifest(manifest)
    if not utterances:
        raise ValueError(f"{manifest} lists no file with one of our labels")
    s = corpus_scores(utterances, probabilities(name, utterances))["all"]
    a, b = s["labels7"], s["collapsed6"]
    return [
        f"accuracy={a['accuracy']:.4f} macro_f1={a['macro_f1']:.4f} uar={a['uar']:.4f} n={a['n']}",
        f"collapsed6 accuracy={b['accuracy']:.4f} macro_f1={b['macro_f1']:.4f} uar={b['uar']:.4f} n={b['n']}",
    ]


def export(name: str) -> Path:
    """Copy the run's best checkpoint (``<cache_dir>/voice_runs/<name>/best.keras``) into the model folder."""
    source = get_settings().cache_dir / "voice_runs" / name / "best.keras"
    if not source.exists():
        raise FileNotFoundError(f"no checkpoint at {source}; train with `python -m voice_model train --name {name}`")
    folder = store.model_dir(name)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, folder / "model.keras")
    return folder


CARD = """# Voice model card: `{name}`

**What it does.** Classifies a speech segment into the 7 labels angry, disgust, fear, happy, neutral, sad,
surprise (the FER2013 names, so face and voice compare). {role}
In `backend.voice`, audio is cut into 2 s windows (1 s hop), silence is marked as such, speech windows are
classified. Runs on a CPU: {ms:.2f} ms per 2 s window in batches of 64 (features + network).

**Labels.** RAVDESS "calm" is merged into **neutral** (our labels have no calm), so neutral has 12 files per
actor against 8 for each other emotion. The 6-way collapse used to compare with the original model is
{collapsed} (negative = angry + disgust; our angry and disgust probabilities are summed).

**Features.** 40 MFCCs of 16 kHz audio (64 mel bands 50-8000 Hz, 32 ms windows, 10 ms hop), leading and
trailing silence trimmed (30 dB below peak), each model input normalised to zero mean and unit variance per
coefficient over its own frames (per utterance in evaluation, per window at run time). Cached once under
`<cache_dir>/voice_features` (key: file list + sizes + parameters + augmentation variant): `{features}`.

**Architecture.** `{name}` = {architecture}; {params:,} parameters, Keras 3 (torch backend), saved as
`model.keras`.

**Training.** {training} {recipe} Seeds fixed; retraining with the same command gives close but not
bit-identical weights (CPU kernel order), so the metrics below belong to the shipped `model.keras`.
Configuration: `{config}`.

## Split (by speaker; no speaker in two splits)

Within each corpus and gender, speakers are ordered by `sha1("emoclassify-voice-v1:" + speaker)`; the first
{test_fraction:.0%} are **test** (held out, used only for this card), the next {val_fraction:.0%} **validation**
(epoch and recipe selection), the rest **train**. Speakers: `{split}`.
Files: train {n_train}, validation {n_val}, test {n_test}:

{counts}

## Results on held-out speakers

{table}

Per-class recall (ours, test, 7 labels): {recall}.
6-way: {recall6}.

![confusion matrix, test speakers, 7 labels](confusion.png)

**seed_model3.h5** was run with its own preprocessing (`librosa.load(path, sr=44000)`, first 115,181 samples or
median padding, `librosa.feature.mfcc(y, sr=44000, n_mfcc=40).T` → 225x40), its outputs {{0 fear, 1 negative,
2 neutral, 3 happy, 4 sad, 5 surprise}} compared on the 6-way collapse (its 7-way figures split "negative" equally
into angry and disgust, so they can never get both right). **The original model was trained on a random 80 % of
all RAVDESS, CREMA-D, TESS and SAVEE files, so it has very probably heard these test speakers, and most likely
some of these very files: its scores here are inflated** and are not a speaker-independent figure; ours are.

## What was tried (same split; test figures were looked at only after each run, never used to choose)

{experiments}

## Limits and caveats

- {target}
- Trained on RAVDESS only today ({n_fit_speakers} North American actors, two sentences, acted emotions). Acted speech is
  more exaggerated than everyday speech; expect lower scores on spontaneous speech, other languages, children,
  noisy or far-field recordings. Scores on 4 held-out actors (240 files) have a wide margin of error
  (about ±6 points of accuracy).
- Other corpora and languages are the weak point: {other_corpus} Expect a large drop across corpora until
  more corpora join the manifest.
- `evaluate --manifest CSV` scores any other corpus with the same columns (e.g. RAVDESS actors 21-24).
- The timing figure (ms per window) is measured on each run and differs between runs; every other number in
  `metrics.json` is reproduced exactly by `python -m voice_model evaluate`.
- Vocal emotion labels describe how an actor was asked to sound, not what a speaker feels.
- License: RAVDESS is CC BY-NC-SA 4.0 (non-commercial); this model is a derivative of it.
"""
