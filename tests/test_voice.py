"""backend.voice: windows over time, speech detection, and the shipped and legacy voice models."""

from __future__ import annotations

import numpy as np
import pytest

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.errors import ModelUnavailableError
from backend.voice.analysis import VoiceWindow, analyse_signal
from backend.voice.models import get_voice_model
from backend.voice.speech_detection import speech_mask
from backend.voice.windows import window_bounds

SR = 16_000
ANGRY_STRONG = "speech/ravdess/Actor_07/03-01-05-02-01-01-07.flac"  # a held-out actor, angry, strong intensity


@pytest.fixture(scope="module")
def model():
    return get_voice_model("default", get_settings())


@pytest.fixture(scope="module")
def angry_clip(shared_data) -> np.ndarray:
    import soundfile as sf

    signal, rate = sf.read(str(shared_data / ANGRY_STRONG), dtype="float32")
    assert rate == SR
    return signal


def tone(seconds: float, hz: float = 440.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_a_pure_tone_gives_no_speech_windows_and_no_emotion(model):
    windows = analyse_signal(tone(6.0), SR, model)
    assert windows and all(not w.speech and w.probabilities is None for w in windows)


def test_steady_noise_gives_no_speech_windows(model):
    noise = (0.2 * np.random.default_rng(0).standard_normal(6 * SR)).astype(np.float32)
    assert not speech_mask(noise, SR).any()
    assert all(not w.speech for w in analyse_signal(noise, SR, model))


def test_digital_silence_gives_no_speech_windows():
    assert not speech_mask(np.zeros(5 * SR, dtype=np.float32), SR).any()


def test_beeping_tone_is_not_speech():
    t = np.arange(6 * SR) / SR
    assert not speech_mask(tone(6.0) * ((t % 1.0) < 0.3), SR).any()


def test_shared_speech_clip_gives_speech_windows_with_probabilities_summing_to_one(model, angry_clip):
    windows = analyse_signal(angry_clip, SR, model)
    speech = [w for w in windows if w.speech]
    assert speech
    for w in speech:
        assert w.probabilities.shape == (len(EMOTIONS),)
        assert w.probabilities.sum() == pytest.approx(1.0, abs=1e-4)


def test_speech_after_silence_is_found_only_where_it_is(angry_clip):
    signal = np.concatenate([np.zeros(4 * SR, dtype=np.float32), angry_clip])
    mask = speech_mask(signal, SR)
    assert not mask[:2].any() and mask[4:].any()


def test_windows_are_2s_every_1s_offset_by_t0(model):
    windows = analyse_signal(tone(5.0), SR, model, t0=30.0)
    assert [(w.start, w.end) for w in windows] == [(30.0, 32.0), (31.0, 33.0), (32.0, 34.0), (33.0, 35.0)]


def test_window_and_hop_are_configurable():
    assert window_bounds(6.0, window=3.0, hop=1.5) == [(0.0, 3.0), (1.5, 4.5), (3.0, 6.0)]


def test_a_final_partial_window_is_kept_when_at_least_half_a_window_long():
    assert window_bounds(10.5)[-1] == (9.0, 10.5)
    assert window_bounds(11.2, window=2.0, hop=2.0)[-1] == (10.0, 11.2)
    assert window_bounds(10.5, window=2.0, hop=2.0)[-1] == (8.0, 10.0)


def test_a_signal_shorter_than_a_window_is_one_window():
    assert window_bounds(0.7) == [(0.0, 0.7)]


def test_an_empty_signal_has_no_windows(model):
    assert analyse_signal(np.zeros(0, dtype=np.float32), SR, model) == []


def test_the_model_takes_inputs_of_any_length(model, angry_clip):
    lengths = [int(0.3 * SR), int(1.3 * SR), 2 * SR, len(angry_clip)]
    out = model.predict([angry_clip[:n] for n in lengths])
    assert out.shape == (4, len(EMOTIONS))
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-4)


def test_other_sample_rates_are_resampled(model, angry_clip):
    import librosa

    signal = librosa.resample(angry_clip, orig_sr=SR, target_sr=44_100)
    windows = analyse_signal(signal, 44_100, model)
    assert any(w.speech for w in windows) and windows[-1].end == pytest.approx(len(angry_clip) / SR, abs=0.01)


def test_the_shipped_model_loads_once_and_names_its_weights(model):
    assert get_voice_model("default", get_settings()) is model
    info = model.info
    assert info.role == "voice_classifier" and len(info.sha256) == 64


