"""The upload widget and the analysis options, in plain words. Returns what the user asked for; submitting is
the caller's job."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

VIDEO_TYPES = ("mp4", "mov", "mkv", "webm", "avi", "flv")
AUDIO_TYPES = ("wav", "mp3", "flac", "ogg", "opus", "m4a")
IMAGE_TYPES = ("jpg", "jpeg", "png", "bmp", "webp", "gif", "tif", "tiff")
REPORT_FORMATS = {"pdf": "PDF", "docx": "Word (DOCX)"}
FPS_STEP = 0.5
FACE_MODELS = {
    "cnn": "Standard (our CNN trained on FER2013; fast, offline)",
    "vit": "Vision Transformer (trpakov/vit-face-expression; slower, needs its weights on the server)",
    "auto": "Automatic (the Vision Transformer where available, else the standard model)",
}


def kind_of(name: str) -> str:
    """video | audio | image, by the file name's extension ("" when unknown)."""
    suffix = Path(name).suffix.lower().lstrip(".")
    for kind, types in (("video", VIDEO_TYPES), ("audio", AUDIO_TYPES), ("image", IMAGE_TYPES)):
        if suffix in types:
            return kind
    return ""


@dataclass
class Request:
    name: str
    data: bytes
    kind: str
    options: dict


PENDING = "analyse_pending"  # session state: "Analyse" was pressed and the upload is not submitted yet


def upload_form(face_models: dict[str, str] | None = None, schemas: dict[str, dict] | None = None) -> Request | None:
    """Draw the upload widget and the options; the request when the user pressed "Analyse", else None.
    ``face_models``: the server's face models and their state (from GET /api/v1/models), when known; ``schemas``:
    each option's schema with this server's default and limits (its OpenAPI document), when known. Without them
    the sampling rate and face model are left to the server's defaults."""
    schema = schemas or {}
    limit_mb = int(st.get_option("server.maxUploadSize"))
    st.markdown(
        f"**Accepted files** (up to **{limit_mb} MB**): video {', '.join(VIDEO_TYPES)} · "
        f"audio {', '.join(AUDIO_TYPES)} · photo {', '.join(IMAGE_TYPES)}"
    )
    upload = st.file_uploader(
        "Media file to analyse (video, audio or photo)",
        type=[*VIDEO_TYPES, *AUDIO_TYPES, *IMAGE_TYPES],
        help="Drag and drop a file here, or browse. Faces are analysed in videos and photos, the voice in videos "
        "and audio files.",
        key="upload",
    )
    kind = kind_of(upload.name) if upload is not None else ""

    st.subheader("Options", anchor=False)
    left, right = st.columns(2)
    with left:
        make_graph = st.checkbox("Timeline graph (PNG picture)", value=True, key="opt_graph")
        csv = st.checkbox("Timeline as a spreadsheet (CSV)", value=True, key="opt_csv")
        annotate = st.checkbox(
            "Annotated video (faces boxed and labelled)",
            value=False,
            key="opt_video",
            disabled=kind in ("audio", "image"),
            help="A copy of the video with each face's box, emotion and confidence drawn on it.",
        )
        report = st.checkbox(
            "Report", value=False, key="opt_report", help="A printable summary with the graph and the main numbers."
        )
        report_format = st.radio(
            "Report format", list(REPORT_FORMATS), format_func=REPORT_FORMATS.get, key="opt_report_format",
            horizontal=True, disabled=not report,
        )  # fmt: skip
    with right:
        double_check = st.checkbox(
            "Double check: compare face and voice (video only)",
            value=kind in ("video", ""),
            key="opt_double",
            disabled=kind in ("audio", "image"),
            help="For each stretch of speech, does the face say the same as the voice?",
        )
        echo_mean = st.checkbox("Overall mean emotion of the whole file (echo mean)", value=True, key="opt_mean")
        transcript = st.checkbox(
            "Transcript: what was said, each word with its emotion",
            value=False,
            key="opt_transcript",
            disabled=kind == "image",
            help="Offline speech recognition (Whisper base, language detected); each word gets the voice's and the "
            "face's emotion.",
        )
        sample_fps = _sampling_slider(schema.get("sample_fps"), disabled=kind == "audio")
        model = _face_model_select(schema.get("face_model"), face_models, disabled=kind == "audio")
        speakers = _speakers_select(schema.get("speakers"), disabled=kind == "image")

    # The click is kept, never lost: a click that lands in the rerun before the upload is registered (the file
    # already shows in the box) waits for it, and so does a click made before any file was chosen.
    if st.button("Analyse", type="primary", key="analyse", help="Upload the file to the API and start the analysis."):
        st.session_state[PENDING] = True
    if not st.session_state.get(PENDING):
        return None
    if upload is None:
        st.info("Choose a file above: the analysis starts as soon as it is uploaded.")
        return None
    st.session_state[PENDING] = False
    options: dict = {"make_graph": make_graph, "csv": csv, "echo_mean": echo_mean}
    options |= {name: value for name, value in (("face_model", model), ("sample_fps", sample_fps)) if value is not None}
    if kind == "video":
        options |= {"double_check": double_check, "face_thumbnails": True}
    if annotate and kind == "video":
        options["annotate_video"] = True
    if report:
        options |= {"report": True, "report_format": report_format}
    if transcript and kind != "image":
        options["transcribe_focus"] = True
    if speakers is not None and kind != "image":
        options["speakers"] = speakers
    return Request(name=upload.name, data=upload.getvalue(), kind=kind, options=options)


