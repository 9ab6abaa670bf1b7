"""The result of one analysis on screen: headline cards, the timeline chart, then a view per kind of media
(video: annotated video + face/voice disagreements; audio: voice windows; photo: one result per face), then the
downloads of every artifact the job lists."""

from __future__ import annotations

import html
import io
import re
import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st
from PIL import Image

from backend.captions import by_mean, describe_language, describe_person
from backend.emotions import EMOTION_COLOURS

from . import charts
from .client import EmoClient

SIZE_UNITS = ("B", "KB", "MB", "GB")
CARDS_PER_ROW = 5
DOWNLOADS_PER_ROW = 3
VIDEO_WIDTH = 720
ARTIFACT_LABELS = {
    ".json": "result (JSON)",
    ".csv": "timeline (CSV)",
    ".png": "graph (PNG)",
    ".svg": "graph (SVG)",
    ".mp4": "annotated video",
    ".pdf": "report (PDF)",
    ".docx": "report (Word)",
    ".html": "report (HTML)",
}


FACE_THUMBNAIL = re.compile(r"face-(\d+)\.png")  # backend.pipeline.FACE_THUMBNAIL_FILE


def artifact_label(name: str) -> str:
    """What a download is, in words: by its kind of file, except that a face's picture is not a graph."""
    face = FACE_THUMBNAIL.fullmatch(name)
    if face:
        return f"face {face.group(1)} picture (PNG)"
    return ARTIFACT_LABELS.get(Path(name).suffix.lower(), name)


def human_size(size: float) -> str:
    for unit in SIZE_UNITS:
        if size < 1024 or unit == SIZE_UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def fetch_artifact(client: EmoClient, job_id: str, name: str) -> bytes:
    """One artifact's bytes (streamed to a temporary file by the client, then read)."""
    with tempfile.TemporaryDirectory(prefix="emoclassify-web-") as folder:
        return client.download(job_id, name, Path(folder) / "artifact").read_bytes()


@st.cache_data(max_entries=4, show_spinner="Loading the video…")
def _cached_artifact(_client: EmoClient, base_url: str, job_id: str, name: str) -> bytes:
    """An artifact kept across reruns (the video player would fetch it again at each widget change)."""
    return fetch_artifact(_client, job_id, name)


def summary_sentence(result: dict, name: str = "") -> str:
    """The result in one or two plain sentences; ``name``: the file's name as uploaded."""
    info, summary = result.get("input", {}), result.get("summary", {})
    name = name or Path(info.get("path") or "the file").name
    kind = info.get("kind", "media")
    parts = [f"**{name}** ({kind})" if kind == "image" else f"**{name}** ({kind}, {info.get('duration', 0):.1f} s)"]
    fused = summary.get("fused")
    if fused:
        parts.append(f"face and voice together: {by_mean(fused, bold=True)}")
    faces = summary.get("faces", [])
    if info.get("kind") != "audio":
        if faces:
            moods = ", ".join(f"face {f['face_id']} {by_mean(f, bold=True)}" for f in faces)
            parts.append(f"{len(faces)} face{'s' if len(faces) > 1 else ''} found: {moods}")
        else:
            parts.append("no face found")
    voice = summary.get("voice")
    if voice:
        parts.append(
            f"the voice: {by_mean(voice, bold=True)}" if voice.get("dominant_emotion") else "no speech in the audio"
        )
    check = result.get("double_check")
    if check and check.get("agreement_rate") is not None:
        parts.append(
            f"face and voice agree in **{check['agreement_rate']:.0%}** of {check['windows_compared']} speech windows"
        )
    return "; ".join(parts) + "."


def headline(result: dict, name: str = "") -> None:
    st.subheader("Summary", anchor=False)
    st.markdown(summary_sentence(result, name))
    summary, cards = result.get("summary", {}), []
    photo = result.get("input", {}).get("kind") == "image"
    fused = summary.get("fused")
    if fused:
        weight = fused["mean_face_weight"]
        cards.append(
            (
                "Fused",
                fused["dominant_emotion"],
                f"face {weight:.0%} · voice {1 - weight:.0%}" if weight is not None else "one modality",
                "face and voice combined per window by the learned, calibrated combiner; the delta is the share "
                "of the evidence each carried where both were present",
            )
        )
    for face in summary.get("faces", []):
        share = face["share_of_time"].get(face["dominant_emotion"], 0.0)
        likely = face["mean_probabilities"].get(face["dominant_emotion"], 0.0)
        cards.append(
            (
                f"Face {face['face_id']}",
                face["dominant_emotion"],
                f"{likely:.0%} likely" if photo else f"{share:.0%} of its time",
                f"seen from {face['first_seen']:.1f} s to {face['last_seen']:.1f} s",
            )
        )
    voice = summary.get("voice")
    if voice is not None:
        dominant = voice.get("dominant_emotion")
        cards.append(
            (
                "Voice",
                dominant or "no speech",
                f"{voice['speech_windows']}/{voice['windows']} speech",
                "the voice's most likely emotion over the windows of the audio where someone speaks",
            )
        )
    check = result.get("double_check")
    if check and check.get("agreement_rate") is not None:
        cards.append(
            (
                "Agreement",
                f"{check['agreement_rate']:.0%}",
                f"{len(check['disagreements'])} disagree",
                "share of speech windows where the face shows the emotion the voice has",
            )
        )
    for source, mean in (result.get("echo_mean") or {}).items():
        if mean:
            cards.append(
                (
                    f"Mean ({source})",
                    mean["dominant_emotion"],
                    f"{mean['confidence']:.0%} mean",
                    "time-weighted mean emotion over the whole file",
                )
            )
    if not cards:
        st.info("Nothing to summarise: no face and no voice was analysed.")
    for start in range(0, len(cards), CARDS_PER_ROW):
        row = zip(st.columns(CARDS_PER_ROW), cards[start : start + CARDS_PER_ROW])
        for column, (label, value, delta, help_text) in row:
            column.metric(label, value, delta, delta_color="off", delta_arrow="off", help=help_text, border=True)
    for warning in result.get("warnings", []):
        st.warning(warning)


