"""The combiner's card: the cross-validated figures of ``crossval.json`` and a real audio-visual check, the shared
CREMA-D clips (one actor, six emotions, never fitted on) through the whole pipeline with the shipped combiner, once
as they are and once with the angry clip's picture shrunk until its face is under 24 px."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg

from backend.config import Settings
from backend.faces.cnn_store import read_meta
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from face_model.crema import crema_files, crema_label
from face_model.video_views import CODEC_QUALITY, FACE_SIZES

from .evidence import FOLDS, face_evidence
from .fit import LAB_ONLY, MARGIN
from .pairs import FRAMES_PER_WINDOW, PAIRINGS, SIZE_SHARE

ROWS = (("face", "face alone"), ("voice", "voice alone"), ("product", "plain product (unfitted)"),
        ("constant", "fitted, constant weights"), ("constant+bias", "fitted, constant weights + class biases"),
        ("gated", "fitted, reliability-gated weights"),
        ("gated+bias", "fitted, reliability-gated weights + class biases"))  # fmt: skip
SMALL_FACE_CLIP, SHRINK = "1001_DFA_ANG_XX.mp4", 5  # its 92 px face becomes about 20 px, in a frame of the same size


def crema_clips(settings: Settings) -> list[dict]:
    """Per clip: the label and what the face, the voice and the fused view found most (the dominant emotion)."""
    rows = []
    for clip in crema_files(settings):
        label = crema_label(clip)
        result = analyse(clip, AnalysisOptions(), settings=settings)
        summary = result.summary
        windows = [w for w in result.fused or [] if len(w.modalities) == 2]
        rows.append({"clip": clip.name, "label": label,
                     "face": (summary["overall"] or {}).get("dominant_emotion"),
                     "voice": (summary["voice"] or {}).get("dominant_emotion"),
                     "fused": (summary["fused"] or {}).get("dominant_emotion"),
                     "fused_windows_right": sum(w.label == label for w in windows), "fused_windows": len(windows),
                     "mean_face_weight": (summary["fused"] or {}).get("mean_face_weight")})  # fmt: skip
    return rows


def small_face_check(settings: Settings) -> list[dict]:
    """The angry clip as it is and shrunk ``SHRINK`` times (padded back to its frame size): the face's size, label
    and confidence, and its mean share of the fused evidence."""
    clip = settings.data_dir / "video" / SMALL_FACE_CLIP
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        small = Path(folder) / f"small-{clip.name}"
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(clip), "-vf",
                        f"scale=iw/{SHRINK}:ih/{SHRINK},pad=iw*{SHRINK}:ih*{SHRINK}:(ow-iw)/2:(oh-ih)/2",
                        "-c:a", "copy", str(small)], check=True)  # fmt: skip
        for name, path in (("as recorded", clip), (f"shrunk {SHRINK}x", small)):
            result = analyse(path, AnalysisOptions(), settings=settings)
            sides = [min(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in result.faces]
            windows = [w for w in result.fused or [] if len(w.modalities) == 2]
            rows.append({"clip": name, "face_px": round(sum(sides) / len(sides)) if sides else None,
                         "face": (result.summary["overall"] or {}).get("dominant_emotion"),
                         "face_confidence": round(sum(f.confidence for f in result.faces) / len(sides), 2)
                         if sides else None,
                         "mean_face_weight": round(sum(w.weights["face"] for w in windows) / len(windows), 2)
                         if windows else None})  # fmt: skip
    return rows


def _fold_table(report: dict) -> list[str]:
    """Per held-out fold and all folds together, every row of :data:`ROWS` (and the lab-only fit where scored)."""
    lines = ["| held-out fold | fusion | clip accuracy | window accuracy | window macro-F1 | ECE | over-confidence "
             "| balanced NLL |", "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    parts = [(str(k), fold["held_out"]) for k, fold in enumerate(report["folds"])] + [("all", report["pooled"])]
    for fold, held_out in parts:
        for key, name in (*ROWS, (LAB_ONLY, f"{LAB_ONLY} (fusion-v5's fit)")):
            if key not in held_out:
                continue
            s = held_out[key]
            lines.append(f"| {fold} ({s['clips']} clips, {s['windows']} windows) | {name} | {s['clip_accuracy']:.3f} "
                         f"| {s['window_accuracy']:.3f} | {s['window_macro_f1']:.3f} | {s['ece']:.3f} | "
                         f"{s['overconfidence']:+.3f} | {s['balanced_nll']:.3f} |")  # fmt: skip
    return lines


def _face_by_size(settings: Settings) -> list[str]:
    """The face model on every FER2013 val face at each size (centre crop): how right and how sure it is."""
    faces = face_evidence(settings)
    lines = ["| face short side | accuracy | mean confidence |", "|---|---|---|"]
    for k, size in enumerate(FACE_SIZES):
        p = faces.probabilities[:, k, 0]
        lines.append(f"| {size} px | {(p.argmax(axis=1) == faces.label).mean():.3f} | {p.max(axis=1).mean():.3f} |")
    return lines


def _small_face_text(settings: Settings, chosen: str) -> str:
    by_size = read_meta(settings.cnn_model_name, settings.face_model_dir).size_temperatures
    calibration = (
        f"A face under {settings.small_face_model_below_px:g} px in its frame is read by "
        f"`{settings.cnn_small_face_model}`, trained on faces seen that small (its card), so its confidence above "
        "follows its accuracy down"
        if settings.cnn_small_face_model
        else f"The face model's temperature grows as the face shrinks ({settings.cnn_model_name}'s card: fitted on "
        "FER2013 `train` faces held aside, seen as a video delivers them at each size), so its confidence above "
        "follows its accuracy down"
        if by_size
        else "The face model has one temperature at every size: below 32 px it grows less sure, but not as fast as "
        "it grows wrong"
    )
    weights = (
        "the gated weights also discount a face by its size directly"
        if chosen.startswith("gated")
        else "with constant weights a small face counts for less only through its flatter distribution (its share "
        "of the evidence, the `weights` of the result, drops with it)"
    )
    return (
        f"{calibration}; {weights}. A real small face: the angry CREMA-D clip with its picture shrunk (same frame "
        "size), through the whole pipeline:"
    )


def _side_by_side(report: dict, chosen: str, crema: list[dict]) -> list[str]:
    """Face alone, voice alone and fused, on each kind of evidence: the clip (file) dominant-emotion accuracy of the
    held-out pairs, and the CREMA-D clips right."""
    sets = [("lab pairs (held out)", report["pooled"])]
    if "out_of_domain" in report:
        sets.append(("out-of-domain pairs (held out): unheard corpus, film face", report["out_of_domain"]["pooled"]))
    lines = ["| evidence | face alone | voice alone | fused (this model) | fusion-v5's recipe, lab pairs only |",
             "|---|---|---|---|---|"]  # fmt: skip
    for name, pooled in sets:
        lab_only = pooled.get(LAB_ONLY, {}).get("clip_accuracy")
        cells = [pooled[key]["clip_accuracy"] for key in ("face", "voice", chosen)] + [lab_only]
        lines.append(f"| {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    right = [sum(r[key] == r["label"] for r in crema) for key in ("face", "voice", "fused")]
    lines.append(f"| CREMA-D clips through the pipeline, right of {len(crema)} | {' | '.join(map(str, right))} | - |")
    return lines


def _held_out(report: dict, recipe: str) -> dict:
    """The chosen recipe's held-out figures, every fold's windows scored together, as the report's model table
    reads them; the mean of the folds' own ECEs beside."""
    pooled = report["pooled"][recipe]
    return {"accuracy": pooled["window_accuracy"], "macro_f1": pooled["window_macro_f1"], "n": pooled["windows"],
            "ece": pooled["ece"], "ece_mean_of_folds": round(_mean(report, recipe, "ece"), 4),
            "clip_accuracy": pooled["clip_accuracy"]}  # fmt: skip


