"""Timeline graph: the fused view first (a lane per face, and one for each voice alone where no face is in view),
then a lane per face and one per voice (per speaker where they were told apart), stacked emotion probabilities over
time, a dominant-emotion ribbon on top, and the double check's disagreement windows hatched across all lanes.

Windows widen with the file's length (at most ~600 per lane) so a 10 s clip and a 1 h file are equally legible.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display on servers; must precede pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from backend.captions import fused_lane_name, several_voices, voice_lane_name  # noqa: E402
from backend.emotions import EMOTION_COLOURS, EMOTIONS  # noqa: E402
from backend.results import (  # noqa: E402
    Result,
    TimelineEntry,
    face_timeline,
    fused_timeline,
    voice_timeline,
)

MAX_WINDOWS = 600


def graph_window(duration: float) -> float:
    """Seconds per plotted window: 1 s for short files, wider for long ones."""
    return max(1.0, float(np.ceil(duration / MAX_WINDOWS)))


def timeline_lanes(result: Result, window: float) -> list[tuple[str, list[TimelineEntry]]]:
    """The fused lanes (per face, then per voice alone), the face lanes and the voice lanes (one per speaker, named
    by the speaker where there are several)."""
    voices = voice_timeline(result.voice, window, by_speaker=True)
    named = several_voices(voices)
    fused = fused_timeline(result.fused or [], window)
    keys = sorted({(e.face_id, e.speaker_id) for e in fused}, key=lambda k: (-1 if k[0] is None else k[0], k[1] or ""))
    lanes = [(fused_lane_name(face_id, speaker if named else None),
              [e for e in fused if (e.face_id, e.speaker_id) == (face_id, speaker)])
             for face_id, speaker in keys]  # fmt: skip
    entries = face_timeline(result.faces, window)
    face_ids = sorted({e.face_id for e in entries})
    lanes += [(f"face {face_id}", [e for e in entries if e.face_id == face_id]) for face_id in face_ids]
    if result.voice:
        speakers = list(dict.fromkeys(e.speaker_id for e in voices)) or [None]
        lanes += [(f"{voice_lane_name(speaker if named else None)} (blank: no speech)",
                   [e for e in voices if e.speaker_id == speaker]) for speaker in speakers]  # fmt: skip
    return lanes


def _draw_lane(ax, entries: list[TimelineEntry], window: float) -> None:
    if not entries:
        ax.text(0.5, 0.5, "nothing detected", transform=ax.transAxes, ha="center", va="center", color="#666666")
        return
    starts = np.array([e.start for e in entries])
    probs = np.array([[e.probabilities[name] for name in EMOTIONS] for e in entries])
    bottom = np.zeros(len(entries))
    for i, name in enumerate(EMOTIONS):
        ax.bar(starts, probs[:, i], width=window, bottom=bottom, align="edge", color=EMOTION_COLOURS[name],
               linewidth=0)  # fmt: skip
        bottom += probs[:, i]
    ribbon = [EMOTION_COLOURS[e.label] for e in entries]
    ax.bar(starts, 0.08, width=window, bottom=1.04, align="edge", color=ribbon, linewidth=0)
    ax.set_ylim(0, 1.14)
    ax.set_yticks([0, 0.5, 1.0])
    ax.set_ylabel("probability")
    ax.text(1.005, 1.08, "dominant", transform=ax.get_yaxis_transform(), fontsize=7, va="center")


def draw_timeline(result: Result, path: Path, title: str | None = None, also: tuple[Path, ...] = ()) -> Path:
    """Write the graph to ``path`` (PNG or SVG by its suffix), and the same figure to each of ``also`` (e.g. the SVG
    next to the PNG); a result without faces gets an explicit note."""
    duration = result.input.get("duration") or max((o.t for o in result.faces), default=0.0) + 1
    window = graph_window(duration)
    lanes = timeline_lanes(result, window)
    fig, axes = plt.subplots(max(1, len(lanes)), 1, figsize=(11, 1.0 + 1.8 * max(1, len(lanes))), sharex=True,
                             squeeze=False)  # fmt: skip
    for ax, (name, entries) in zip(axes[:, 0], lanes):
        _draw_lane(ax, entries, window)
        ax.set_title(name, loc="left", fontsize=10)
    if not lanes:
        axes[0, 0].text(0.5, 0.5, "no face found in the analysed frames", ha="center", va="center")
        axes[0, 0].set_yticks([])
    for check in (result.double_check or {}).get("disagreements", []):
        for ax in axes[:, 0]:
            ax.axvspan(check["start"], check["end"], facecolor="none", edgecolor="#333333", hatch="///", linewidth=0)
    axes[-1, 0].set_xlim(0, duration)
    axes[-1, 0].set_xlabel(f"time (s){'' if window == 1 else f', {window:g} s windows'}")
    fig.suptitle(title or Path(result.input.get("path", "")).name, fontsize=12)
    handles = [Patch(color=EMOTION_COLOURS[n], label=n) for n in EMOTIONS]
    if (result.double_check or {}).get("disagreements"):
        handles.append(Patch(facecolor="white", edgecolor="#333333", hatch="///", label="face ≠ voice"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), frameon=False)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    for target in (path, *also):
        fig.savefig(target, dpi=110)
    plt.close(fig)
    return path
