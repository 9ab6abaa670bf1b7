"""Faces followed between key frames (O-Net alone) must land where a full detection would have found them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from backend import media
from backend.config import get_settings
from backend.errors import InputError
from backend.faces.detector import FaceBox, FaceDetector, get_detector, iou
from backend.faces.following import FollowingDetector
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from tests.media_factory import video_from_image


@pytest.fixture
def full_detections(monkeypatch) -> list[int]:
    """The number of frames of each full detection from here on (the real detector, counted)."""
    counted: list[int] = []
    real_detect = FaceDetector.detect

    def counting_detect(self, images: list[np.ndarray]) -> list[list[FaceBox]]:
        counted.append(len(images))
        return real_detect(self, images)

    monkeypatch.setattr(FaceDetector, "detect", counting_detect)
    return counted


@pytest.fixture(scope="module")
def detector():
    return get_detector(get_settings())


def panning_frames(astronaut: np.ndarray, seconds: float, fps: float = 10.0, visible=lambda t: True):
    """640x360 frames with the astronaut (face about 70 px) moving right by 4 px a frame; black where not
    ``visible(t)``."""
    portrait = cv2.resize(astronaut, (240, 240), interpolation=cv2.INTER_AREA)
    frames = []
    for i in range(round(seconds * fps)):
        t = i / fps
        canvas = np.zeros((360, 640, 3), dtype=np.uint8)
        if visible(t):
            canvas[60:300, 100 + 4 * i : 340 + 4 * i] = portrait
        frames.append(media.Frame(index=i, t=t, image=canvas))
    return frames


def test_full_detection_runs_only_on_key_frames_while_a_face_is_followed(detector, full_detections, astronaut):
    frames = panning_frames(astronaut, seconds=3.0)
    found = FollowingDetector(detector, redetect_seconds=1.0).detect(frames)
    assert [len(faces) for faces in found] == [1] * len(frames)
    assert sum(full_detections) == 3  # t = 0, 1 and 2 s of 30 frames


def test_a_followed_face_moves_with_the_person(detector, astronaut):
    frames = panning_frames(astronaut, seconds=2.0)
    followed = FollowingDetector(detector, redetect_seconds=10.0).detect(frames)
    full = detector.detect([frame.image for frame in frames])
    overlaps = [iou(a[0], b[0]) for a, b in zip(followed, full)]
    assert min(overlaps) > 0.75
    assert followed[-1][0].x1 - followed[0][0].x1 == pytest.approx(4 * (len(frames) - 1), abs=12)


def test_a_face_that_leaves_is_dropped_and_one_that_arrives_is_found_on_its_first_frame(detector, astronaut):
    frames = panning_frames(astronaut, seconds=3.0, visible=lambda t: 0.95 < t < 2.05)
    found = FollowingDetector(detector, redetect_seconds=10.0).detect(frames)
    assert [len(faces) for faces in found] == [1 if 0.95 < frame.t < 2.05 else 0 for frame in frames]


def test_redetect_zero_detects_every_frame_in_full(detector, full_detections, astronaut):
    frames = panning_frames(astronaut, seconds=1.0)
    FollowingDetector(detector, redetect_seconds=0).detect(frames)
    assert sum(full_detections) == len(frames)


def test_a_faceless_video_is_detected_in_full_on_every_frame_and_finds_nothing(detector, full_detections):
    frames = [media.Frame(index=i, t=i / 10, image=np.full((360, 640, 3), 90, np.uint8)) for i in range(20)]
    found = FollowingDetector(detector, redetect_seconds=1.0).detect(frames)
    assert found == [[]] * 20
    assert sum(full_detections) == 20


@pytest.mark.parametrize("clip", ["video/1001_DFA_ANG_XX.mp4", "video/grid_lwbsza.mpg", "video/pyfeat_single_face.mp4"])
def test_followed_faces_of_real_talking_heads_match_full_detection_frame_by_frame(detector, shared_data, clip):
    frames = list(media.iter_frames(shared_data / clip, sample_fps=None, frame_step=2))
    followed = FollowingDetector(detector, redetect_seconds=1.0).detect(frames)
    full = detector.detect([frame.image for frame in frames])
    assert [len(faces) for faces in followed] == [len(faces) for faces in full]
    assert min(iou(a[0], b[0]) for a, b in zip(followed, full) if a) > 0.75


def test_an_analysis_detects_in_full_as_often_as_its_face_redetect_option_says(full_detections, tmp_path, astronaut):
    clip = video_from_image(tmp_path, astronaut, seconds=3.0, fps=10)
    for redetect in (0.0, 1.0):
        full_detections.clear()
        options = AnalysisOptions(sample_fps=None, frame_step=1, modalities="face", face_redetect=redetect)
        result = analyse(clip, options)
        assert result.options["face_redetect"] == redetect  # the result says how its faces were found
        assert len(result.faces) == result.frames_analysed == 30
        assert sum(full_detections) == (30 if redetect == 0 else 3)


@pytest.mark.parametrize("seconds", [-1.0, 61.0])
def test_a_face_redetect_outside_0_to_60_seconds_is_refused(seconds):
    with pytest.raises(InputError) as refused:
        AnalysisOptions(face_redetect=seconds)
    assert refused.value.code == "invalid_option"
