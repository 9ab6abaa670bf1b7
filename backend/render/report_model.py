"""The report's content, built once from a result: every figure and sentence the report holds, before any layout
(``report_blocks`` orders it into blocks that both writers render: one builder, two writers, the same figures)."""

from __future__ import annotations

import io
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from backend.captions import describe_language
from backend.emotions import EMOTIONS
from backend.render.thumbnails import FaceThumbnails
from backend.results import FaceObservation, Result

MAX_KEY_FACES = 6  # faces with key frames (the most observed ones)
MAX_TABLE_ROWS = 60  # rows of the disagreement table; the rest are counted, not listed
MAX_TRANSCRIPT_LINES = 300  # transcript segments in the report; the rest are counted, not listed


# ---------------------------------------------------------------------------------------------------------------
# Content


@dataclass
class ModelRow:
    role: str
    name: str
    version: str
    accuracy: str  # measured accuracy from the model card's metrics.json, or "not measured"


@dataclass
class KeyFrame:
    face_id: int
    emotion: str
    t: float
    confidence: float
    png: bytes


@dataclass
class TranscriptLine:
    start: float
    end: float
    words: list[tuple[str, str | None]]  # (word, its voice emotion or None)
    voice: str | None  # the segment's voice emotion, "sad 61%"
    face: str | None  # the dominant face's emotion then, "#0 happy 80%"


@dataclass
class ReportContent:
    title: str
    subtitle: str
    metadata: list[tuple[str, str]]
    models: list[ModelRow]
    face_summaries: list[list[str]]  # rows of FACE_HEADER
    voice_summary: list[tuple[str, str]] | None  # None: the voice was not analysed
    fused_summary: list[tuple[str, str]] | None  # None: not fused
    echo_mean: list[list[str]]  # rows of ECHO_HEADER
    double_check: str | None  # one-line summary; None when it was not run
    disagreements: list[list[str]]  # rows of CHECK_HEADER
    more_disagreements: int  # rows left out of the table
    graph_png: bytes | None
    key_frames: list[KeyFrame]
    caveats: list[str]
    warnings: list[str] = field(default_factory=list)
    transcript: list[TranscriptLine] | None = None  # None: not transcribed
    more_transcript: int = 0  # segments left out
    transcript_language: str | None = None  # e.g. "pl (detected, probability 0.98)"
    people: list[list[str]] = field(default_factory=list)  # rows of PEOPLE_HEADER, where there is more than one


# The dominant emotion is the one of highest mean probability, listed first; "most frames" is the one that won the
# most frames, which can be another (angry on average, neutral in most frames): both are shown, each with its figure.
FACE_HEADER = ["face", "seen (s)", "observations", "mean probability (top 3)", "most frames", "low conf."]
ECHO_HEADER = ["source", "mean emotion", "confidence", "seconds"]
PEOPLE_HEADER = ["person", "face", "voice", "on screen (s)", "speaking (s)", "face says", "voice says", "fused says"]
CHECK_HEADER = ["window (s)", "face", "face says", "voice says", "score", "trusted", "fused says"]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _top(probabilities: dict[str, float], n: int = 3) -> str:
    best = sorted(probabilities.items(), key=lambda kv: -kv[1])[:n]
    return ", ".join(f"{name} {p:.0%}" for name, p in best)


def _most(shares: dict[str, float]) -> str:
    """The emotion that won the most frames or windows, and its share of them."""
    return _top(shares, n=1)


