from backend.faces.detector import FaceBox, iou
from backend.faces.tracking import FaceTracker


def box(x: float, y: float, size: float = 100) -> FaceBox:
    return FaceBox(x, y, x + size, y + size, 0.99)


def test_iou_of_identical_boxes_is_one_and_of_disjoint_boxes_zero():
    assert iou(box(0, 0), box(0, 0)) == 1.0
    assert iou(box(0, 0), box(500, 500)) == 0.0


def test_a_face_that_moves_a_little_keeps_its_id():
    tracker = FaceTracker()
    first = tracker.assign(0.0, [box(100, 100)])
    assert [tracker.assign(0.2 * i, [box(100 + 10 * i, 100)])[0] for i in range(1, 6)] == first * 5


def test_two_faces_keep_their_ids_when_their_order_in_the_detections_changes():
    tracker = FaceTracker()
    left, right = tracker.assign(0.0, [box(0, 0), box(400, 0)])
    assert tracker.assign(0.2, [box(405, 0), box(5, 0)]) == [right, left]


def test_a_new_face_far_from_the_others_gets_a_new_id():
    tracker = FaceTracker()
    (first,) = tracker.assign(0.0, [box(0, 0)])
    ids = tracker.assign(0.2, [box(0, 0), box(600, 600)])
    assert ids[0] == first and ids[1] != first


def test_a_face_gone_longer_than_the_gap_comes_back_with_a_new_id():
    tracker = FaceTracker(max_gap=1.0)
    (first,) = tracker.assign(0.0, [box(0, 0)])
    assert tracker.assign(0.5, [box(0, 0)]) == [first]
    assert tracker.assign(3.0, [box(0, 0)]) != [first]
