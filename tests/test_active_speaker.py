"""Which face speaks (issue #36): talking heads made from the shared GRID and CREMA-D clips, with who speaks when
known from how they were made (tests/two_person.py), through a face pass, the mouth motion and the link to the
speakers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from two_person import make_talking_heads, person, voice_activity_turns, watch

from backend.faces.mouth import MouthMotion, TrackedFace
from backend.people.active_speaker import find_active_speakers

pytestmark = pytest.mark.shared_data


@pytest.fixture(scope="module")
def clips(shared_data) -> Path:
    return shared_data / "video"


def test_the_speaking_face_is_found_on_most_speech_windows_of_two_people_taking_turns(clips, tmp_path):
    left = person("left", [clips / "grid_lwbsza.mpg"])
    right = person("right", sorted(clips.glob("1001_DFA_*_XX.mp4")))
    video = make_talking_heads(tmp_path / "two.mp4", [left, right], script=[0, 1, 0, 1, 1, 0])
    watched = watch(video.path)
    found = find_active_speakers(watched.signals, video.turns)
    truth = {face_id: video.speaker_at(x) for face_id, x in watched.centres.items()}
    right_windows = [w for w in found.windows if w.face_id is not None and truth[w.face_id] == w.speaker_id]
    assert len(right_windows) >= 0.9 * len(found.windows)


def test_a_lone_talking_head_is_linked_to_the_one_speaker(clips, tmp_path):
    speaker = person("alone", [clips / "grid_swiz3n.mpg"])
    video = make_talking_heads(tmp_path / "alone.mp4", [speaker], script=[0, 0, 0], pause=0.8)
    watched = watch(video.path)
    found = find_active_speakers(watched.signals, voice_activity_turns(video.path, "alone"))
    (face_id,) = watched.centres
    assert found.speaker_of(face_id) == "alone"


def test_a_face_that_never_speaks_is_a_listener(clips, tmp_path):
    """Someone on screen listens to a narrator who is only heard: their lips do not follow the narrator's turns."""
    listener = person("listener", [clips / "grid_bbaf2n.mpg"])
    narrator = person("narrator", sorted(clips.glob("1001_DFA_*_XX.mp4")), on_screen=False)
    video = make_talking_heads(tmp_path / "narrated.mp4", [listener, narrator], script=[1, 1, 1, 1])
    watched = watch(video.path)
    found = find_active_speakers(watched.signals, video.turns)
    assert found.links == () and found.listeners == tuple(watched.centres) and found.off_screen == ("narrator",)


def test_a_mouth_moves_more_while_its_face_speaks_than_while_it_listens(clips, tmp_path):
    speaker = person("alone", [clips / "grid_brbk7n.mpg"])
    video = make_talking_heads(tmp_path / "alone.mp4", [speaker], script=[0, 0], pause=1.0)
    (signal,) = watch(video.path).signals
    speaking = np.concatenate([signal.motion[signal.bins(turn.start, turn.end)] for turn in video.turns])
    listening = signal.motion[signal.bins(0.0, video.turns[0].start)]
    assert np.nanmean(speaking) > 1.5 * np.nanmean(listening)


def test_faces_without_landmarks_give_no_mouth_motion(astronaut):
    from backend.faces.detector import FaceBox

    motion = MouthMotion()
    for t in (0.0, 0.2, 0.4):
        motion.add(t, astronaut, [TrackedFace(0, FaceBox(150.0, 40.0, 300.0, 200.0, None))])
    assert motion.signals() == []