def timeline(result: dict) -> None:
    chart = charts.timeline_chart(result)
    if chart is None:
        st.info("No timeline: nothing was detected over time.")
        return
    st.subheader("Timeline", anchor=False)
    st.caption(
        "The fused bands (face and voice together) come first, then each face and the voice on its own; colours "
        "are the emotions' probabilities. Scroll to zoom, "
        "drag to pan, hover for values, double-click to reset."
    )
    st.altair_chart(chart, width="stretch")


def _disagreement_table(check: dict) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "from (s)": d["start"],
                "to (s)": d["end"],
                "face": d["face_id"],
                "face says": d["face_label"],
                "face confidence": round(d["face_confidence"], 2),
                "voice says": d["voice_label"],
                "voice confidence": round(d["voice_confidence"], 2),
                "similarity": round(d["score"], 2),
                "trusted": d.get("trusted") or "",
                "fused says": d.get("fused_label") or "",
            }
            for d in check.get("disagreements", [])
        ]
    )


def face_thumbnails(client: EmoClient, job_id: str, result: dict, artifacts: list[dict]) -> None:
    """Who is who: each face at its most confident moment (the ``face-<id>.png`` artifacts), with its summary."""
    names = {a["name"] for a in artifacts}
    faces = [face for face in result.get("summary", {}).get("faces", []) if f"face-{face['face_id']}.png" in names]
    if not faces:
        return
    st.subheader("Faces", anchor=False)
    for column, face in zip(st.columns(min(len(faces), CARDS_PER_ROW)), faces[:CARDS_PER_ROW]):
        image = _cached_artifact(client, client.base_url, job_id, f"face-{face['face_id']}.png")
        column.image(image, caption=f"face {face['face_id']}: {by_mean(face)}", width=120)


def people_cards(client: EmoClient, job_id: str, result: dict, artifacts: list[dict]) -> None:
    """Who is who where there is more than one person: a card each, with their face's picture where the analysis
    kept one (the ``face-<id>.png`` artifacts). A result older than people has none."""
    people = result.get("people") or []
    if len(people) < 2:
        return
    st.subheader("People", anchor=False)
    names = {a["name"] for a in artifacts}
    for row in range(0, len(people), CARDS_PER_ROW):
        for column, person in zip(st.columns(CARDS_PER_ROW), people[row : row + CARDS_PER_ROW]):
            picture = next((f"face-{i}.png" for i in person["face_ids"] if f"face-{i}.png" in names), None)
            if picture is not None:
                column.image(_cached_artifact(client, client.base_url, job_id, picture), width=120)
            column.markdown(f"**{person['person_id']}**")
            column.caption(describe_person(person))


def video_view(client: EmoClient, job_id: str, result: dict, artifacts: list[dict], original: bytes | None) -> None:
    face_thumbnails(client, job_id, result, artifacts)
    check = result.get("double_check")
    start_time = 0.0
    if check is not None:
        st.subheader("Face and voice disagreements", anchor=False)
        table = _disagreement_table(check)
        if table.empty:
            st.success(
                "Face and voice agree in every compared speech window."
                if check["windows_compared"]
                else "No speech window had a face to compare with."
            )
        else:
            seconds = {name: st.column_config.NumberColumn(format="%.1f") for name in ("from (s)", "to (s)")}
            st.dataframe(table, hide_index=True, width="stretch", column_config=seconds)
            moments = sorted({0.0, *table["from (s)"].tolist()})
            start_time = st.selectbox(
                "Jump the video to a disagreement",
                moments,
                key=f"jump_{job_id}",
                format_func=lambda t: "start of the video" if t == 0 else f"{t:.1f} s",
            )
    video = next((a for a in artifacts if media_type(a).startswith("video/")), None)
    if video is not None:
        st.subheader("Annotated video", anchor=False)
        st.video(
            _cached_artifact(client, client.base_url, job_id, video["name"]),
            start_time=int(start_time),
            width=VIDEO_WIDTH,
        )
    elif original is not None:
        st.subheader("Video", anchor=False)
        st.caption("No annotated video was asked for; this is the uploaded file.")
        st.video(original, start_time=int(start_time), width=VIDEO_WIDTH)


