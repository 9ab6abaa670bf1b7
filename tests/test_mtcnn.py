"""The detector in onnxruntime is facenet-pytorch's MTCNN: same faces, boxes, probabilities and landmarks."""

import numpy as np
import pytest
from PIL import Image

from backend.config import get_settings
from backend.faces.mtcnn import Mtcnn

THRESHOLDS = (0.6, 0.7, 0.7)


@pytest.fixture(scope="module")
def ours() -> Mtcnn:
    return Mtcnn(get_settings().detector_model_dir, THRESHOLDS)


@pytest.fixture(scope="module")
def facenet():
    from facenet_pytorch import MTCNN

    return MTCNN(keep_all=True, thresholds=list(THRESHOLDS), select_largest=False)


def _facenet_faces(facenet, images: np.ndarray, min_face: int):
    facenet.min_face_size = min_face
    boxes, probs, points = facenet.detect(images, landmarks=True)
    faces = []
    for box, prob, landmarks in zip(boxes, probs, points):
        if box is None:
            faces.append((np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))))
            continue
        box, prob, landmarks = (np.asarray(a, dtype=float) for a in (box, prob, landmarks))  # object arrays
        order = np.argsort(-prob, kind="stable")
        faces.append((box[order], prob[order], landmarks[order]))
    return faces


def _assert_same(theirs, ours):
    assert len(ours) == len(theirs)
    for (boxes, probs, points), (our_boxes, our_probs, our_points) in zip(theirs, ours):
        assert our_boxes.shape == boxes.shape
        np.testing.assert_allclose(our_boxes, boxes, atol=0.01)
        np.testing.assert_allclose(our_probs, probs, atol=1e-4)
        np.testing.assert_allclose(our_points, points, atol=0.01)


@pytest.mark.parametrize("min_face", [20, 60])
def test_finds_what_facenet_pytorch_finds_in_the_shared_photos(ours, facenet, shared_data, min_face):
    photos = sorted(p for p in (shared_data / "images").iterdir() if p.suffix in (".jpg", ".png"))
    assert photos
    for path in photos:
        image = np.asarray(Image.open(path).convert("RGB"))
        _assert_same(_facenet_faces(facenet, image[None], min_face), ours.detect(image[None], min_face))


def test_a_batch_of_frames_gives_each_frame_its_own_faces(ours, facenet, astronaut):
    frames = np.stack([astronaut, astronaut[:, ::-1], np.zeros_like(astronaut), np.roll(astronaut, 100, axis=0)])
    found = ours.detect(frames, 40)
    _assert_same(_facenet_faces(facenet, frames, 40), found)
    assert [len(boxes) for boxes, _, _ in found] == [1, 1, 0, 1]


def test_enlarges_the_image_when_the_smallest_face_wanted_is_under_12_pixels(ours, facenet, astronaut):
    small = np.asarray(Image.fromarray(astronaut).resize((96, 96)))
    _assert_same(_facenet_faces(facenet, small[None], 8), ours.detect(small[None], 8))


def test_the_shipped_graphs_are_what_the_export_writes_from_facenet_pytorch(tmp_path):
    from backend.faces.mtcnn import graphs_sha256
    from face_model.mtcnn_export import export_mtcnn

    export_mtcnn(tmp_path)
    assert graphs_sha256(tmp_path) == graphs_sha256(get_settings().detector_model_dir)
