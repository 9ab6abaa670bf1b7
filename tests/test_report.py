"""The report: one content model, written as PDF and DOCX holding the result's summary figures, the double check's
disagreements, the models' measured accuracy, key frames of the faces and the caveats."""

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from docx import Document
from media_factory import make_audio, video_from_image
from result_factory import angry_on_average_neutral_in_most_frames

from backend.__main__ import main
from backend.config import get_settings
from backend.errors import InputError
from backend.fusion.combiner import get_fusion_model
from backend.fusion.fused_windows import fuse
from backend.media import iter_frames
from backend.options import AnalysisOptions
from backend.render.graph import draw_timeline
from backend.render.report import write_report
from backend.render.report_blocks import Heading, layout
from backend.render.report_model import FACE_HEADER, build_report, model_accuracy
from backend.render.thumbnails import FaceThumbnails
from backend.results import FaceObservation, Result, VoiceRecord

HAPPY = np.array([0.02, 0.02, 0.02, 0.7, 0.2, 0.02, 0.02])
SAD = np.array([0.02, 0.02, 0.02, 0.1, 0.1, 0.72, 0.02])
ANGRY_VOICE = np.array([0.61, 0.1, 0.1, 0.05, 0.05, 0.05, 0.04])
DISAGREEMENT = {"start": 0.0, "end": 1.0, "face_id": 0, "face_label": "happy", "face_confidence": 0.7,
                "voice_label": "angry", "voice_confidence": 0.61, "agree": False, "score": 0.4}  # fmt: skip


def text_of_docx(path: Path) -> str:
    document = Document(str(path))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in document.paragraphs] + cells)


def text_of_pdf(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory, astronaut) -> Path:
    return video_from_image(tmp_path_factory.mktemp("report"), astronaut[::2, ::2], seconds=1.0, fps=10,
                            name="face.mp4")  # fmt: skip


@pytest.fixture()
def video_result(face_clip) -> Result:
    box = [60, 20, 140, 120]  # the astronaut's face in the first frames of face_clip
    faces = [FaceObservation.build(t, round(t * 10), 0, box, 0.99, HAPPY if t < 0.5 else SAD, False)
             for t in (0.0, 0.2, 0.4, 0.6, 0.8)]  # fmt: skip
    voice = [VoiceRecord.build(0.0, 1.0, ANGRY_VOICE)]
    return Result(
        input={"path": str(face_clip), "kind": "video", "duration": 1.0, "width": 204, "height": 204, "fps": 10.0,
               "has_audio": False, "rotation": 0, "video_codec": "h264"},
        options={"sample_fps": 5.0}, models=[], faces=faces, frames_analysed=5, voice=voice,
        double_check={"windows_compared": 1, "windows_without_face": 0, "agreement_rate": 0.0, "mean_score": 0.4,
                      "disagreements": [DISAGREEMENT], "windows": [DISAGREEMENT]},
        echo_mean={"face": {"dominant_emotion": "happy", "confidence": 0.45, "probabilities": {}, "seconds": 1.0},
                   "voice": {"dominant_emotion": "angry", "confidence": 0.61, "probabilities": {}, "seconds": 1.0}},
    ).finalise()  # fmt: skip


@pytest.fixture()
def thumbnails(video_result, face_clip) -> FaceThumbnails:
    """What the face pass keeps of face_clip's frames for video_result's observations."""
    kept = FaceThumbnails()
    images = {frame.index: frame.image for frame in iter_frames(face_clip, sample_fps=None)}
    for observation in video_result.faces:
        kept.offer(observation, images[observation.frame_index])
    return kept


@pytest.fixture()
def audio_result(tmp_path) -> tuple[Result, Path]:
    tone = make_audio(tmp_path, "speech.wav", seconds=2.0)
    voice = [VoiceRecord.build(0.0, 2.0, ANGRY_VOICE), VoiceRecord.build(1.0, 2.0, None)]
    result = Result(input={"path": str(tone), "kind": "audio", "duration": 2.0, "has_audio": True,
                           "audio_codec": "pcm_s16le", "audio_sample_rate": 16000, "audio_channels": 1},
                    options={}, models=[], faces=[], frames_analysed=0, voice=voice).finalise()  # fmt: skip
    return result, tone


def test_the_pdf_holds_the_summary_figures(tmp_path, video_result, face_clip):
    path = write_report(video_result, face_clip, tmp_path / "report.pdf", None, "pdf")
    assert path.read_bytes().startswith(b"%PDF")
    text = text_of_pdf(path)
    face = video_result.summary["faces"][0]
    assert f"{face['dominant_emotion']} {face['mean_probabilities'][face['dominant_emotion']]:.0%}" in text
    assert "agree in 0% of 1 window(s)" in text
    assert "What the models cannot know" in text


def test_the_docx_holds_the_summary_and_a_table_of_disagreements(tmp_path, video_result, face_clip):
    path = write_report(video_result, face_clip, tmp_path / "report.docx", None, "docx")
    text = text_of_docx(path)
    assert "face and voice" in text.lower() and "Face and voice agree in 0% of 1 window(s)" in text
    tables = Document(str(path)).tables
    check = [t for t in tables if t.rows[0].cells[0].text == "window (s)"]
    assert len(check) == 1 and len(check[0].rows) == 2
    assert [c.text for c in check[0].rows[1].cells] == ["0.0-1.0", "#0", "happy 70%", "angry 61%", "0.40", "-", "-"]


def test_a_fused_result_has_its_own_section_with_the_weights(tmp_path, video_result, face_clip):
    video_result.fused = fuse(video_result.faces, video_result.voice, get_fusion_model(get_settings()))
    text = text_of_docx(write_report(video_result.finalise(), face_clip, tmp_path / "r.docx", None, "docx"))
    fused = video_result.summary["fused"]
    weight = fused["mean_face_weight"]
    assert "Face and voice fused" in text and f"face {weight:.0%}, voice {1 - weight:.0%}" in text


