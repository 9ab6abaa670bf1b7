"""People in the result (issue #36): whose voice each speech window is, whose face each voice is, and one entry per
person with their own face, voice and fused emotion. A single talking head is one person and its result is what it
was before people existed; with ``speakers`` 2 the voices of a conversation are told apart and, in a video, each is
linked to the face that speaks it, and a face is fused and compared only with its own voice."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from media_factory import make_audio, run_ffmpeg, video_from_image

from backend.__main__ import _summary_lines
from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.fusion.combiner import get_fusion_model
from backend.fusion.double_check import double_check, voice_segments
from backend.fusion.fused_windows import fuse
from backend.options import AnalysisOptions
from backend.people.assemble import label_speakers
from backend.pipeline import analyse
from backend.render.csv_export import write_transcript_csv
from backend.results import FaceObservation, Result, VoiceRecord
from backend.speakers.turns import SpeakerTurn
from backend.transcribe import Segment

SINGLE_TALKING_HEAD = "video/1001_DFA_ANG_XX.mp4"  # CREMA-D: one face, one angry sentence


def spoken(share: float) -> np.ndarray:
    """A voice or face distribution: ``share`` on angry, the rest spread evenly."""
    return np.array([share] + [(1 - share) / (len(EMOTIONS) - 1)] * (len(EMOTIONS) - 1))


def faces_seen(face_ids: list[int], seconds: float = 2.0, fps: float = 5.0) -> list[FaceObservation]:
    return [FaceObservation.build(k / fps, k, face_id, [10 + 100 * face_id, 10, 90 + 100 * face_id, 90], 0.99,
                                  spoken(0.2), False)
            for k in range(round(seconds * fps)) for face_id in face_ids]  # fmt: skip


def speech_window(speaker_id: str | None, start: float = 0.0, end: float = 2.0) -> VoiceRecord:
    record = VoiceRecord.build(start, end, spoken(0.8), 0.9)
    record.speaker_id = speaker_id
    return record


# ---------------------------------------------------------------------------------------------------------------
# The rules, on hand-made records


def test_a_window_takes_the_speaker_with_the_most_speech_in_it():
    window = speech_window(None, 0.0, 2.0)
    label_speakers([window], [SpeakerTurn(0.0, 0.6, "S1"), SpeakerTurn(0.6, 2.0, "S2")])
    assert window.speaker_id == "S2"


def test_speech_no_turn_reaches_goes_to_the_speaker_of_the_nearest_turn():
    window = speech_window(None, 5.0, 7.0)  # heard as speech, but the speaker detector found none there
    label_speakers([window], [SpeakerTurn(0.0, 2.0, "S1"), SpeakerTurn(8.0, 9.0, "S2")])
    assert window.speaker_id == "S2"


def test_without_any_turn_speech_has_no_speaker():
    window = speech_window("S1", 5.0, 7.0)
    label_speakers([window], [])
    assert window.speaker_id is None


def test_the_transcript_csv_names_who_says_each_segment(tmp_path):
    said = [Segment(0.0, 1.0, "hello", speaker_id="S1"), Segment(1.0, 2.0, "hi", speaker_id="S2"), Segment(3, 4, "")]
    result = Result(input={"kind": "audio"}, options={}, models=[], faces=[], frames_analysed=0, transcript=said)
    with write_transcript_csv(result, tmp_path / "transcript.csv").open(encoding="utf-8") as handle:
        assert [row["speaker_id"] for row in csv.DictReader(handle)] == ["S1", "S2", ""]


def test_a_listeners_face_keeps_its_own_value_beside_the_speakers_voice():
    fused = fuse(faces_seen([0, 1]), [speech_window("S1")], get_fusion_model(get_settings()), face_of={"S1": 1})
    assert {w.face_id: w.modalities for w in fused} == {0: ["face"], 1: ["face", "voice"]}


def test_a_voice_whose_face_is_not_in_view_is_heard_alone():
    fused = fuse(faces_seen([0]), [speech_window("S1")], get_fusion_model(get_settings()), face_of={"S1": 1})
    assert sorted((w.face_id is None, w.modalities) for w in fused) == [(False, ["face"]), (True, ["voice"])]


def test_where_whose_face_is_whose_is_not_known_the_voice_pairs_with_every_face_in_view():
    fused = fuse(faces_seen([0, 1]), [speech_window("S1")], get_fusion_model(get_settings()))
    assert [w.modalities for w in fused] == [["face", "voice"], ["face", "voice"]]


def test_the_double_check_compares_a_voice_with_its_speakers_face_not_the_face_seen_longest():
    faces = faces_seen([0], seconds=2.0) + faces_seen([1], seconds=0.4)  # face 0 seen longest, face 1 speaks
    check = double_check(faces, voice_segments([speech_window("S1")]), face_of={"S1": 1})
    assert [(w["face_id"], w["speaker_id"]) for w in check["windows"]] == [(1, "S1")]


# ---------------------------------------------------------------------------------------------------------------
# One talking head, default options: one person, and the result as before people existed


@pytest.fixture(scope="module")
def talking_head(shared_data):
    return analyse(shared_data / SINGLE_TALKING_HEAD, AnalysisOptions(double_check=True, echo_mean=True))


@pytest.mark.shared_data
def test_a_single_talking_head_is_one_person_with_face_and_voice(talking_head):
    (person,) = talking_head.people
    assert (person.face_ids, person.speaker_id) == ([0], "S1")
    assert person.on_screen_seconds > 0 and person.speech_seconds > 0


@pytest.mark.shared_data
def test_the_one_persons_emotions_are_the_files_echo_mean(talking_head):
    (person,) = talking_head.people
    assert {"face": person.face, "voice": person.voice, "fused": person.fused} == talking_head.echo_mean


@pytest.mark.shared_data
def test_with_one_voice_and_one_face_the_fused_view_is_the_one_before_people_existed(talking_head):
    """``fuse`` without speaker links is how every voice window was fused before: with each face in view."""
    before = fuse(talking_head.faces, talking_head.voice, get_fusion_model(get_settings()))
    assert talking_head.fused == before


@pytest.mark.shared_data
def test_with_one_voice_and_one_face_the_double_check_is_the_one_before_people_existed(talking_head):
    before = double_check(talking_head.faces, voice_segments(talking_head.voice), talking_head.fused)
    assert talking_head.double_check == before


@pytest.mark.shared_data
def test_with_one_voice_every_speech_window_is_its(talking_head):
    assert {r.speaker_id for r in talking_head.voice if r.speech} == {"S1"}


# ---------------------------------------------------------------------------------------------------------------
# A conversation of two voices, audio only


@pytest.fixture(scope="module")
def conversation(shared_data, tmp_path_factory):
    import soundfile as sf

    from speaker_model.mixtures import SAMPLE_RATE, make_mixture, pick_speakers

    speakers = pick_speakers(shared_data, "tuning", 2, np.random.default_rng(3))
    mixture = make_mixture(shared_data, speakers, seconds=30.0, seed=3)
    path = tmp_path_factory.mktemp("people") / "conversation.wav"
    sf.write(path, mixture.signal, SAMPLE_RATE)
    return analyse(path, AnalysisOptions(speakers=2))


@pytest.mark.shared_data
def test_two_voices_are_two_people_who_speak_and_are_never_seen(conversation):
    assert [(p.speaker_id, p.face_ids) for p in conversation.people] == [("S1", []), ("S2", [])]
    assert all(p.speech_seconds > 0 and p.voice is not None and p.face is None for p in conversation.people)


@pytest.mark.shared_data
def test_the_speech_windows_of_a_conversation_carry_both_speakers(conversation):
    assert {r.speaker_id for r in conversation.voice if r.speech} == {"S1", "S2"}


@pytest.mark.shared_data
def test_the_timeline_has_a_voice_lane_per_speaker_in_the_csv_the_graph_and_the_web_app(conversation, tmp_path):
    import json

    from backend.render.csv_export import write_timeline_csv
    from backend.render.graph import timeline_lanes
    from webui.charts import timeline_frame

    with write_timeline_csv(conversation, tmp_path / "timeline.csv").open(encoding="utf-8") as handle:
        assert {row["speaker_id"] for row in csv.DictReader(handle) if row["source"] == "voice"} == {"S1", "S2"}
    graph_lanes = [name for name, _ in timeline_lanes(conversation, 1.0)]
    assert graph_lanes == ["voice S1 (blank: no speech)", "voice S2 (blank: no speech)"]
    assert set(timeline_frame(json.loads(conversation.to_json()))["lane"]) == {"voice S1", "voice S2"}


@pytest.mark.shared_data
def test_the_report_has_a_row_per_person(conversation, tmp_path):
    from backend.render.report import write_report
    from backend.render.report_blocks import Heading, layout
    from backend.render.report_model import build_report

    content = build_report(conversation)
    assert [row[:3] for row in content.people] == [["P1", "-", "S1"], ["P2", "-", "S2"]]
    assert Heading("People", level=2) in layout(content)
    assert write_report(conversation, None, tmp_path / "report.pdf").stat().st_size > 0


@pytest.mark.shared_data
def test_the_summary_gives_a_line_per_person(conversation):
    lines = _summary_lines(conversation, Path("out"))
    assert [line.split(":")[0] for line in lines if line.startswith("  person ")] == ["  person P1", "  person P2"]


# ---------------------------------------------------------------------------------------------------------------
# Two people side by side taking turns


@pytest.fixture(scope="module")
def two_people(shared_data, tmp_path_factory):
    from two_person import make_talking_heads, person

    clips = shared_data / "video"
    cast = [person("left", [clips / "grid_lwbsza.mpg"]), person("right", sorted(clips.glob("1001_DFA_*_XX.mp4")))]
    video = make_talking_heads(tmp_path_factory.mktemp("people") / "two.mp4", cast, script=[0, 1, 0, 1, 1, 0])
    return video, analyse(video.path, AnalysisOptions(speakers=2, double_check=True))


def true_speaker(turns, windows) -> str:
    """Who really spoke most during ``windows`` (the video's own labels), by the seconds shared with their turns."""
    shared: Counter = Counter()
    for window in windows:
        for turn in turns:
            shared[turn.speaker_id] += max(0.0, min(window.end, turn.end) - max(window.start, turn.start))
    return shared.most_common(1)[0][0]


@pytest.mark.shared_data
def test_two_people_on_screen_are_each_linked_to_their_own_face_and_voice(two_people):
    video, result = two_people
    assert len(result.people) == 2
    for p in result.people:
        (face_id,) = p.face_ids
        box = next(o.box for o in result.faces if o.face_id == face_id)
        heard = [r for r in result.voice if r.speaker_id == p.speaker_id]
        assert true_speaker(video.turns, heard) == video.speaker_at((box[0] + box[2]) / 2)


@pytest.mark.shared_data
def test_a_face_is_fused_only_with_its_own_voice(two_people):
    _, result = two_people
    speaker_of = {p.face_ids[0]: p.speaker_id for p in result.people}
    paired = [w for w in result.fused if w.modalities == ["face", "voice"]]
    assert paired and all(w.speaker_id == speaker_of[w.face_id] for w in paired)


@pytest.mark.shared_data
def test_the_double_check_compares_each_speakers_face_with_their_voice(two_people):
    _, result = two_people
    speaker_of = {p.face_ids[0]: p.speaker_id for p in result.people}
    windows = result.double_check["windows"]
    assert windows and all(w["speaker_id"] == speaker_of[w["face_id"]] for w in windows)


@pytest.fixture(scope="module")
def narrated(shared_data, tmp_path_factory):
    """Someone on screen listening to a narrator who is only heard."""
    from two_person import make_talking_heads, person

    clips = shared_data / "video"
    listener = person("listener", [clips / "grid_bbaf2n.mpg"])
    narrator = person("narrator", sorted(clips.glob("1001_DFA_*_XX.mp4")), on_screen=False)
    path = tmp_path_factory.mktemp("people") / "narrated.mp4"
    return analyse(
        make_talking_heads(path, [listener, narrator], script=[1, 1, 1, 1]).path, AnalysisOptions(speakers=2)
    )


@pytest.mark.shared_data
def test_a_face_that_never_speaks_is_a_person_never_heard_with_face_evidence_only(narrated):
    (listener,) = [p for p in narrated.people if p.face_ids]
    assert (listener.speaker_id, listener.voice, listener.speech_seconds) == (None, None, 0.0)
    assert listener.face is not None and all(w.modalities == ["face"] for w in narrated.fused if w.face_id is not None)


@pytest.mark.shared_data
def test_a_voice_off_screen_is_a_person_never_seen_and_the_result_says_no_face_was_linked(narrated):
    heard = [p for p in narrated.people if p.speaker_id]
    assert heard and all(p.face_ids == [] and p.face is None and p.voice is not None for p in heard)
    assert any("no face was linked to a voice" in warning for warning in narrated.warnings)


# ---------------------------------------------------------------------------------------------------------------
# Odd cases


def test_a_file_without_sound_has_people_from_its_faces_only(tmp_path, astronaut):
    result = analyse(video_from_image(tmp_path, astronaut, seconds=1.0), AnalysisOptions(speakers=2))
    assert [(p.face_ids, p.speaker_id, p.speech_seconds, p.voice) for p in result.people] == [([0], None, 0.0, None)]


def test_telling_voices_apart_reads_the_sound_of_the_one_decode(tmp_path, astronaut, media_opens):
    """The diarization is fed the same decoded sound as the voice: the file is opened for its probe and pictures,
    then once for its sound, as without it."""
    silent = video_from_image(tmp_path, astronaut, seconds=1.0)
    talking = tmp_path / "talking.mp4"
    run_ffmpeg("-i", silent, "-i", make_audio(tmp_path, seconds=1.0), "-map", "0:v", "-map", "1:a", "-c:v", "copy",
               "-c:a", "aac", talking)  # fmt: skip
    media_opens.clear()
    result = analyse(talking, AnalysisOptions(speakers=2))
    assert result.faces and result.voice and len(media_opens) == 2