def _metadata(result: Result, source: Path | None) -> list[tuple[str, str]]:
    info, options = result.input, result.options
    rows = [("file", Path(info.get("path") or (source or "")).name or "-"), ("kind", info.get("kind", "-"))]
    if info.get("duration"):
        rows.append(("duration", f"{info['duration']:.2f} s"))
    if info.get("width"):
        fps = f", {info['fps']:.2f} fps" if info.get("fps") else ""
        rot = f", rotated {info['rotation']}°" if info.get("rotation") else ""
        rows.append(("picture", f"{info['width']}x{info['height']} px{fps}{rot}"))
    if info.get("video_codec"):
        rows.append(("video codec", info["video_codec"]))
    if info.get("has_audio"):
        rows.append(("audio", f"{info.get('audio_codec')}, {info.get('audio_sample_rate')} Hz, "
                              f"{info.get('audio_channels')} channel(s)"))  # fmt: skip
    if options.get("sample_fps"):
        sampling = f"{options['sample_fps']:g} frames per second of video"
    elif options.get("frame_step"):
        sampling = f"every {options['frame_step']} frame(s)"
    else:
        sampling = "every frame"
    if result.frames_analysed:
        rows.append(("face analysis", f"{result.frames_analysed} frame(s) analysed ({sampling}), faces in "
                                      f"{result.summary.get('frames_with_faces', 0)}"))  # fmt: skip
    if result.voice:
        rows.append(("voice analysis", f"{options.get('voice_window', '-')} s windows every "
                                       f"{options.get('voice_hop', '-')} s"))  # fmt: skip
    rows.append(("analysed at", result.created_at))
    rows.append(("result schema", result.schema_version))
    return rows


# Where a model card's metrics.json keeps the held-out figures, most specific first.
_METRIC_PATHS = (("ours", "test", "all", "labels7"), ("test", "all", "labels7"), ("test", "labels7"), ("test",),
                 ("ours", "test"), ("metrics", "test"), ("ours", "scores"), ())  # fmt: skip


def _find(metrics: dict, path: tuple[str, ...]) -> dict | None:
    node = metrics
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, dict) and "accuracy" in node else None


def model_accuracy(source: str | None) -> str:
    """The measured held-out accuracy in ``<source>/metrics.json``, as a short phrase, or "not measured"."""
    if not source:
        return "not measured"
    path = Path(source) / "metrics.json"
    try:
        metrics = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "not measured"
    for key_path in _METRIC_PATHS:
        figures = _find(metrics, key_path)
        if figures is not None:
            where = "held-out test set" if "test" in key_path else "evaluation set"
            parts = [f"accuracy {figures['accuracy']:.1%}"]
            if figures.get("macro_f1") is not None:
                parts.append(f"macro-F1 {figures['macro_f1']:.3f}")
            if figures.get("n"):
                parts.append(f"n={figures['n']}")
            return f"{', '.join(parts)} ({where}, 7 classes; see card.md)"
    return "not measured"


def _models(result: Result) -> list[ModelRow]:
    rows = []
    for model in result.models:
        role = model.get("role", "").replace("_", " ")
        accuracy = "not measured" if model.get("role") == "face_detector" else model_accuracy(model.get("source"))
        rows.append(ModelRow(role, model.get("name", "-"), str(model.get("version", "-")), accuracy))
    return rows


def _face_rows(result: Result) -> list[list[str]]:
    rows = []
    for face in result.summary.get("faces", []):
        rows.append([f"#{face['face_id']}", f"{face['first_seen']:.1f}-{face['last_seen']:.1f}",
                     str(face["observations"]), _top(face["mean_probabilities"]), _most(face["share_of_time"]),
                     _pct(face["low_confidence_share"])])  # fmt: skip
    return rows


def _voice_rows(result: Result) -> list[tuple[str, str]] | None:
    voice = result.summary.get("voice")
    if not voice:
        return None
    rows = [("windows with speech", f"{voice['speech_windows']} of {voice['windows']}")]
    if voice.get("dominant_emotion"):
        rows.append(("mean probability (top 3)", _top(voice["mean_probabilities"])))
        rows.append(("most speech windows", _most(voice["share_of_time"])))
    return rows


def _fused_rows(result: Result) -> list[tuple[str, str]] | None:
    fused = result.summary.get("fused")
    if not fused:
        return None
    weight = fused["mean_face_weight"]
    return [("mean probability (top 3)", _top(fused["mean_probabilities"])),
            ("most windows", _most(fused["share_of_time"])),
            ("windows with face and voice", f"{fused['windows_with_both']} of {fused['windows']}"),
            ("weight there", "-" if weight is None else f"face {_pct(weight)}, voice {_pct(1 - weight)}")]  # fmt: skip


