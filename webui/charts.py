"""Altair charts of a result, in the same colours as the PNG graph (``backend.emotions.EMOTION_COLOURS``)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from backend.captions import fused_lane_name, several_voices, voice_lane_name
from backend.emotions import EMOTION_COLOURS, EMOTIONS

COLOUR_SCALE = alt.Scale(domain=list(EMOTIONS), range=[EMOTION_COLOURS[name] for name in EMOTIONS])
LANE_HEIGHT = 90
CHART_WIDTH = 620  # a faceted chart cannot stretch to its container; this fits a laptop screen


def lane_name(entry: dict, named: bool = False) -> str:
    """The lane of a timeline entry, named as the PNG graph names it; ``named``: the result has several voices, and
    a voice's lanes are named by its speaker (an older result has no ``speaker_id``)."""
    speaker = entry.get("speaker_id") if named else None
    if entry["source"] == "fused":
        return fused_lane_name(entry["face_id"], speaker)
    return voice_lane_name(speaker) if entry["source"] == "voice" else f"face {entry['face_id']}"


def timeline_frame(result: dict) -> pd.DataFrame:
    """One row per timeline entry and emotion, with the stacked bottom/top of its probability band."""
    rows = []
    named = several_voices(result.get("timeline", []))
    for entry in result.get("timeline", []):
        bottom = 0.0
        for name in EMOTIONS:
            share = float(entry["probabilities"][name])
            rows.append(
                {
                    "lane": lane_name(entry, named),
                    "start": entry["start"],
                    "end": entry["end"],
                    "emotion": name,
                    "probability": round(share, 3),
                    "bottom": bottom,
                    "top": bottom + share,
                    "dominant": entry["label"],
                    "confidence": round(entry["confidence"], 3),
                }
            )
            bottom += share
    return pd.DataFrame(rows)


def timeline_chart(result: dict) -> alt.FacetChart | None:
    """Per lane (the fused view first, then each face, the voice), the emotion probabilities over time as stacked
    bands; drag to pan and scroll to zoom the time axis, hover for values. None when the result has no timeline."""
    frame = timeline_frame(result)
    if frame.empty:
        return None
    zoom = alt.selection_interval(bind="scales", encodings=["x"])
    # The axis ends where the media ends: Vega-Lite's default "nice" scale would round 2.27 s up to 3.0 s.
    end = result.get("input", {}).get("duration") or float(frame["end"].max())
    lanes = sorted(dict.fromkeys(frame["lane"]), key=lambda lane: not lane.startswith("fused"))  # fused first
    base = (
        alt.Chart(frame)
        .mark_rect()
        .encode(
            x=alt.X("start:Q", title="time (s)", scale=alt.Scale(domain=[0, end], nice=False)),
            x2="end:Q",
            y=alt.Y("bottom:Q", title="probability", scale=alt.Scale(domain=[0, 1])),
            y2="top:Q",
            color=alt.Color("emotion:N", scale=COLOUR_SCALE, title="emotion", legend=alt.Legend(orient="bottom")),
            tooltip=[
                alt.Tooltip("lane:N"),
                alt.Tooltip("start:Q", title="from (s)"),
                alt.Tooltip("end:Q", title="to (s)"),
                alt.Tooltip("emotion:N"),
                alt.Tooltip("probability:Q", format=".0%"),
                alt.Tooltip("dominant:N", title="dominant"),
            ],
        )
        .properties(height=LANE_HEIGHT, width=CHART_WIDTH)
        .add_params(zoom)
    )
    return base.facet(
        row=alt.Row(
            "lane:N", sort=lanes, title=None, header=alt.Header(labelAngle=0, labelAlign="left", labelFontSize=12)
        )
    ).properties(title="Emotions over time")


def probabilities_chart(probabilities: dict, title: str = "") -> alt.Chart:
    """One bar per emotion (a face in a photo, or a mean), in the emotion colours."""
    frame = pd.DataFrame({"emotion": list(EMOTIONS), "probability": [float(probabilities[n]) for n in EMOTIONS]})
    return (
        alt.Chart(frame, title=title or None)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("emotion:N", sort=list(EMOTIONS), title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("emotion:N", scale=COLOUR_SCALE, legend=None),
            tooltip=["emotion:N", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=7 * 22)
    )
