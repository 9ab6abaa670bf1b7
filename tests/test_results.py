"""Timeline and summary derived from per-face observations; the JSON matches its published schema."""

import csv
import json

import jsonschema
import numpy as np
import pytest

from backend.emotions import EMOTIONS
from backend.render.csv_export import COLUMNS, write_timeline_csv
from backend.results import SCHEMA_PATH, FaceObservation, Result, smooth_faces


def one_hot(emotion: str, confidence: float = 0.8) -> np.ndarray:
    p = np.full(len(EMOTIONS), (1 - confidence) / (len(EMOTIONS) - 1))
    p[EMOTIONS.index(emotion)] = confidence
    return p


def observe(t: float, face_id: int, emotion: str, frame_index: int | None = None) -> FaceObservation:
    index = round(t * 5) if frame_index is None else frame_index
    return FaceObservation.build(t, index, face_id, [10, 10, 90, 90], 0.99, one_hot(emotion), low_confidence=False)


@pytest.fixture
def result() -> Result:
    """Face 0 happy for 2 s then sad for 1 s; face 1 angry for the first second only."""
    faces = [observe(i / 5, 0, "happy") for i in range(10)] + [observe(2 + i / 5, 0, "sad") for i in range(5)]
    faces += [observe(i / 5, 1, "angry") for i in range(5)]
    info = {"path": "clip.mp4", "kind": "video", "duration": 3.0, "has_video": True, "has_audio": True}
    return Result(input=info, options={}, models=[], faces=faces, frames_analysed=15).finalise()


def test_timeline_has_one_entry_per_face_per_second(result):
    assert [(e.start, e.face_id, e.label) for e in result.timeline] == [
        (0.0, 0, "happy"), (0.0, 1, "angry"), (1.0, 0, "happy"), (2.0, 0, "sad"),
    ]  # fmt: skip
    assert all(e.n == 5 for e in result.timeline)


def test_summary_gives_each_face_its_dominant_emotion_and_share_of_time(result):
    face0, face1 = result.summary["faces"]
    assert face0["dominant_emotion"] == "happy"
    assert face0["share_of_time"]["happy"] == pytest.approx(2 / 3, abs=1e-3)
    assert face0["share_of_time"]["sad"] == pytest.approx(1 / 3, abs=1e-3)
    assert face1["dominant_emotion"] == "angry" and face1["last_seen"] == 0.8


def test_summary_counts_frames_with_faces_and_faces(result):
    assert result.summary["face_count"] == 2
    assert result.summary["frames_with_faces"] == 15


def test_a_result_without_faces_has_an_empty_timeline_and_no_overall_emotion():
    empty = Result(input={"path": "x.mp4", "kind": "video", "duration": 1.0, "has_video": True, "has_audio": False},
                   options={}, models=[], faces=[], frames_analysed=5).finalise()  # fmt: skip
    assert empty.timeline == [] and empty.summary["overall"] is None


def test_result_json_validates_against_the_schema(result):
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.validate(json.loads(result.to_json()), schema)


def test_schema_rejects_a_probability_outside_the_label_set(result):
    schema = json.loads(SCHEMA_PATH.read_text())
    data = json.loads(result.to_json())
    data["faces"][0]["probabilities"]["contempt"] = 0.1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema)


def test_csv_has_a_row_per_timeline_entry_with_every_emotion(result, tmp_path):
    rows = list(csv.DictReader(write_timeline_csv(result, tmp_path / "t.csv").open()))
    assert list(rows[0].keys()) == COLUMNS
    assert len(rows) == len(result.timeline)
    assert rows[-1]["label"] == "sad" and float(rows[-1]["sad"]) == pytest.approx(0.8, abs=1e-3)


def test_smoothing_ignores_a_one_frame_flicker_but_follows_a_lasting_change():
    emotions = ["happy"] * 5 + ["angry"] + ["happy"] * 4 + ["sad"] * 10  # 5 fps: 0.2 s per observation
    faces = [observe(i / 5, 0, emotion) for i, emotion in enumerate(emotions)]
    smooth_faces(faces, window=0.6)
    assert faces[5].label == "angry" and faces[5].smoothed_label == "happy"
    assert [o.smoothed_label for o in faces[-8:]] == ["sad"] * 8
    assert faces[0].probabilities["happy"] == pytest.approx(0.8)  # the raw record is kept


def test_smoothing_window_zero_leaves_no_smoothed_values():
    faces = [observe(i / 5, 0, "happy") for i in range(3)]
    smooth_faces(faces, window=0)
    assert all(o.smoothed_probabilities is None and o.smoothed_label is None for o in faces)


def test_smoothing_never_mixes_two_faces():
    faces = [observe(i / 5, 0, "happy") for i in range(5)] + [observe(i / 5, 1, "sad") for i in range(5)]
    smooth_faces(faces, window=2.0)
    assert {o.smoothed_label for o in faces if o.face_id == 0} == {"happy"}
    assert {o.smoothed_label for o in faces if o.face_id == 1} == {"sad"}