def _echo_rows(result: Result) -> list[list[str]]:
    rows = []
    for source, mean in (result.echo_mean or {}).items():
        if mean:
            rows.append([source, mean["dominant_emotion"], _pct(mean["confidence"]), f"{mean.get('seconds', 0):.1f}"])
        else:
            rows.append([source, "-", "-", "0"])
    return rows


def _people_rows(result: Result) -> list[list[str]]:
    """A row per person where there is more than one (one person's emotions are the file's own)."""
    if len(result.people) < 2:
        return []
    return [[p.person_id, ", ".join(map(str, p.face_ids)) or "-", p.speaker_id or "-", f"{p.on_screen_seconds:.1f}",
             f"{p.speech_seconds:.1f}",
             *(f"{mean['dominant_emotion']} {_pct(mean['confidence'])}" if mean else "-"
               for mean in (p.face, p.voice, p.fused))] for p in result.people]  # fmt: skip


def _double_check(result: Result) -> tuple[str | None, list[list[str]], int]:
    check = result.double_check
    if check is None:
        return None, [], 0
    if not check.get("windows_compared"):
        return "No window had both a face and speech, so nothing was compared.", [], 0
    disagreements = check.get("disagreements", [])
    line = (f"Face and voice agree in {check['agreement_rate']:.0%} of {check['windows_compared']} window(s) "
            f"compared; {len(disagreements)} disagree.")  # fmt: skip
    rows = [[f"{d['start']:.1f}-{d['end']:.1f}", "-" if d.get("face_id") is None else f"#{d['face_id']}",
             f"{d['face_label']} {_pct(d['face_confidence'])}", f"{d['voice_label']} {_pct(d['voice_confidence'])}",
             f"{d['score']:.2f}", d.get("trusted") or "-", d.get("fused_label") or "-"]
            for d in disagreements[:MAX_TABLE_ROWS]]  # fmt: skip
    return line, rows, max(0, len(disagreements) - MAX_TABLE_ROWS)


def _field(item: object, name: str) -> object:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def _transcript(result: Result) -> tuple[list[TranscriptLine] | None, int]:
    if result.transcript is None:
        return None, 0
    lines = []
    for segment in result.transcript[:MAX_TRANSCRIPT_LINES]:
        voice, face = _field(segment, "voice_emotion"), _field(segment, "face_emotion")
        words = [(str(_field(w, "text")), (_field(w, "voice_emotion") or {}).get("label"))
                 for w in _field(segment, "words") or []]  # fmt: skip
        lines.append(TranscriptLine(
            start=float(_field(segment, "start")), end=float(_field(segment, "end")),
            words=words or [(str(_field(segment, "text")), (voice or {}).get("label"))],
            voice=f"{voice['label']} {_pct(voice['confidence'])}" if voice else None,
            face=f"#{face['face_id']} {face['label']} {_pct(face['confidence'])}" if face else None,
        ))  # fmt: skip
    return lines, max(0, len(result.transcript) - MAX_TRANSCRIPT_LINES)


def _caveats(result: Result) -> list[str]:
    caveats = [
        "Facial expressions and tone of voice are not feelings. The models label what a face or a voice shows, "
        "as an actor would display it; they cannot know what the person feels, intends or means.",
        "The models learnt from acted, posed data (FER2013 photos for faces, RAVDESS actors reading two "
        "sentences for the voice); everyday, subtle or culturally different expressions are recognised worse.",
        "Accuracy is limited (see the figures under Models): a label is a probable reading, often wrong, "
        "never proof. Confidence shows how sure the model is, not how right it is.",
        "Small, blurred, turned or partly hidden faces are classified less reliably; faces smaller than the "
        "configured minimum are flagged low-confidence.",
        "The voice model was trained on acted speech of 75 speakers in four languages (English, Amharic, Polish, "
        "Turkish); a language or recording setup it never heard, natural speech, children, noise or several "
        "overlapping voices lower its accuracy a lot. Silence is marked, never guessed.",
        "Face ids follow a face across frames by position; after a cut or when people cross, ids can swap.",
    ]
    if result.transcript is not None:
        caveats.append(
            "The transcript is machine speech recognition: words are misheard, especially in short, "
            "emotional or noisy speech (Whisper base: 1-6% of the words wrong on clear English "
            "sentences, 38% on short acted CREMA-D clips, 32% on acted Polish; PocketSphinx 31-86%)."
        )
    if result.fused:
        caveats.append(
            "The fused view was fitted on pairs of separate face photos and acted voice recordings with the same "
            "label: where a real person's face and voice show different things, no rule can know which is true, "
            "and the fused label is only the better-supported reading."
        )
    low = (result.summary.get("overall") or {}).get("low_confidence_share")
    if low:
        caveats.append(f"{low:.0%} of the face observations in this file are low-confidence (small faces).")
    return caveats


