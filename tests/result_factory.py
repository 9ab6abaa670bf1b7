"""Results built from hand-made observations, for the tests of how a summary is worded."""

from __future__ import annotations

import numpy as np

from backend.results import FaceObservation, Result

# angry disgust fear happy neutral sad surprise
NEUTRAL_BUT_CLOSE_TO_ANGRY = np.array([0.35, 0.05, 0.05, 0.05, 0.40, 0.05, 0.05])
CLEARLY_ANGRY = np.array([0.90, 0.02, 0.02, 0.02, 0.02, 0.01, 0.01])


def angry_on_average_neutral_in_most_frames() -> Result:
    """One face, neutral in 4 of its 7 frames (57%) and angry in 3, but angry on average (mean probability 59%
    against neutral's 24%): the two readings of "dominant" part here."""
    vectors = [NEUTRAL_BUT_CLOSE_TO_ANGRY] * 4 + [CLEARLY_ANGRY] * 3
    faces = [FaceObservation.build(i * 0.2, i, 0, [10, 10, 60, 60], 0.99, p, False) for i, p in enumerate(vectors)]
    return Result(input={"path": "mixed.mp4", "kind": "video", "duration": 1.4}, options={"sample_fps": 5.0},
                  models=[], faces=faces, frames_analysed=len(faces)).finalise()  # fmt: skip
