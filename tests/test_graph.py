"""The timeline graph is a readable picture in the shared emotion colours, for short and long files."""

import numpy as np
import pytest
from PIL import Image

from backend.emotions import EMOTIONS, colour_rgb
from backend.render.graph import draw_timeline, graph_window
from backend.results import FaceObservation, Result


def observations(emotion_by_second: list[str], face_id: int = 0) -> list[FaceObservation]:
    faces = []
    for second, emotion in enumerate(emotion_by_second):
        p = np.full(len(EMOTIONS), 0.05)
        p[EMOTIONS.index(emotion)] = 0.7
        faces += [FaceObservation.build(second + i / 5, 5 * second + i, face_id, [0, 0, 50, 50], 0.99, p, False)
                  for i in range(5)]  # fmt: skip
    return faces


def result_of(faces: list[FaceObservation], duration: float) -> Result:
    info = {"path": "clip.mp4", "kind": "video", "duration": duration, "has_video": True, "has_audio": False}
    return Result(input=info, options={}, models=[], faces=faces, frames_analysed=len(faces)).finalise()


def has_colour(image: np.ndarray, rgb: tuple[int, int, int], tolerance: int = 6) -> bool:
    return bool((np.abs(image[..., :3].astype(int) - rgb).max(axis=-1) <= tolerance).any())


def test_a_lane_per_face_coloured_by_emotion(tmp_path):
    faces = observations(["happy"] * 5 + ["sad"] * 5) + observations(["angry"] * 10, face_id=1)
    path = draw_timeline(result_of(faces, 10.0), tmp_path / "timeline.png")
    image = np.asarray(Image.open(path))
    assert image.shape[0] > 300 and image.shape[1] > 800
    for emotion in ("happy", "sad", "angry"):
        assert has_colour(image, colour_rgb(emotion)), emotion


def test_svg_output_by_suffix(tmp_path):
    path = draw_timeline(result_of(observations(["neutral"] * 3), 3.0), tmp_path / "timeline.svg")
    assert path.read_text().lstrip().startswith("<?xml")


def test_a_result_without_faces_still_gives_a_graph_that_says_so(tmp_path):
    path = draw_timeline(result_of([], 4.0), tmp_path / "timeline.png")
    assert Image.open(path).size[0] > 800


@pytest.mark.parametrize(("duration", "window"), [(10, 1.0), (600, 1.0), (3600, 6.0)])
def test_windows_widen_for_long_files(duration, window):
    assert graph_window(duration) == window


def test_the_voice_gets_its_own_lane_under_the_faces(tmp_path):
    from backend.results import VoiceRecord

    p = np.full(len(EMOTIONS), 0.05)
    p[EMOTIONS.index("fear")] = 0.7
    result = result_of(observations(["happy"] * 4), 4.0)
    result.voice = [VoiceRecord.build(float(s), s + 2.0, p if s < 2 else None) for s in range(3)]
    image = np.asarray(Image.open(draw_timeline(result.finalise(), tmp_path / "timeline.png")))
    assert has_colour(image, colour_rgb("fear")) and has_colour(image, colour_rgb("happy"))
