"""Double check (face against voice per window) and echo mean (the file's mean emotion per modality)."""

import numpy as np
import pytest

from backend.emotions import EMOTIONS
from backend.fusion.double_check import VoiceSegment, double_check
from backend.fusion.echo_mean import echo_mean
from backend.results import FaceObservation


def peaked(emotion: str, confidence: float = 0.7) -> np.ndarray:
    p = np.full(len(EMOTIONS), (1 - confidence) / (len(EMOTIONS) - 1))
    p[EMOTIONS.index(emotion)] = confidence
    return p


def faces_over(start: float, end: float, emotion: str, face_id: int = 0, fps: float = 5) -> list[FaceObservation]:
    times = np.arange(start, end, 1 / fps)
    return [FaceObservation.build(float(t), int(t * fps), face_id, [0, 0, 40, 40], 0.99, peaked(emotion), False)
            for t in times]  # fmt: skip


def test_windows_where_face_and_voice_agree_and_disagree():
    faces = faces_over(0, 4, "happy")
    voice = [VoiceSegment(0, 2, peaked("happy")), VoiceSegment(2, 4, peaked("angry"))]
    check = double_check(faces, voice)
    assert check["windows_compared"] == 2 and check["agreement_rate"] == 0.5
    (disagreement,) = check["disagreements"]
    assert (disagreement["start"], disagreement["face_label"], disagreement["voice_label"]) == (2, "happy", "angry")


def test_agreement_score_is_one_for_identical_distributions_and_lower_for_contradictions():
    check = double_check(
        faces_over(0, 4, "sad"), [VoiceSegment(0, 2, peaked("sad")), VoiceSegment(2, 4, peaked("fear"))]
    )
    same, different = check["windows"]
    assert same["score"] == pytest.approx(1.0, abs=1e-3) and different["score"] < 0.7


def test_a_speech_window_without_a_face_is_skipped_not_guessed():
    check = double_check(faces_over(0, 1, "happy"), [VoiceSegment(5, 7, peaked("happy"))])
    assert check["windows_compared"] == 0 and check["windows_without_face"] == 1 and check["agreement_rate"] is None


def test_the_face_seen_most_in_a_window_is_the_one_compared():
    faces = faces_over(0, 2, "angry", face_id=0) + faces_over(1.6, 2, "happy", face_id=1)
    (window,) = double_check(faces, [VoiceSegment(0, 2, peaked("angry"))])["windows"]
    assert window["face_id"] == 0 and window["agree"]


def test_echo_mean_weights_by_time_not_by_number_of_samples():
    # 1 s of sad sampled at 20 fps and 3 s of happy sampled at 2 fps: happy lasted longer.
    faces = faces_over(0, 1, "sad", fps=20) + faces_over(1, 4, "happy", fps=2)
    assert echo_mean(faces, [])["face"]["dominant_emotion"] == "happy"


def test_echo_mean_of_voice_and_of_nothing():
    means = echo_mean([], [VoiceSegment(0, 2, peaked("fear")), VoiceSegment(1, 3, peaked("fear"))])
    assert means["face"] is None and means["voice"]["dominant_emotion"] == "fear"
