"""What is in an interval (backend.intervals): the one rule behind the fused windows, the double check, the timelines
and the emotions of a transcript's words."""

import numpy as np
import pytest

from backend.emotions import EMOTIONS
from backend.intervals import FaceIndex, SpanIndex, sampling_interval
from backend.results import FaceObservation, VoiceRecord, voice_timeline


def peaked(emotion: str, confidence: float = 0.7) -> np.ndarray:
    p = np.full(len(EMOTIONS), (1 - confidence) / (len(EMOTIONS) - 1))
    p[EMOTIONS.index(emotion)] = confidence
    return p


def seen(t: float, face_id: int, emotion: str, side: int = 40) -> FaceObservation:
    return FaceObservation.build(t, int(t * 5), face_id, [0, 0, side, side], 0.99, peaked(emotion), False)


def frames(start: float, end: float, face_id: int, emotion: str, fps: float = 5) -> list[FaceObservation]:
    return [seen(float(t), face_id, emotion) for t in np.arange(start, end, 1 / fps)]


def test_a_record_counts_by_the_time_it_shares_with_the_interval():
    positions, weights = SpanIndex([0.0, 1.0, 1.5], [2.0, 3.0, 3.5]).overlap(1.0, 2.0)
    assert dict(zip(positions.tolist(), weights.tolist())) == {0: 1.0, 1: 1.0, 2: 0.5}


def test_a_record_that_only_touches_the_border_is_not_in_the_interval():
    positions, _ = SpanIndex([2.0, 5.0], [4.0, 7.0]).overlap(4.0, 5.0)
    assert positions.tolist() == []


def test_at_an_instant_every_record_holding_it_counts_once():
    positions, weights = SpanIndex([0.0, 0.5, 2.0], [1.0, 1.5, 3.0]).overlap(0.8, 0.8)
    assert positions.tolist() == [0, 1] and weights.tolist() == [1.0, 1.0]


def test_records_of_no_duration_count_once_each_where_they_lie():
    # a still image: its one fused window is an instant
    positions, weights = SpanIndex([0.0, 0.0], [0.0, 0.0]).overlap(0.0, 1.0)
    assert positions.tolist() == [0, 1] and weights.tolist() == [1.0, 1.0]


def test_the_sampling_interval_is_the_median_gap_between_the_sampled_times():
    assert sampling_interval([0.0, 0.2, 0.2, 0.4, 0.6, 1.6]) == pytest.approx(0.2)
    assert sampling_interval([3.0]) == 0.0


def test_a_frame_on_the_border_of_two_windows_counts_half_in_each():
    index = FaceIndex([seen(1.6, 0, "angry"), seen(1.8, 0, "angry"), seen(2.0, 0, "happy")])  # each frame: 0.2 s
    (first,) = index.faces_in(0.0, 2.0)
    (second,) = index.faces_in(2.0, 4.0)
    assert first.seconds == pytest.approx(0.5) and second.seconds == pytest.approx(0.1)


def test_a_face_counts_by_the_time_each_frame_shares_with_the_window():
    # 0.8 s angry in the window, then one happy frame whose time is half inside
    index = FaceIndex([seen(t, 0, "angry") for t in (0.1, 0.3, 0.5, 0.7)] + [seen(0.9, 0, "happy")], 0.2)
    (face,) = index.faces_in(0.0, 0.8)  # the happy frame's time, [0.8, 1.0], only touches the window
    assert face.probabilities == pytest.approx(peaked("angry"))
    (face,) = index.faces_in(0.0, 0.9)
    expected = (4 * 0.2 * peaked("angry") + 0.1 * peaked("happy")) / 0.9
    assert face.seconds == pytest.approx(0.9) and face.probabilities == pytest.approx(expected)


def test_the_face_seen_longest_is_the_dominant_one_and_a_tie_goes_to_the_face_tracked_first():
    index = FaceIndex(frames(0, 2, 1, "angry") + frames(1.6, 2, 0, "happy"))
    assert index.dominant_face(0.0, 2.0).face_id == 1
    tie = FaceIndex(frames(0, 1, 3, "angry") + frames(0, 1, 2, "happy"))
    assert tie.dominant_face(0.0, 1.0).face_id == 2


def test_a_word_shorter_than_the_sampling_interval_still_has_the_face_on_screen():
    index = FaceIndex(frames(0, 3, 0, "sad", fps=2))  # frames at 0, 0.5, 1, ...: each stands for 0.5 s
    face = index.dominant_face(1.30, 1.45)  # between two frames
    assert face is not None and face.face_id == 0 and face.seconds == pytest.approx(0.15)


def test_no_face_in_an_interval_is_none_not_a_guess():
    assert FaceIndex(frames(0, 1, 0, "sad")).dominant_face(5.0, 7.0) is None


def test_a_still_images_faces_are_in_its_one_instant():
    index = FaceIndex([seen(0.0, 0, "happy"), seen(0.0, 1, "sad", side=80)])
    assert [(face.face_id, face.seconds, face.size) for face in index.faces_in(0.0, 0.0)] == [
        (0, 1.0, 40),
        (1, 1.0, 80),
    ]


def test_the_voice_timeline_weighs_each_window_by_its_time_in_the_second():
    records = [VoiceRecord.build(0.5, 1.5, peaked("angry", 0.9)), VoiceRecord.build(1.0, 2.0, peaked("sad", 0.9))]
    second = next(entry for entry in voice_timeline(records) if entry.start == 1.0)
    expected = (0.5 * peaked("angry", 0.9) + 1.0 * peaked("sad", 0.9)) / 1.5
    assert [second.probabilities[e] for e in EMOTIONS] == pytest.approx(expected, abs=1e-4) and second.n == 2
