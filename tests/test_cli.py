"""`python -m backend analyze`: results on disk, one clear line for bad input, never a traceback."""

import json
import subprocess
import sys

import pytest
from media_factory import make_audio, make_video, video_from_image
from result_factory import angry_on_average_neutral_in_most_frames

from backend.__main__ import EXIT_USER_ERROR, _summary_lines, main
from backend.config import get_settings


@pytest.fixture(scope="module")
def face_video(tmp_path_factory, astronaut):
    return video_from_image(tmp_path_factory.mktemp("cli"), astronaut, seconds=1.0, fps=10, name="face.mp4")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["analyze", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_writes_result_csv_and_graph(capsys, tmp_path, face_video):
    code, _, err = run(capsys, str(face_video), "--graph", "--csv", "-o", str(tmp_path / "out"))
    assert code == 0
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["result.json", "timeline.csv", "timeline.png", "timeline.svg"]
    assert "face 0: " in err and "(highest mean probability, " in err


def test_a_face_summary_names_the_figure_its_emotion_was_chosen_by(tmp_path):
    lines = _summary_lines(angry_on_average_neutral_in_most_frames(), tmp_path)
    face = next(line for line in lines if line.startswith("  face 0"))
    assert face == "  face 0: angry (highest mean probability, 59%), 7 observations"


def test_json_flag_prints_the_result(capsys, tmp_path, face_video):
    code, out, _ = run(capsys, str(face_video), "--json", "-q", "-o", str(tmp_path / "out"))
    assert code == 0 and json.loads(out)["schema_version"] == "1.4"


def test_progress_is_plain_lines_when_not_on_a_terminal(capsys, tmp_path, face_video):
    _, _, err = run(capsys, str(face_video), "-o", str(tmp_path / "out"))
    assert "[100%] done" in err


def expect_error(capsys, tmp_path, path, code: str) -> None:
    exit_code, out, err = run(capsys, str(path), "--graph", "-o", str(tmp_path / "out"))
    assert exit_code == EXIT_USER_ERROR
    error_lines = [line for line in err.splitlines() if line.startswith("error")]
    assert error_lines == [error_lines[0]] and error_lines[0].startswith(f"error [{code}]: ")
    assert "Traceback" not in err and out == ""
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_missing_file(capsys, tmp_path):
    expect_error(capsys, tmp_path, tmp_path / "nowhere.mp4", "file_not_found")


def test_empty_file(capsys, tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    expect_error(capsys, tmp_path, tmp_path / "empty.mp4", "empty_file")


def test_text_renamed_as_video(capsys, tmp_path):
    (tmp_path / "notes.mp4").write_text("<html><body>not a video</body></html>\n" * 50)
    expect_error(capsys, tmp_path, tmp_path / "notes.mp4", "not_media")


def test_truncated_video(capsys, tmp_path):
    whole = make_video(tmp_path, "whole.mp4", seconds=2.0)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    expect_error(capsys, tmp_path, cut, "corrupt_media")


def test_audio_file_when_faces_are_asked_for(capsys, tmp_path):
    tone = make_audio(tmp_path, "tone.wav", seconds=1.0)
    exit_code, _, err = run(capsys, str(tone), "--modalities", "face", "-o", str(tmp_path / "out"))
    assert exit_code == EXIT_USER_ERROR and "error [no_video_stream]" in err


def test_invalid_option_is_a_user_error(capsys, tmp_path, face_video):
    code, _, err = run(capsys, str(face_video), "--sample-fps", "-1", "-o", str(tmp_path / "out"))
    assert code == EXIT_USER_ERROR and err.startswith("error [invalid_option]")


def test_frame_step_alone_replaces_the_default_sampling_rate(capsys, tmp_path, face_video):
    code, out, _ = run(capsys, str(face_video), "--frame-step", "2", "--json", "-q", "-o", str(tmp_path / "out"))
    assert code == 0 and json.loads(out)["frames_analysed"] == 5  # every 2nd of 10 frames


def test_a_setting_out_of_its_limits_is_a_user_error(capsys, tmp_path, face_video, monkeypatch):
    monkeypatch.setenv("EMOCLASSIFY_SAMPLE_FPS", "100")
    get_settings.cache_clear()
    try:
        code, _, err = run(capsys, str(face_video), "-o", str(tmp_path / "out"))
    finally:
        get_settings.cache_clear()
    assert code == EXIT_USER_ERROR and err.startswith("error [invalid_setting]: EMOCLASSIFY_SAMPLE_FPS must be")


def test_the_real_entry_point_runs_as_a_module(tmp_path, face_video):
    done = subprocess.run([sys.executable, "-m", "backend", "analyze", str(face_video), "-q", "--json",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["summary"]["face_count"] == 1
