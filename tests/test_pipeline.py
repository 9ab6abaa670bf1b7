"""analyse(): the ordered steps from a media file to a result and its artifacts."""

import json
import os

import jsonschema
import numpy as np
import pytest
from media_factory import make_audio, run_ffmpeg, video_from_image
from PIL import Image

from backend import media, pipeline
from backend.errors import MediaError
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from backend.render.thumbnails import cut
from backend.results import SCHEMA_PATH


@pytest.fixture(scope="module")
def astronaut_video(tmp_path_factory, astronaut):
    return video_from_image(tmp_path_factory.mktemp("video"), astronaut, seconds=2.0, fps=10, name="astronaut.mp4")


def test_a_face_video_gives_one_tracked_face_in_every_sampled_frame(astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(sample_fps=5))
    assert result.frames_analysed == 10
    assert result.summary["frames_with_faces"] == 10
    assert {o.face_id for o in result.faces} == {0}
    assert [o.t for o in result.faces] == pytest.approx([i / 5 for i in range(10)], abs=0.02)


def test_the_result_validates_against_its_schema(astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(sample_fps=2))
    jsonschema.validate(json.loads(result.to_json()), json.loads(SCHEMA_PATH.read_text()))


def test_every_second_frame_as_the_original_project_did(astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(sample_fps=None, frame_step=2))
    assert [o.frame_index for o in result.faces] == list(range(0, 20, 2))


def test_max_frames_stops_early(astronaut_video):
    assert analyse(astronaut_video, AnalysisOptions(sample_fps=5, max_frames=3)).frames_analysed == 3


def test_the_result_records_the_models_that_ran(astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(max_frames=1))
    roles = {m["role"]: m for m in result.models}
    assert roles["face_detector"]["name"] == "mtcnn"
    assert roles["face_classifier"]["name"].startswith("cnn/") and len(roles["face_classifier"]["sha256"]) == 64


def test_progress_rises_to_100_through_named_stages(astronaut_video):
    seen = []
    analyse(astronaut_video, AnalysisOptions(), on_progress=lambda stage, p: seen.append((stage, p)))
    percents = [p for _, p in seen]
    assert percents == sorted(percents) and percents[-1] == 100.0
    assert {"probing", "loading models", "faces", "done"} <= {stage for stage, _ in seen}


def test_a_photo_is_analysed_as_one_frame(tmp_path, astronaut):
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    result = analyse(path)
    assert result.input["kind"] == "image"
    assert len(result.faces) == 1 and result.faces[0].t == 0.0 and not result.faces[0].low_confidence


def test_a_pre_cropped_face_is_classified_whole_and_marked_low_confidence(tmp_path, astronaut):
    path = tmp_path / "face48.png"
    Image.fromarray(astronaut[90:170, 185:265]).convert("L").resize((48, 48)).save(path)  # too tight for MTCNN
    result = analyse(path)
    (face,) = result.faces
    assert face.detection_score is None and face.low_confidence and face.box == [0, 0, 48, 48]


def test_faces_asked_of_an_audio_file_is_an_error(tmp_path):
    with pytest.raises(MediaError) as error:
        analyse(make_audio(tmp_path, "tone.wav", seconds=1.0), AnalysisOptions(modalities="face"))
    assert error.value.code == "no_video_stream"


def test_voice_asked_of_a_silent_video_is_an_error(astronaut_video):
    with pytest.raises(MediaError) as error:
        analyse(astronaut_video, AnalysisOptions(modalities="both"))
    assert error.value.code == "no_audio_stream"


def test_double_check_of_a_silent_video_is_skipped_with_a_warning(astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(double_check=True, max_frames=2))
    assert result.double_check is None and any("double check skipped" in w for w in result.warnings)


def test_artifacts_are_written_when_asked(tmp_path, astronaut_video):
    analyse(astronaut_video, AnalysisOptions(make_graph=True, csv=True), output_dir=tmp_path / "out")
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["result.json", "timeline.csv", "timeline.png", "timeline.svg"]


