"""Annotated video: every frame of the input at its size and rate, faces boxed in their emotion's colour between
samples, the original audio kept, H.264 + AAC in a faststart mp4 that browsers play."""

import json
import struct
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest
from bad_inputs import png_declaring, video_of_frames
from media_factory import make_video, run_ffmpeg, video_from_image

from backend.__main__ import main
from backend.emotions import colour_rgb
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from backend.render.annotate import FaceLookup, carry_gap, write_annotated_video
from backend.results import FaceObservation, Person, Result, VoiceRecord

HAPPY = np.array([0.02, 0.02, 0.02, 0.8, 0.1, 0.02, 0.02])
BOX = [40, 40, 120, 150]  # x1, y1, x2, y2


def a_result(times=(0.0, 0.4, 0.8), fps=10.0, voice=True) -> Result:
    faces = [FaceObservation.build(t, round(t * fps), 0, list(BOX), 0.99, HAPPY, False) for t in times]
    records = [VoiceRecord.build(0.0, 1.0, np.array([0.6, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05]))] if voice else []
    return Result(input={"kind": "video", "fps": fps, "duration": 1.0}, options={"sample_fps": 2.5}, models=[],
                  faces=faces, frames_analysed=len(times), voice=records).finalise()  # fmt: skip


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def top_level_atoms(path: Path) -> list[str]:
    atoms, data = [], path.read_bytes()
    offset = 0
    while offset + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        if size == 1:
            size = struct.unpack(">Q", data[offset + 8 : offset + 16])[0]
        atoms.append(kind.decode("latin-1"))
        if size < 8:
            break
        offset += size
    return atoms


