"""Each voice window brought to one speech level before the speech encoder.

A recording's level says how far the microphone was and how its gain was set, and little about the speaker. The
corpora differ by up to 25 dB: RAVDESS's neutral speech lies near -43 dBFS and its anger near -26, every class of
ASED, nEMO and TurEV-DB at -14 to -24. Whisper's log-mel input keeps the absolute level, so a network trained on
these corpora can learn "quiet means neutral" from one corpus and meet a loud recording of another. Levelling each
window removes that cue and leaves what loudness changes in the voice itself (spectral tilt, pitch, rhythm).
Each window is levelled on its own, as it is classified on its own, so a file that is angry throughout is
levelled like any other file.
"""

from __future__ import annotations

import numpy as np

FRAME = 400  # 25 ms at 16 kHz
LOUDEST_SHARE = 0.2  # the level is that of the window's loudest fifth: the speech, not the pauses around it
# A near-silent window is raised by at most this much, so that a pause's hiss is not blown up to speech level. 60 dB
# still brings a phone's quiet speech (30 dB under RAVDESS's quietest class, about -73 dBFS) up to the target.
MAX_GAIN_DB = 60.0


def speech_level_db(signal: np.ndarray) -> float:
    """The power level in dBFS of the loudest fifth of the signal's 25 ms frames (a window is speech when at least
    a fifth of it is, so this is the level of its speech)."""
    usable = len(signal) // FRAME * FRAME
    frames = signal[:usable].reshape(-1, FRAME) if usable else signal.reshape(1, -1)
    power = np.sort((frames.astype(np.float64) ** 2).mean(axis=1))
    loudest = power[-max(1, int(round(len(power) * LOUDEST_SHARE))) :]
    return float(10.0 * np.log10(loudest.mean() + 1e-12))


def levelled(signal: np.ndarray, target_dbfs: float) -> np.ndarray:
    """``signal`` scaled so that :func:`speech_level_db` of it is ``target_dbfs`` (raised by at most
    :data:`MAX_GAIN_DB`)."""
    gain_db = min(target_dbfs - speech_level_db(signal), MAX_GAIN_DB)
    return (signal * np.float32(10.0 ** (gain_db / 20.0))).astype(np.float32)