def _png(image: np.ndarray | Image.Image) -> bytes:
    buffer = io.BytesIO()
    (image if isinstance(image, Image.Image) else Image.fromarray(image)).save(buffer, format="PNG")
    return buffer.getvalue()


def key_observations(result: Result) -> list[FaceObservation]:
    """Per face (the MAX_KEY_FACES most observed), its most confident observation for each emotion it showed."""
    by_face: dict[int, list[FaceObservation]] = defaultdict(list)
    for o in result.faces:
        by_face[o.face_id].append(o)
    faces = sorted(by_face, key=lambda f: -len(by_face[f]))[:MAX_KEY_FACES]
    chosen = []
    for face_id in sorted(faces):
        best: dict[str, FaceObservation] = {}
        for o in by_face[face_id]:
            if o.label not in best or o.confidence > best[o.label].confidence:
                best[o.label] = o
        chosen += [best[name] for name in EMOTIONS if name in best]
    return chosen


def _thumbnails(chosen: list[FaceObservation], thumbnails: FaceThumbnails | None) -> list[KeyFrame]:
    pictures = [(o, thumbnails.of(o) if thumbnails is not None else None) for o in chosen]
    return [KeyFrame(o.face_id, o.label, o.t, o.confidence, _png(picture)) for o, picture in pictures
            if picture is not None]  # fmt: skip


def key_frames(result: Result, thumbnails: FaceThumbnails | None) -> list[KeyFrame]:
    """Thumbnails of each face at its most confident moment per emotion; none without the face pass's thumbnails."""
    return _thumbnails(key_observations(result), thumbnails)


def face_thumbnails(result: Result, thumbnails: FaceThumbnails | None) -> list[KeyFrame]:
    """One thumbnail per face, at its most confident moment: how the web app shows who is who."""
    best: dict[int, FaceObservation] = {}
    for o in result.faces:
        if o.face_id not in best or o.confidence > best[o.face_id].confidence:
            best[o.face_id] = o
    return _thumbnails([best[face_id] for face_id in sorted(best)], thumbnails)


def build_report(result: Result, source: Path | None = None, graph_png: Path | None = None,
                 thumbnails: FaceThumbnails | None = None) -> ReportContent:  # fmt: skip
    """Everything the report says, from the result (and the face pass's thumbnails, for key frames)."""
    name = Path(result.input.get("path") or (source or "media")).name
    check_line, disagreements, more = _double_check(result)
    transcript, more_transcript = _transcript(result)
    return ReportContent(
        title=f"EmoClassify report: {name}",
        subtitle=f"Emotions shown by faces and voice over time - analysed {result.created_at}",
        metadata=_metadata(result, source),
        models=_models(result),
        face_summaries=_face_rows(result),
        voice_summary=_voice_rows(result),
        fused_summary=_fused_rows(result),
        echo_mean=_echo_rows(result),
        double_check=check_line,
        disagreements=disagreements,
        more_disagreements=more,
        graph_png=Path(graph_png).read_bytes() if graph_png is not None and Path(graph_png).is_file() else None,
        key_frames=key_frames(result, thumbnails),
        caveats=_caveats(result),
        warnings=list(result.warnings),
        transcript=transcript,
        more_transcript=more_transcript,
        transcript_language=describe_language(result.transcript_language),
        people=_people_rows(result),
    )