def closest_distance(pixels: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float(np.min(np.linalg.norm(pixels.reshape(-1, 3).astype(float) - colour, axis=1)))


@pytest.fixture(scope="module")
def gray_clip(tmp_path_factory) -> Path:
    """1 s of plain gray at 10 fps, 320x240, with a tone (AAC): any colour in it was drawn."""
    return make_video(tmp_path_factory.mktemp("annotate"), "gray.mp4", seconds=1.0, size=(320, 240), fps=10,
                      source="color=c=gray:size=320x240:rate=10")  # fmt: skip


@pytest.fixture(scope="module")
def annotated(gray_clip) -> Path:
    return write_annotated_video(gray_clip, a_result(), gray_clip.with_name("annotated.mp4"))


def test_the_output_has_the_size_frame_count_and_rate_of_the_input(gray_clip, annotated):
    with av.open(str(gray_clip)) as source, av.open(str(annotated)) as output:
        src, out = source.streams.video[0], output.streams.video[0]
        size = (src.codec_context.width, src.codec_context.height)
        assert (out.codec_context.width, out.codec_context.height) == size
        assert float(out.average_rate) == pytest.approx(float(src.average_rate), abs=0.01)
    assert abs(len(frames_of(annotated)) - len(frames_of(gray_clip))) <= 1


def test_the_output_is_h264_with_the_input_audio_as_aac(annotated):
    with av.open(str(annotated)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert video.codec_context.name == "h264" and video.codec_context.pix_fmt == "yuv420p"
        assert video.codec_context.profile in ("High", "Main", "Constrained Baseline")
        assert audio.codec_context.name == "aac"
        assert float(audio.duration * audio.time_base) == pytest.approx(1.0, abs=0.1)


def test_the_moov_atom_comes_before_the_media_data(annotated):
    atoms = top_level_atoms(annotated)
    assert atoms.index("moov") < atoms.index("mdat")


def test_a_face_between_two_samples_is_boxed_in_its_label_colour(annotated):
    frame = frames_of(annotated)[2]  # t = 0.2 s: between the observations at 0.0 and 0.4
    x1, y1, x2, y2 = BOX
    left_edge = frame[y1 + 30 : y1 + 50, x1 - 3 : x1 + 4]
    assert closest_distance(left_edge, colour_rgb("happy")) < 40
    assert closest_distance(frame[y1 + 30 : y1 + 50, x1 + 10 : x1 + 20], (128, 128, 128)) < 20  # inside: untouched


def test_no_box_where_the_face_was_not_seen(gray_clip, tmp_path):
    output = write_annotated_video(gray_clip, a_result(times=(0.0,), voice=False), tmp_path / "a.mp4")
    last = frames_of(output)[-1]  # t = 0.9 s, far from the only observation
    assert np.abs(last.astype(int) - 128).max() < 20


def test_the_voice_strip_shows_the_voice_emotion_at_the_bottom(annotated):
    strip = frames_of(annotated)[5][-10:, 150:]  # the stacked bar of the voice probabilities
    assert closest_distance(strip, colour_rgb("angry")) < 40


def test_where_two_people_are_seen_the_one_speaking_is_framed_in_white(gray_clip, tmp_path):
    boxes = {0: [20, 60, 100, 160], 1: [200, 60, 280, 160]}
    faces = [FaceObservation.build(t, round(t * 10), face_id, box, 0.99, HAPPY, False)
             for t in (0.0, 0.4, 0.8) for face_id, box in boxes.items()]  # fmt: skip
    said = VoiceRecord.build(0.0, 1.0, HAPPY)
    said.speaker_id = "S2"
    result = Result(input={"kind": "video", "fps": 10.0, "duration": 1.0}, options={"sample_fps": 2.5}, models=[],
                    faces=faces, frames_analysed=3, voice=[said]).finalise()  # fmt: skip
    result.people = [Person("P1", [0], "S1", 1.2, 0.0, None, None, None),
                     Person("P2", [1], "S2", 1.2, 1.0, None, None, None)]  # fmt: skip
    frame = frames_of(write_annotated_video(gray_clip, result, tmp_path / "two.mp4"))[5]

    def left_of(box: list[int]) -> float:
        """The brightness just left of the box, where the white frame is drawn."""
        return float(frame[box[1] + 20 : box[3] - 20, box[0] - 3].mean())

    assert left_of(boxes[1]) > 200 and left_of(boxes[0]) < 160


def test_audio_that_is_not_aac_is_reencoded_to_aac(tmp_path):
    clip = make_video(tmp_path, "clip.avi", seconds=1.0, size=(160, 120), fps=10)  # mpeg4 + mp3
    output = write_annotated_video(clip, a_result(voice=False), tmp_path / "a.mp4")
    with av.open(str(clip)) as container:
        source_seconds = sum(f.samples for f in container.decode(audio=0)) / 22050
    with av.open(str(output)) as container:
        assert container.streams.video[0].codec_context.name == "h264"
        assert container.streams.audio[0].codec_context.name == "aac"
        seconds = sum(f.samples for f in container.decode(audio=0)) / 22050  # AAC adds 1024 samples of priming
        assert seconds == pytest.approx(source_seconds, abs=0.06)


def test_a_silent_input_gives_a_silent_output(tmp_path, astronaut):
    clip = video_from_image(tmp_path, astronaut[::2, ::2], seconds=0.5, fps=10, name="silent.mp4")
    output = write_annotated_video(clip, a_result(voice=False), tmp_path / "a.mp4")
    with av.open(str(output)) as container:
        assert len(container.streams.audio) == 0 and len(container.streams.video) == 1


def test_a_box_is_carried_no_further_than_the_sampling_allows():
    result = a_result(times=(0.0, 0.4))
    lookup = FaceLookup(result.faces, carry_gap(result))
    assert lookup.at(0.2)[0].box == tuple(BOX) and lookup.at(0.2)[0].observation.label == "happy"
    assert lookup.at(0.4 + carry_gap(result) + 0.01) == []


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory, astronaut) -> Path:
    """The astronaut's face panning across 1 s of 204x204 video."""
    return video_from_image(tmp_path_factory.mktemp("face"), astronaut[::2, ::2], seconds=1.0, fps=10, name="face.mp4")


def test_the_pipeline_boxes_the_detected_face_on_frames_between_samples(tmp_path, face_clip):
    result = analyse(face_clip, AnalysisOptions(sample_fps=2, annotate_video=True), output_dir=tmp_path / "out")
    frame = frames_of(tmp_path / "out" / "annotated.mp4")[2]  # t = 0.2 s, not analysed
    face = FaceLookup(result.faces, carry_gap(result)).at(0.2)[0]
    x1, y1, x2, y2 = face.box
    left_edge = frame[(y1 + y2) // 2 - 5 : (y1 + y2) // 2 + 5, max(0, x1 - 3) : x1 + 4]
    assert closest_distance(left_edge, colour_rgb(face.observation.label)) < 40


def test_annotating_an_audio_file_is_skipped_with_a_warning(tmp_path):
    from media_factory import make_audio

    tone = make_audio(tmp_path, "tone.wav", seconds=1.0)
    result = analyse(tone, AnalysisOptions(annotate_video=True), output_dir=tmp_path / "out")
    assert any("annotated video skipped" in w for w in result.warnings)
    assert not (tmp_path / "out" / "annotated.mp4").exists()
    assert "annotated video skipped" in (tmp_path / "out" / "result.json").read_text()


def test_the_cli_annotate_flag_writes_the_video(capsys, tmp_path, face_clip):
    assert main(["analyze", str(face_clip), "--annotate", "--sample-fps", "2", "-q", "-o", str(tmp_path)]) == 0
    assert (tmp_path / "annotated.mp4").stat().st_size > 0


def test_a_crema_d_clip_end_to_end_keeps_its_frames_and_sound(capsys, tmp_path, shared_data):
    clip = shared_data / "video" / "1001_DFA_ANG_XX.mp4"
    code = main(["analyze", str(clip), "--annotate", "--report", "--double-check", "-q", "-o", str(tmp_path)])
    assert code == 0
    assert abs(len(frames_of(tmp_path / "annotated.mp4")) - len(frames_of(clip))) <= 1
    with av.open(str(tmp_path / "annotated.mp4")) as container:
        assert container.streams.audio[0].codec_context.name == "aac"
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")


_SECOND_STREAM_CHILD = """
import json, sys
sys.path.insert(0, "tests")
from pathlib import Path
from memory import peak_rss_bytes
from test_annotate import a_result
from backend.render.annotate import write_annotated_video
write_annotated_video(Path(sys.argv[1]), a_result(), Path(sys.argv[2]))
print(json.dumps({"peak_rss": peak_rss_bytes()}))
"""


def test_a_second_video_stream_declaring_16000x16000_is_not_decoded_while_copying_the_audio(gray_clip, tmp_path):
    """The probe checks the main video stream's size only; opening the file (once, for the pictures and the sound
    it copies) decodes a first frame of every stream, so the opening goes through the pixel cap, or a few KB of PNG
    stream declaring 16000x16000 would make it allocate 2 GB."""
    bomb = png_declaring(16000, 16000, "RGBA", 16)
    hidden = video_of_frames(tmp_path / "bomb.avi", "png", bomb, (16000, 16000), "rgba64be")
    source = tmp_path / "two-videos.mkv"
    run_ffmpeg("-i", gray_clip, "-i", hidden, "-map", "0", "-map", "1:v", "-c", "copy", source)
    target = tmp_path / "annotated.mp4"
    done = subprocess.run([sys.executable, "-c", _SECOND_STREAM_CHILD, str(source), str(target)], check=True,
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])  # fmt: skip
    assert json.loads(done.stdout.splitlines()[-1])["peak_rss"] < 400 * 1024**2
    assert len(frames_of(target)) == 10
