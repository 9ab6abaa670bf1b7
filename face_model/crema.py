"""A face model on real video: the shared CREMA-D clips (one actor, six acted emotions) through the runtime's own
face path, so the card says how the model reads faces as a video delivers them (MTCNN's boxes, the levelled
square crop, faces followed between detections, the int8 weights), beside FER2013's centred photos. Every decoded
frame is analysed; a clip counts as right when the label its faces show most is the clip's."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from backend.config import Settings, get_settings
from backend.emotions import EMOTIONS
from backend.options import AnalysisOptions
from backend.pipeline import analyse

CREMA_GLOB = "1001_DFA_*.mp4"


def crema_label(clip: Path) -> str:
    """The emotion a CREMA-D file name gives: ``1001_DFA_ANG_XX`` is angry."""
    code = clip.stem.split("_")[2]
    return next(e for e in EMOTIONS if e[:3].upper() == code)


def crema_files(settings: Settings) -> list[Path]:
    return sorted((settings.data_dir / "video").glob(CREMA_GLOB))


def score_crema(name: str, settings: Settings | None = None) -> list[dict]:
    """Per clip: its label, the faces seen (one per analysed frame), how many got the clip's label, and the label
    they got most. Empty where the shared clips are absent."""
    settings = (settings or get_settings()).replace(cnn_model_name=name)
    options = AnalysisOptions(modalities="face", sample_fps=None, frame_step=1)
    rows = []
    for clip in crema_files(settings):
        label = crema_label(clip)
        labels = [face.label for face in analyse(clip, options, settings=settings).faces]
        rows.append({"clip": clip.name, "label": label, "faces": len(labels),
                     "right": sum(found == label for found in labels),
                     "most": Counter(labels).most_common(1)[0][0] if labels else None})  # fmt: skip
    return rows


def crema_table(rows: list[dict]) -> str:
    """The card's section: one row per clip and the totals."""
    if not rows:
        return "The shared CREMA-D clips were not found: no video figure."
    lines = ["| clip | label | faces | share with the clip's label | label seen most |", "|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['clip']} | {r['label']} | {r['faces']} | {r['right'] / max(r['faces'], 1):.2f} | "
                     f"{r['most']} |")  # fmt: skip
    faces, right = sum(r["faces"] for r in rows), sum(r["right"] for r in rows)
    clips = sum(r["most"] == r["label"] for r in rows)
    lines.append("")
    lines.append(f"All frames: {right} of {faces} faces ({right / max(faces, 1):.2f}) carry the clip's label; "
                 f"{clips} of {len(rows)} clips are right by the label seen most. One actor, one sentence, six "
                 "emotions: a check of the video path, not a measurement.")  # fmt: skip
    return "\n".join(lines)