def audio_view(result: dict, original: bytes | None, mime: str) -> None:
    st.subheader("Voice windows", anchor=False)
    if original is not None:
        st.audio(original, format=mime)
    rows = [
        {
            "from (s)": w["start"],
            "to (s)": w["end"],
            "speech": "yes" if w["speech"] else "silence",
            "emotion": w["label"] or "—",
            "confidence": None if w["confidence"] is None else round(w["confidence"], 2),
        }
        for w in result.get("voice", [])
    ]
    if rows:
        st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    else:
        st.info("The file has no voice windows (too short, or no audio track).")


def image_view(result: dict, original: bytes | None) -> None:
    faces = result.get("faces", [])
    st.subheader("Faces in the photo", anchor=False)
    if not faces:
        st.info("No face was found in the photo.")
        return
    photo = _open_image(original)
    for face in faces:
        thumbnail, chart = st.columns([1, 3])
        caption = f"face {face['face_id']}: {face['label']} ({face['confidence']:.0%})"
        with thumbnail:
            if photo is not None:
                st.image(photo.crop(tuple(face["box"])), width=160, caption=caption)
            else:
                st.markdown(f"**{caption}**")
            if face.get("low_confidence"):
                st.caption("Low confidence: the face was small or not clearly detected.")
        with chart:
            title = f"face {face['face_id']}: probability of each emotion"
            st.altair_chart(charts.probabilities_chart(face["probabilities"], title), width="stretch", height=300)


def _open_image(data: bytes | None) -> Image.Image | None:
    if data is None:
        return None
    try:
        from PIL import ImageOps

        return ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    except Exception:  # a photo Pillow can't read here (the server could): no thumbnails, the rest still shows
        return None


def media_type(artifact: dict) -> str:
    """An artifact's media type; an API of before 2026-12 listed it as ``content_type`` (the web app and the API
    are separate images, and one may be upgraded before the other)."""
    return artifact.get("media_type") or artifact["content_type"]


def downloads(client: EmoClient, job_id: str, artifacts: list[dict]) -> None:
    st.subheader("Downloads", anchor=False)
    if not artifacts:
        st.caption("This analysis produced no files.")
        return
    columns = st.columns(DOWNLOADS_PER_ROW)
    for index, item in enumerate(artifacts):
        label = artifact_label(item["name"])
        columns[index % len(columns)].download_button(
            f"Download {label} · {human_size(item['size'])}",
            data=lambda name=item["name"]: fetch_artifact(client, job_id, name),
            file_name=item["name"],
            mime=media_type(item),
            key=f"dl_{job_id}_{item['name']}",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
            help=f"{item['name']} ({media_type(item)})",
        )


def transcript_view(result: dict) -> None:
    """What was said, each word in the colour of its voice emotion (grey where no speech window covers it)."""
    segments = result.get("transcript")
    if not segments:
        return
    st.subheader("Transcript", anchor=False)
    language = describe_language(result.get("transcript_language"))
    told = f"Language: {language}. " if language else ""
    st.caption(told + "Each word in the colour of the voice's emotion when it was said; hover a word for its emotions.")
    for segment in segments:
        words = segment.get("words") or [segment]
        spans = " ".join(_coloured_word(word) for word in words)
        st.markdown(f"**{segment['start']:.1f} s** &nbsp; {spans}", unsafe_allow_html=True)


def _coloured_word(word: dict) -> str:
    voice = word.get("voice_emotion") or {}
    face = word.get("face_emotion") or {}
    colour = EMOTION_COLOURS.get(voice.get("label", ""), "#666666")
    title = f"voice: {voice.get('label', 'none')}; face: {face.get('label', 'none')}"
    return (f'<span style="color:{colour};font-weight:600" title="{html.escape(title)}">'
            f"{html.escape(word.get('text', ''))}</span>")  # fmt: skip


def show(client: EmoClient, job: dict, result: dict, artifacts: list[dict], original: bytes | None = None) -> None:
    """The whole result page of a job that succeeded. ``original``: the uploaded bytes while this session has
    them (for the player and photo thumbnails), else None."""
    headline(result, job.get("filename") or "")
    kind = result.get("input", {}).get("kind", "video")
    if kind == "image":
        image_view(result, original)
    else:
        people_cards(client, job["id"], result, artifacts)
        timeline(result)
        if kind == "audio":
            audio_view(result, original, _mime(job.get("filename", "")))
        else:
            video_view(client, job["id"], result, artifacts, original)
        transcript_view(result)
    downloads(client, job["id"], artifacts)


def _mime(name: str) -> str:
    suffix = Path(name).suffix.lower().lstrip(".")
    return {"mp3": "audio/mpeg", "m4a": "audio/mp4", "ogg": "audio/ogg", "opus": "audio/ogg", "flac": "audio/flac"}.get(
        suffix, "audio/wav"
    )