def _sampling_slider(schema: dict | None, disabled: bool) -> float | None:
    """The sampling rate, from the server's range and default; None (the server's default) when it did not say."""
    if not schema or any(schema.get(key) is None for key in ("default", "minimum", "maximum")):
        return None  # an older server's document gives no range
    low = schema["minimum"] + FPS_STEP if schema.get("exclusiveMinimum") else schema["minimum"]
    default = float(schema["default"])
    return st.slider("Sampling rate: video frames analysed per second", min_value=min(float(low), default),
                     max_value=float(schema["maximum"]), value=default, step=FPS_STEP, key="opt_fps",
                     disabled=disabled, help="More frames: finer detail, slower analysis.")  # fmt: skip


def _face_model_select(schema: dict | None, states: dict[str, str] | None, disabled: bool) -> str | None:
    """The face model, among the server's, starting at its default; None (the server's default) when unknown."""
    if not schema or not schema.get("enum") or schema.get("default") not in schema["enum"]:
        return None  # an older server's document names no choices
    names = list(schema["enum"])
    return st.selectbox("Face model", names, index=names.index(schema["default"]), key="opt_model",
                        format_func=lambda name: _model_label(name, states), disabled=disabled)  # fmt: skip


def _speakers_select(schema: dict | None, disabled: bool) -> int | str | None:
    """How many people speak, among the server's numbers and words (``auto``), starting at its default; None (the
    server's default) where its document does not say."""
    parts = (schema or {}).get("anyOf", [])
    if any(not part.get("enum") and None in (part.get("minimum"), part.get("maximum")) for part in parts):
        return None  # a server whose document gives no range: its default
    choices = [value for part in parts for value in (part.get("enum") or range(part["minimum"], part["maximum"] + 1))]
    if not choices or schema.get("default") not in choices:
        return None  # an older server: no speakers option
    return st.selectbox("People speaking", choices, index=choices.index(schema["default"]), key="opt_speakers",
                        format_func=_speakers_label, disabled=disabled,
                        help="More than one: their voices are told apart and each linked to the face that speaks, "
                        "so each person gets their own emotions.")  # fmt: skip


def _speakers_label(value: int | str) -> str:
    return {1: "1 (one voice)", "auto": "find out (experimental)"}.get(value, str(value))


def _model_label(name: str, states: dict[str, str] | None) -> str:
    label = FACE_MODELS.get(name, name)
    state = (states or {}).get(name, "")
    return f"{label} — not available on this server" if state.startswith("unavailable") else label
