"""Draw docs/img/architecture.png, the data-flow picture of docs/architecture.md: the three ways in, and one file's
way through the engine's packages to its result. Drawn from this description rather than by hand so that a change of
layout is a small diff here; rerun after changing it:

    .venv/bin/python scripts/make_architecture_diagram.py [--output docs/img/architecture.png]
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
WAY_IN = "#dbe8f5"
ENGINE = "#fdf1d8"
MODALITY = "#e3f2e1"
OUTPUT = "#eeeeee"


@dataclass(frozen=True)
class Box:
    """A labelled rectangle: left, bottom, width, height in the drawing's units (140 x 77)."""

    x: float
    y: float
    w: float
    h: float
    title: str
    detail: str
    colour: str

    def left(self) -> tuple[float, float]:
        return self.x, self.y + self.h / 2

    def right(self) -> tuple[float, float]:
        return self.x + self.w, self.y + self.h / 2

    def top(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y + self.h

    def bottom(self) -> tuple[float, float]:
        return self.x + self.w / 2, self.y


CLI = Box(6, 62, 34, 12, "CLI", "python -m backend analyze FILE", WAY_IN)
JOBS = "Flask; jobs run in threads, child\nprocesses or Celery workers (Redis)"
API = Box(53, 62, 36, 12, "REST API  callback/", JOBS, WAY_IN)
WEB = Box(102, 62, 32, 12, "Web app  webapp.py, webui/", "Streamlit", WAY_IN)
FILE = Box(5, 25, 12, 8, "file", "video, audio\nor photo", OUTPUT)
MEDIA = Box(21, 23, 20, 12, "backend/media", "probe; streaming\ndecode", ENGINE)
FACES = Box(47, 36, 25, 11, "backend/faces/", "detect, follow, align,\nclassify (cnn | vit)", MODALITY)
VOICE = Box(47, 20, 25, 11, "backend/voice/", "windows, speech detection,\nWhisper encoder, classify", MODALITY)
TRANSCRIBE = Box(47, 5, 25, 10, "backend/transcribe", "timed words\n(faster-whisper)", MODALITY)
FUSION = Box(78, 29, 22, 14, "backend/fusion/", "combiner, fused windows,\ndouble check, echo mean", ENGINE)
RESULTS = Box(106, 33, 29, 11, "backend/results", "timeline, summary;\nthe result schema", ENGINE)
RENDER = Box(106, 14, 29, 12, "backend/render/", "graph, CSV, annotated\nvideo, PDF / DOCX report", ENGINE)


def draw_box(axes: plt.Axes, box: Box) -> None:
    axes.add_patch(FancyBboxPatch((box.x, box.y), box.w, box.h, boxstyle="round,pad=0.4,rounding_size=1.2",
                                  facecolor=box.colour, edgecolor="#555555", linewidth=1.1))  # fmt: skip
    axes.text(box.x + box.w / 2, box.y + box.h - 2.6, box.title, ha="center", va="center", fontsize=11,
              fontweight="bold", family="DejaVu Sans Mono")  # fmt: skip
    axes.text(box.x + box.w / 2, box.y + (box.h - 4.5) / 2, box.detail, ha="center", va="center", fontsize=9)


def arrow(axes: plt.Axes, start: tuple[float, float], end: tuple[float, float], dashed: bool = False) -> None:
    axes.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "-|>", "color": "#333333", "linewidth": 1.3,
                                                        "linestyle": "--" if dashed else "-",
                                                        "shrinkA": 3, "shrinkB": 3})  # fmt: skip


def label(axes: plt.Axes, at: tuple[float, float], text: str) -> None:
    """What travels along an arrow, written beside it (placed by hand: no arrow crosses its words)."""
    axes.text(*at, text, ha="left", va="center", fontsize=8.5, style="italic", color="#333333")


def draw(output: Path) -> None:
    figure, axes = plt.subplots(figsize=(14, 8))
    axes.set_xlim(0, 140)
    axes.set_ylim(0, 77)
    axes.axis("off")

    axes.add_patch(FancyBboxPatch((2, 2), 136, 51, boxstyle="round,pad=0.3,rounding_size=2", facecolor="#fbfbfb",
                                  edgecolor="#999999", linewidth=1.0, linestyle="--"))  # fmt: skip
    axes.text(4, 50.5, "backend/pipeline: analyse(path, options, on_progress), the one place that orders the steps",
              fontsize=10, color="#444444", family="DejaVu Sans Mono")  # fmt: skip

    for box in (CLI, API, WEB, FILE, MEDIA, FACES, VOICE, TRANSCRIBE, FUSION, RESULTS, RENDER):
        draw_box(axes, box)

    arrow(axes, WEB.left(), API.right())
    label(axes, (91.5, 69.5), "HTTP only")
    arrow(axes, CLI.bottom(), (CLI.bottom()[0], 53.5))
    arrow(axes, API.bottom(), (API.bottom()[0], 53.5))
    label(axes, (API.bottom()[0] + 1.5, 57.5), "a job")
    arrow(axes, FILE.right(), MEDIA.left())
    arrow(axes, (MEDIA.x + MEDIA.w, MEDIA.y + MEDIA.h - 2), FACES.left())
    label(axes, (35, 43), "sampled frames")
    arrow(axes, MEDIA.right(), VOICE.left())
    label(axes, (42.5, 31), "16 kHz\nsound")
    arrow(axes, (MEDIA.x + MEDIA.w, MEDIA.y + 2), TRANSCRIBE.left())
    arrow(axes, VOICE.bottom(), TRANSCRIBE.top(), dashed=True)
    label(axes, (VOICE.bottom()[0] + 1.5, 17.5), "speech windows")
    arrow(axes, FACES.right(), FUSION.left())
    arrow(axes, VOICE.right(), FUSION.left())
    arrow(axes, FUSION.right(), RESULTS.left())
    arrow(axes, TRANSCRIBE.right(), (RESULTS.x + 2, RESULTS.y))
    label(axes, (86, 17), "transcript")
    arrow(axes, RESULTS.bottom(), RENDER.top())
    axes.text(RENDER.x + RENDER.w / 2, 7.5, "result.json + files\nin the output folder", ha="center", va="center",
              fontsize=9.5)  # fmt: skip
    arrow(axes, RENDER.bottom(), (RENDER.x + RENDER.w / 2, 10.5))

    figure.tight_layout()
    output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(output, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "img" / "architecture.png")
    draw(parser.parse_args().output)


if __name__ == "__main__":
    main()