def test_a_failed_analysis_leaves_nothing_behind(tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_text("not a video at all\n" * 20)
    with pytest.raises(MediaError):
        analyse(bad, AnalysisOptions(make_graph=True), output_dir=tmp_path / "out")
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_crema_d_clip_shows_one_face_in_most_frames(shared_data):
    result = analyse(shared_data / "video" / "1001_DFA_ANG_XX.mp4", AnalysisOptions(sample_fps=5))
    assert result.summary["frames_with_faces"] >= 0.8 * result.frames_analysed
    assert result.summary["face_count"] == 1


def test_the_original_flv_and_its_mp4_copy_give_the_same_faces(shared_data):
    flv = analyse(shared_data / "video" / "1001_DFA_HAP_XX.flv", AnalysisOptions(sample_fps=5))
    mp4 = analyse(shared_data / "video" / "1001_DFA_HAP_XX.mp4", AnalysisOptions(sample_fps=5))
    assert flv.frames_analysed == mp4.frames_analysed
    assert np.allclose([o.t for o in flv.faces], [o.t for o in mp4.faces], atol=0.05)


@pytest.fixture(scope="module")
def speech_wav(tmp_path_factory, shared_data):
    """Four RAVDESS sentences of one actor back to back (about 14 s of speech with pauses), as one wav."""
    clips = sorted((shared_data / "speech" / "ravdess" / "Actor_01").glob("*.flac"))[::15][:4]
    folder = tmp_path_factory.mktemp("speech")
    listing = folder / "list.txt"
    listing.write_text("".join(f"file '{c}'\n" for c in clips))
    target = folder / "speech.wav"
    run_ffmpeg("-f", "concat", "-safe", "0", "-i", listing, "-ar", "16000", "-ac", "1", target)
    return target


def test_an_audio_file_gives_a_voice_only_result(speech_wav):
    result = analyse(speech_wav)
    assert result.faces == [] and result.frames_analysed == 0
    assert result.summary["voice"]["speech_windows"] >= 5
    assert all(r.end - r.start <= 2.0 + 1e-6 for r in result.voice)
    assert {e.source for e in result.timeline} == {"voice"}


def test_voice_in_blocks_equals_voice_in_one_piece(speech_wav, monkeypatch):
    whole = analyse(speech_wav).voice
    monkeypatch.setattr(pipeline, "VOICE_BLOCK_SECONDS", 4.0)
    blocks = analyse(speech_wav).voice
    assert [(r.start, r.end, r.speech) for r in blocks] == [(r.start, r.end, r.speech) for r in whole]
    speech = [(a, b) for a, b in zip(blocks, whole) if a.speech]
    assert all(a.label == b.label for a, b in speech)


def test_a_steady_tone_is_not_speech(tmp_path):
    result = analyse(make_audio(tmp_path, "tone.wav", seconds=4.0))
    assert result.voice and not any(r.speech for r in result.voice)
    assert result.summary["voice"]["speech_windows"] == 0 and "no speech was found in the audio" in result.warnings


def test_a_talking_face_video_gets_double_check_and_echo_mean(shared_data):
    result = analyse(shared_data / "video" / "1001_DFA_ANG_XX.mp4", AnalysisOptions(double_check=True, echo_mean=True))
    assert result.double_check["windows_compared"] >= 1
    assert 0.0 <= result.double_check["agreement_rate"] <= 1.0
    assert result.echo_mean["face"]["dominant_emotion"] and result.echo_mean["voice"]["dominant_emotion"]
    jsonschema.validate(json.loads(result.to_json()), json.loads(SCHEMA_PATH.read_text()))


def test_result_json_lists_every_other_artifact_with_type_size_and_checksum(tmp_path, astronaut_video):
    import hashlib

    analyse(astronaut_video, AnalysisOptions(make_graph=True, csv=True), output_dir=tmp_path / "out")
    listed = json.loads((tmp_path / "out" / "result.json").read_text())["artifacts"]
    assert [a["name"] for a in listed] == ["timeline.csv", "timeline.png", "timeline.svg"]
    for artifact in listed:
        data = (tmp_path / "out" / artifact["name"]).read_bytes()
        assert artifact["size"] == len(data) and artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert [a["media_type"] for a in listed] == ["text/csv", "image/png", "image/svg+xml"]


EVERY_OPTION = AnalysisOptions(make_graph=True, csv=True, echo_mean=True, double_check=True, face_thumbnails=True,
                               report=True, annotate_video=True, transcribe=True, transcribe_focus=True)  # fmt: skip


@pytest.fixture(scope="module")
def talking_astronaut(tmp_path_factory, astronaut_video):
    """The astronaut video with a sound track."""
    folder = tmp_path_factory.mktemp("sound")
    tone = make_audio(folder, "tone.wav", seconds=2.0)
    target = folder / "talking.mp4"
    run_ffmpeg("-i", astronaut_video, "-i", tone, "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac", target)
    return target


def test_with_every_option_on_the_file_is_read_once_for_pictures_once_for_sound_and_again_by_the_annotated_video(
    tmp_path, talking_astronaut, media_opens
):
    opens_by_stage: dict[str, int] = {}
    result = analyse(talking_astronaut, EVERY_OPTION, output_dir=tmp_path / "out",
                     on_progress=lambda stage, _: opens_by_stage.setdefault(stage, len(media_opens)))  # fmt: skip
    assert result.faces and result.voice and result.transcript is not None
    assert opens_by_stage["annotating"] == 2  # the probe and the pictures, then the sound for voice and transcript
    assert len(media_opens) == 3  # and the annotated video, its pictures and its sound from one more open
    assert set(media_opens) == {str(talking_astronaut)}
    assert {"annotated.mp4", "report.pdf", "face-0.png", "transcript.csv"} <= set(os.listdir(tmp_path / "out"))


def test_face_thumbnails_show_each_face_at_its_most_confident_moment(tmp_path, astronaut_video):
    analyse(astronaut_video, AnalysisOptions(face_thumbnails=True, max_frames=4), output_dir=tmp_path / "out")
    thumbnail = Image.open(tmp_path / "out" / "face-0.png")
    assert thumbnail.height > 32 and thumbnail.width > 32
    listed = json.loads((tmp_path / "out" / "result.json").read_text())["artifacts"]
    assert [a["name"] for a in listed] == ["face-0.png"]


def test_a_face_thumbnail_is_the_face_in_its_most_confident_frame_as_the_file_holds_it(tmp_path, astronaut_video):
    result = analyse(astronaut_video, AnalysisOptions(face_thumbnails=True, max_frames=4), output_dir=tmp_path / "out")
    best = max(result.faces, key=lambda o: o.confidence)  # the first of equals
    frame = next(f for f in media.iter_frames(astronaut_video, sample_fps=None) if f.index == best.frame_index)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / "face-0.png")), cut(frame.image, best.box))
