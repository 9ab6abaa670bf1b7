"""The one label set and colour map shared by every model, graph, video, report and the web app.

The FER2013 names in alphabetical order are the index order of every probability vector in the project,
so arrays from different models can be compared without remapping.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")

# Colour-blind-friendly hues (Okabe-Ito based), chosen so that "opposite" feelings differ in lightness too.
EMOTION_COLOURS: dict[str, str] = {
    "angry": "#D55E00",
    "disgust": "#009E73",
    "fear": "#CC79A7",
    "happy": "#E69F00",
    "neutral": "#999999",
    "sad": "#0072B2",
    "surprise": "#56B4E9",
}


def top_label(probabilities) -> tuple[str, float]:
    """The most probable emotion of a vector in ``EMOTIONS`` order and its probability, rounded as results show it."""
    best = max(range(len(EMOTIONS)), key=lambda i: probabilities[i])
    return EMOTIONS[best], round(float(probabilities[best]), 4)


def colour_rgb(emotion: str) -> tuple[int, int, int]:
    """The emotion's colour as an (r, g, b) tuple of 0-255 ints, for OpenCV/Pillow drawing."""
    hex_colour = EMOTION_COLOURS[emotion].lstrip("#")
    return tuple(int(hex_colour[i : i + 2], 16) for i in (0, 2, 4))  # type: ignore[return-value]