def _mean(report: dict, key: str, metric: str) -> float:
    return sum(f["held_out"][key][metric] for f in report["folds"]) / len(report["folds"])


def write_card(name: str, settings: Settings) -> Path:
    folder = settings.fusion_model_dir / name
    report = json.loads((folder / "crossval.json").read_text())
    combiner = json.loads((folder / "combiner.json").read_text())
    crema, small = crema_clips(settings), small_face_check(settings)
    chosen = report.get("given", report["chosen"])
    pooled = report["pooled"]
    best_single = max(pooled["face"]["clip_accuracy"], pooled["voice"]["clip_accuracy"])
    lines = [
        f"# Fusion model `{name}`: face + voice, one calibrated distribution per window",
        "",
        "Weighted log-linear pooling (`backend/fusion/combiner.py`): `log q(y) = b_y + w_face log p_face(y) + "
        "w_voice log p_voice(y)`, normalised. Four recipes: `constant`, one weight per modality; `gated`, each "
        "weight a softplus of a linear function of that modality's reliability (face: the face model's normalised "
        "entropy and log2 of the face's short side over 48 px, capped at 0; voice: its normalised entropy and the "
        "share of the window that is speech); either with the class biases `b_y` fitted (`+bias`) or fixed at 0. "
        "The result's `weights` are each modality's share of the evidence: its weight times the spread of its "
        "centred log-probabilities, over the two.",
        "",
        "## Data and split",
        "",
        "No labelled audio-visual corpus is in the shared data beyond six CREMA-D clips of one actor, so the "
        "pairs are built (`fusion_model/pairs.py`): every utterance of the voice model's **test** speakers "
        "(never trained on; RAVDESS, ASED, nEMO, TurEV-DB) gets a FER2013 **val** face of the same label "
        f"({PAIRINGS} faces per utterance, one clip each). A clip's face is seen at one size (short side "
        f"{', '.join(f'{s} px' for s in FACE_SIZES)} with shares {', '.join(f'{p:.0%}' for p in SIZE_SHARE)}); "
        f"each speech window sees the mean of {FRAMES_PER_WINDOW} shifted crops of it, shrunk to that size, "
        f"JPEG-compressed there at quality {CODEC_QUALITY} (a video codec works at the face's size in the frame) and "
        "scaled up as the runtime's aligned crop is. Every probability comes from the runtime models "
        f"(`{settings.voice_model_name}` through `backend.voice.analysis.analyse_signal`, the int8 `cnn` face model "
        f"`{settings.cnn_model_name}`"
        + (
            f", faces under {settings.small_face_model_below_px:g} px to `{settings.cnn_small_face_model}`)."
            if settings.cnn_small_face_model
            else ")."
        ),
        "",
        f"The speakers and the faces are each dealt into {FOLDS} folds (speakers by corpus and gender, faces by a "
        "hash of the file name); fold k pairs only fold-k speakers with fold-k faces. Each fold is scored by a "
        "combiner fitted on the others: neither its speakers nor its faces were seen.",
        "",
        "## Decision (rule fixed before the run)",
        "",
        "Start from `constant`; add the class biases if they lower the held-out class-balanced NLL, averaged over "
        f"the folds, by at least {MARGIN} nats; then add the reliability gates if they lower it by at least "
        f"{MARGIN} nats again. Mean held-out NLL: "
        + ", ".join(f"{k} {v:.4f}" for k, v in report["mean_balanced_nll"].items())
        + (
            f". **Chosen: `{chosen}`**"
            if chosen == report["chosen"]
            else f". The rule alone would keep "
            f"`{report['chosen']}`; **`{chosen}`** was given (`fit --recipe`, fixed before the run)"
        )
        + ", then refitted on all folds (this folder's `combiner.json`).",
        "",
        "## Face, voice and fused, side by side",
        "",
        *_side_by_side(report, chosen, crema),
        "",
        "## Held-out figures (cross-validated)",
        "",
        *_fold_table(report),
        "",
        f"All held-out windows (`all`), clip (file) dominant-emotion accuracy: face "
        f"{pooled['face']['clip_accuracy']:.3f}, voice {pooled['voice']['clip_accuracy']:.3f}, fused ({chosen}) "
        f"{pooled[chosen]['clip_accuracy']:.3f} (target: the better single modality + 0.05 = "
        f"{best_single + 0.05:.3f}). Window macro-F1: face {pooled['face']['window_macro_f1']:.3f}, voice "
        f"{pooled['voice']['window_macro_f1']:.3f}, fused {pooled[chosen]['window_macro_f1']:.3f}. ECE: face "
        f"{pooled['face']['ece']:.3f}, voice {pooled['voice']['ece']:.3f}, product {pooled['product']['ece']:.3f}, "
        f"fused {pooled[chosen]['ece']:.3f} (target <= 0.05); the mean of the folds' own ECEs "
        f"{_mean(report, chosen, 'ece'):.3f}.",
        "",
        "Over-confidence is the mean confidence minus the accuracy. A fold's ECE also measures how that fold's "
        "difficulty differs from the others' (its combiner was fitted on them), and rests on a quarter of the "
        "windows; the pooled figure scores every window by a combiner that never saw its speaker or face. Expect "
        "a larger error on recordings unlike these corpora.",
        "",
        *(
            ["## Held-out figures on the out-of-domain pairs", "", *_fold_table(report["out_of_domain"]), ""]
            if "out_of_domain" in report
            else []
        ),
        "## Real audio-visual clips: CREMA-D actor 1001 (never fitted on)",
        "",
        "| clip | label | face | voice | fused | fused windows right | face weight |",
        "|---|---|---|---|---|---|---|",
        *[
            f"| {r['clip']} | {r['label']} | {r['face']} | {r['voice']} | {r['fused']} | "
            f"{r['fused_windows_right']}/{r['fused_windows']} | "
            f"{'-' if r['mean_face_weight'] is None else format(r['mean_face_weight'], '.2f')} |"
            for r in crema
        ],
        "",
        f"Dominant emotion right: face {sum(r['face'] == r['label'] for r in crema)}/{len(crema)}, voice "
        f"{sum(r['voice'] == r['label'] for r in crema)}/{len(crema)}, fused "
        f"{sum(r['fused'] == r['label'] for r in crema)}/{len(crema)}. Six clips of one actor: a sanity check, "
        "not a measurement.",
        "",
        "## What a small face does",
        "",
        *_face_by_size(settings),
        "",
        _small_face_text(settings, chosen),
        "",
        "| clip | face short side | face label | face confidence | face's share of the fused evidence |",
        "|---|---|---|---|---|",
        *[
            f"| {r['clip']} | {r['face_px']} px | {r['face']} | {r['face_confidence']} | {r['mean_face_weight']} |"
            for r in small
        ],
        "",
        "A face under 24 px is also marked `low_confidence` in the result.",
        "",
        "## Fitted parameters",
        "",
        "```json",
        json.dumps(combiner, indent=1),
        "```",
        "",
        "## Caveats",
        "",
        "- The pairs put a face and a voice together only by label: in them, the two modalities err independently. "
        "In a real person they err together more often (an actor who under-plays does so in both), so the real "
        "gain of fusion is smaller than the held-out figures above.",
        "- The voice side is four acted corpora and the face side posed photos; natural conversation is neither.",
        "- The face detector's score is not a feature: kept faces all score 0.9-1.0 and the shared labelled sets "
        "give no way to learn its effect. Nor is the number of frames a face is seen in a window: the pairs' "
        "crops of one photo would teach a false steadiness.",
        "",
        "Reproduce: `python -m fusion_model fit && python -m fusion_model card` (evidence cached under "
        "`.cache/fusion/`; about 15 min the first time on 2 cores).",
    ]
    path = folder / "card.md"
    path.write_text("\n".join(lines) + "\n")
    (folder / "metrics.json").write_text(json.dumps({"test": _held_out(report, chosen)}, indent=1) + "\n")
    (folder / "crema.json").write_text(json.dumps(crema, indent=1) + "\n")
    return path
