"""Voice windows levelled before the speech encoder (backend/voice/loudness.py), and a model that asks for it."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest

from backend.config import get_settings
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from backend.voice.loudness import MAX_GAIN_DB, levelled, speech_level_db
from backend.voice.models import get_voice_model

SR = 16_000
SPEECH = "speech/ravdess/Actor_07/03-01-05-02-01-01-07.flac"  # a held-out actor, angry, strong intensity
LEVEL_PROOF_MODEL = "voice-whisper-v2"


@pytest.fixture(scope="module")
def speech(shared_data) -> np.ndarray:
    import soundfile as sf

    signal, rate = sf.read(str(shared_data / SPEECH), dtype="float32")
    assert rate == SR
    return signal[: 2 * SR]


def test_the_level_is_that_of_the_loudest_fifth_of_the_frames_not_of_the_pauses():
    loud = np.full(SR // 5, 0.1, dtype=np.float32)  # a fifth of the signal at -20 dBFS, the rest silent
    signal = np.concatenate([np.zeros(4 * SR // 5, dtype=np.float32), loud])
    assert speech_level_db(signal) == pytest.approx(-20.0, abs=0.01)


def test_speech_recorded_quiet_or_loud_is_levelled_to_the_same_signal(speech):
    quiet, loud = levelled(0.05 * speech, -20.0), levelled(0.9 * speech, -20.0)
    assert speech_level_db(quiet) == pytest.approx(-20.0, abs=0.01)
    assert np.allclose(quiet, loud, atol=1e-5)


def test_a_near_silent_window_is_raised_by_at_most_the_gain_limit():
    hum = np.full(2 * SR, 1e-5, dtype=np.float32)  # -100 dBFS
    assert speech_level_db(levelled(hum, -20.0)) == pytest.approx(-100.0 + MAX_GAIN_DB, abs=0.01)


def test_the_level_proof_voice_model_hears_a_clear_angry_recording_as_angry_30_db_quieter(shared_data, tmp_path):
    """The whole analysis (speech detection included), on the file as a quiet microphone would have stored it: 16-bit
    PCM, 30 dB down. voice-whisper-v2 levels each window (issue #35); the default, voice-whisper-v1, does not."""
    import soundfile as sf

    signal, rate = sf.read(str(shared_data / SPEECH), dtype="float32")
    quiet = tmp_path / "quiet.wav"
    sf.write(quiet, signal * 10 ** (-30 / 20), rate, subtype="PCM_16")
    options = AnalysisOptions(voice_model=LEVEL_PROOF_MODEL)
    heard = [analyse(path, options).summary["voice"]["dominant_emotion"] for path in (shared_data / SPEECH, quiet)]
    assert heard == ["angry", "angry"]


def test_speech_30_db_quieter_is_still_found(shared_data):
    """Speech detection's absolute gate lies under a quiet microphone's speech (RAVDESS's angry clip at -30 dB)."""
    import soundfile as sf

    from backend.voice.speech_detection import speech_mask

    signal, rate = sf.read(str(shared_data / SPEECH), dtype="float32")
    quiet = np.round(signal * 10 ** (-30 / 20) * 32768) / 32768
    assert speech_mask(quiet, rate).tolist() == speech_mask(signal, rate).tolist()


def test_a_model_with_an_input_level_hears_a_quiet_and_a_loud_recording_alike(speech, tmp_path):
    settings = get_settings()
    folder = tmp_path / "levelled"
    shutil.copytree(settings.voice_model_dir / "voice-whisper-v1", folder)
    meta = json.loads((folder / "model.json").read_text())
    (folder / "model.json").write_text(json.dumps({**meta, "name": "levelled", "input_level_dbfs": -20.0}))
    model = get_voice_model("levelled", replace(settings, voice_model_dir=tmp_path))
    plain = get_voice_model("voice-whisper-v1", settings)  # trained on recordings as they were: no level
    quiet, loud = 0.05 * speech, 0.9 * speech
    assert np.allclose(model.predict([quiet])[0], model.predict([loud])[0], atol=1e-4)
    assert not np.allclose(plain.predict([quiet])[0], plain.predict([loud])[0], atol=1e-2)