def test_the_default_model_runs_on_the_pinned_whisper_encoder_and_names_it(model):
    from backend.voice.whisper_encoder import WHISPER_BASE_SHA256

    assert [(c.role, c.sha256) for c in model.components] == [("speech_encoder", WHISPER_BASE_SHA256)]


def test_the_previous_mfcc_default_stays_selectable(angry_clip):
    previous = get_voice_model("voice-ens-v3", get_settings())
    assert previous.components == () and previous.predict([angry_clip]).shape == (1, len(EMOTIONS))


def test_the_default_models_graph_gives_its_keras_networks_probabilities(angry_clip, monkeypatch):
    from backend.voice import store
    from backend.voice.head import predict

    shipped = get_voice_model("default", get_settings())
    graph, inputs = shipped._network, []
    monkeypatch.setattr(shipped, "_network", lambda batch: inputs.append(batch) or graph(batch))
    from_graph = shipped.predict([angry_clip[: 2 * SR], angry_clip[SR : 3 * SR]])
    keras_model, _ = store.load(get_settings().voice_model_name)
    assert np.allclose(from_graph, np.concatenate([predict(keras_model, batch) for batch in inputs]), atol=1e-5)


def test_a_shipped_model_without_its_graph_is_a_clear_model_unavailable_error(tmp_path):
    import shutil
    from dataclasses import replace

    settings = get_settings()
    folder = tmp_path / "no-graph"
    folder.mkdir()
    shutil.copy(settings.voice_model_dir / "voice-whisper-v1" / "model.json", folder / "model.json")
    with pytest.raises(ModelUnavailableError, match="python -m voice_model graph no-graph"):
        get_voice_model("no-graph", replace(settings, voice_model_dir=tmp_path))


def _voice_analysis_in_a_fresh_process(shared_data, env: dict | None = None) -> str:
    """Analyse a clip's voice with the default model in a new interpreter, as a CLI run would; its printed line."""
    import subprocess
    import sys

    script = (
        "import sys, soundfile\n"
        "from backend.config import get_settings\n"
        "from backend.voice.analysis import analyse_signal\n"
        "from backend.voice.models import get_voice_model\n"
        f"signal, rate = soundfile.read({str(shared_data / ANGRY_STRONG)!r}, dtype='float32')\n"
        "assert any(w.speech for w in analyse_signal(signal, rate, get_voice_model('default', get_settings())))\n"
        "print('keras' in sys.modules)\n"
    )
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env).stdout


def test_an_analysis_with_the_shipped_voice_model_never_imports_keras(shared_data):
    assert _voice_analysis_in_a_fresh_process(shared_data).strip() == "False"


def test_running_the_voice_network_reports_nothing_and_leaves_no_trace_of_onnxruntime(shared_data, tmp_path):
    import os

    home, temp = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(), temp.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("ORT_DISABLE_TELEMETRY", "XDG_CACHE_HOME")}
    _voice_analysis_in_a_fresh_process(shared_data, env | {"HOME": str(home), "TMPDIR": str(temp)})
    assert not (home / ".cache" / "Microsoft").exists()  # onnxruntime's telemetry keeps a device id there
    assert not (temp / ".ses").exists()  # and its session file here


def test_legacy_h5_loads_and_predicts_seven_probabilities(shared_data, angry_clip):
    path = shared_data.parent / "reference" / "seed_model3.h5"
    legacy = get_voice_model(f"legacy:{path}", get_settings())
    out = legacy.predict([angry_clip[: 2 * SR], angry_clip])
    assert out.shape == (2, len(EMOTIONS))
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-4)
    assert np.allclose(out[:, EMOTIONS.index("angry")], out[:, EMOTIONS.index("disgust")])
    assert len(legacy.info.sha256) == 64


def test_a_missing_legacy_model_is_a_clear_model_unavailable_error(tmp_path):
    with pytest.raises(ModelUnavailableError, match="not found"):
        get_voice_model(f"legacy:{tmp_path / 'nope.h5'}", get_settings())


def test_a_voice_window_serialises_to_plain_values():
    window = VoiceWindow(0.0, 2.0, True, np.full(7, 1 / 7, dtype=np.float32))
    assert window.to_dict()["probabilities"]["angry"] == pytest.approx(0.1429, abs=1e-4)
    assert VoiceWindow(0.0, 2.0, False, None).to_dict()["probabilities"] is None
