"""Face detection and aligned crops on real photos."""

import numpy as np
import pytest
from PIL import Image

from backend.config import get_settings
from backend.faces.align import aligned_crop, eye_angle
from backend.faces.detector import FaceBox, get_detector


@pytest.fixture(scope="module")
def detector():
    return get_detector(get_settings())


def test_finds_the_one_face_of_the_astronaut_where_it_is(detector, astronaut):
    (faces,) = detector.detect([astronaut])
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0].as_list()
    assert 150 < x1 < 200 and 40 < y1 < 90 and 250 < x2 < 300 and 150 < y2 < 200
    assert faces[0].landmarks.shape == (5, 2)


def test_finds_the_face_in_a_small_640x360_frame(detector, astronaut):
    """The original fixed 200 px minimum face size found nothing at this size."""
    frame = np.zeros((360, 640, 3), dtype=np.uint8)
    frame[:, 140:500] = np.asarray(Image.fromarray(astronaut).resize((360, 360)))
    (faces,) = detector.detect([frame])
    assert len(faces) == 1


def test_boxes_of_a_downscaled_detection_are_in_full_frame_pixels(detector, astronaut):
    big = np.asarray(Image.fromarray(astronaut).resize((1536, 1536)))  # detected at 640, boxes scaled back
    (faces,) = detector.detect([big])
    x1, y1, x2, y2 = faces[0].as_list()
    assert 450 < x1 < 600 and 120 < y1 < 270 and 750 < x2 < 900


def test_a_batch_of_frames_of_different_sizes_gets_one_answer_per_frame(detector, astronaut):
    blank = np.full((240, 320, 3), 127, dtype=np.uint8)
    results = detector.detect([astronaut, blank, astronaut[::2, ::2]])
    assert [len(faces) for faces in results] == [1, 0, 1]


def test_finds_every_face_of_a_group_photo(detector, shared_data):
    photo = np.asarray(Image.open(shared_data / "images" / "pyfeat_multi_face.jpg").convert("RGB"))
    (faces,) = detector.detect([photo])
    assert len(faces) >= 4


def test_finds_no_face_in_a_landscape(detector, shared_data):
    photo = np.asarray(Image.open(shared_data / "images" / "pyfeat_free-mountain-vector-01.jpg").convert("RGB"))
    assert detector.detect([photo]) == [[]]


def test_aligned_crop_is_square_and_levels_a_tilted_face(detector, astronaut):
    tilted = np.asarray(Image.fromarray(astronaut).rotate(20, resample=Image.Resampling.BILINEAR))
    (faces,) = detector.detect([tilted])
    assert abs(eye_angle(faces[0])) > 10
    crop = aligned_crop(tilted, faces[0], size=96)
    assert crop.shape == (96, 96, 3)
    (recrop_faces,) = detector.detect([np.asarray(Image.fromarray(crop).resize((256, 256)))])
    assert abs(eye_angle(recrop_faces[0])) < 5


def test_aligned_crop_of_a_face_at_the_border_stays_full_size():
    image = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    crop = aligned_crop(image, FaceBox(-10, -10, 40, 40, 0.99), size=48)
    assert crop.shape == (48, 48, 3)


def test_an_image_smaller_than_mtcnns_window_has_no_face_rather_than_an_error(detector):
    assert detector.detect([np.zeros((1, 1, 3), dtype=np.uint8), np.zeros((11, 40, 3), dtype=np.uint8)]) == [[], []]