def test_pdf_and_docx_say_the_same_figures(tmp_path, video_result, face_clip):
    pdf = text_of_pdf(write_report(video_result, face_clip, tmp_path / "r.pdf", None, "pdf"))
    docx = text_of_docx(write_report(video_result, face_clip, tmp_path / "r.docx", None, "docx"))
    face = video_result.summary["faces"][0]
    mean = f"{face['dominant_emotion']} {face['mean_probabilities'][face['dominant_emotion']]:.0%}"
    for figure in ("happy 70%", "angry 61%", "0.0-0.8", mean):
        assert figure in pdf and figure in docx, figure


def test_key_frames_show_each_face_at_its_most_confident_moment_per_emotion(video_result, face_clip, thumbnails):
    frames = build_report(video_result, face_clip, thumbnails=thumbnails).key_frames
    assert [(k.face_id, k.emotion) for k in frames] == [(0, "happy"), (0, "sad")]
    assert all(k.png.startswith(b"\x89PNG") for k in frames)


def test_without_the_face_pass_thumbnails_a_report_has_no_key_frames(video_result, face_clip):
    assert build_report(video_result, face_clip).key_frames == []


def test_the_graph_is_in_the_report(tmp_path, video_result, face_clip):
    graph = draw_timeline(video_result, tmp_path / "timeline.png")
    with_graph = write_report(video_result, face_clip, tmp_path / "a.pdf", graph, "pdf").stat().st_size
    without = write_report(video_result, face_clip, tmp_path / "b.pdf", None, "pdf").stat().st_size
    assert with_graph > without + 10_000
    assert "Timeline" in text_of_pdf(tmp_path / "a.pdf")


def test_a_face_shows_its_highest_mean_probability_and_the_emotion_of_most_frames_each_with_its_figure():
    """Angry on average (59%) but neutral in most frames (57%): neither figure stands beside the other's emotion."""
    row = dict(zip(FACE_HEADER, build_report(angry_on_average_neutral_in_most_frames()).face_summaries[0]))
    assert row["mean probability (top 3)"].startswith("angry 59%, neutral 24%")
    assert row["most frames"] == "neutral 57%"


def pages_of_pdf(path: Path) -> list[list[str]]:
    """The non-blank lines of each page (poppler's pdftotext), the page footer left out."""
    text = text_of_pdf(path)
    pages = [[line.strip() for line in page.splitlines() if line.strip()] for page in text.split("\f")]
    return [[line for line in page if " · page " not in line] for page in pages if page]


def test_no_pdf_page_ends_with_a_heading(tmp_path, video_result, face_clip):
    """Bullets of warnings near the top push everything below them down, a line at a time, over a page's height:
    each heading comes to the foot of a page in some of these reports, and must then move to the next page."""
    graph = draw_timeline(video_result, tmp_path / "timeline.png")
    headings = {b.text for b in layout(build_report(video_result, face_clip, graph)) if isinstance(b, Heading)}
    for warnings in range(0, 46, 2):  # 2 bullets, 12 mm, a step; 46 of them fill a page
        video_result.warnings = [f"warning {n}" for n in range(warnings)]
        pages = pages_of_pdf(write_report(video_result, face_clip, tmp_path / "r.pdf", graph, "pdf"))
        endings = [page[-1] for page in pages[:-1]]
        assert not headings & set(endings), f"{warnings} warnings: pages end with {endings}"


def test_an_audio_only_report_has_the_voice_and_no_key_frames(tmp_path, audio_result):
    result, tone = audio_result
    assert build_report(result, tone).key_frames == []
    text = text_of_docx(write_report(result, tone, tmp_path / "audio.docx", None, "docx"))
    assert "1 of 2" in text and "angry" in text and "Key frames" not in text
    assert write_report(result, tone, tmp_path / "audio.pdf", None, "pdf").read_bytes().startswith(b"%PDF")


def test_measured_accuracy_comes_from_the_model_cards_metrics(tmp_path):
    card = tmp_path / "model"
    card.mkdir()
    (card / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.6543, "macro_f1": 0.61, "n": 3589}}))
    assert model_accuracy(str(card)).startswith("accuracy 65.4%, macro-F1 0.610, n=3589")
    assert model_accuracy(str(tmp_path / "missing")) == "not measured"


def test_a_report_format_other_than_pdf_or_docx_is_refused():
    with pytest.raises(InputError) as error:
        AnalysisOptions(report=True, report_format="odt")
    assert error.value.code == "invalid_option"


def test_the_cli_report_flags_write_the_report_and_the_graph_in_png_and_svg(capsys, tmp_path, face_clip):
    args = [str(face_clip), "--report", "--report-format", "docx", "--graph", "--sample-fps", "2", "-q"]
    assert main(["analyze", *args, "-o", str(tmp_path)]) == 0
    names = {p.name for p in tmp_path.iterdir()}
    assert {"report.docx", "timeline.png", "timeline.svg", "result.json"} <= names
    assert "<svg" in (tmp_path / "timeline.svg").read_text()[:500]
    dominant = json.loads((tmp_path / "result.json").read_text())["summary"]["faces"][0]["dominant_emotion"]
    assert dominant in text_of_docx(tmp_path / "report.docx")


def test_a_report_without_the_graph_option_leaves_no_graph_behind(capsys, tmp_path, face_clip):
    assert main(["analyze", str(face_clip), "--report", "--sample-fps", "2", "-q", "-o", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.pdf", "result.json"]
    assert "Timeline" in text_of_pdf(tmp_path / "report.pdf")
