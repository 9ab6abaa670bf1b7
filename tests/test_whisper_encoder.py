"""backend.voice.whisper_encoder: the Whisper base encoder from the installed model-data wheels, checked by hash, in
torch."""

from __future__ import annotations

import numpy as np
import pytest

from backend.config import get_settings
from backend.errors import ModelUnavailableError
from backend.voice.whisper_encoder import get_speech_encoder, log_mel, read_ctranslate2, whisper_base_dir

SR = 16_000


def speech_like(seconds: float, seed: int = 0) -> np.ndarray:
    """A harmonic tone with a wobbling pitch and an amplitude envelope: not speech, but not flat either."""
    t = np.arange(int(seconds * SR)) / SR
    pitch = 140 + 30 * np.sin(2 * np.pi * 3 * t)
    phase = 2 * np.pi * np.cumsum(pitch) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 8)) * (0.5 + 0.5 * np.sin(2 * np.pi * 4 * t) ** 2)
    noise = 0.01 * np.random.default_rng(seed).standard_normal(len(t))
    return (0.2 * voice + noise).astype(np.float32)


@pytest.fixture(scope="module")
def encoder():
    return get_speech_encoder(get_settings())


def test_the_encoder_loads_from_the_installed_wheels_and_gives_20_ms_frames_per_block(encoder):
    frames = encoder.frames(np.stack([speech_like(2.0), speech_like(2.0, seed=1)]), (2, 3))
    assert frames.shape == (2, 100, 2, 512)  # 2 s: 200 log-mel frames, halved by the stride-2 convolution
    assert np.isfinite(frames).all()


def test_a_wrong_hash_is_refused_with_model_unavailable_and_leaves_nothing_behind(tmp_path):
    settings = get_settings().replace(cache_dir=tmp_path)
    with pytest.raises(ModelUnavailableError) as error:
        whisper_base_dir(settings, expected_sha256="0" * 64)
    assert error.value.code == "model_unavailable" and "SHA-256" in error.value.message
    assert not list((tmp_path / "whisper-base").glob("model.bin*"))


def test_the_joined_weights_are_checked_once_then_trusted_by_their_stamp(tmp_path):
    settings = get_settings().replace(cache_dir=tmp_path)
    folder = whisper_base_dir(settings)
    assert {"model.bin", "config.json", "tokenizer.json", "vocabulary.json"} <= {p.name for p in folder.iterdir()}
    (folder / "model.bin").write_bytes(b"tampered")
    with pytest.raises(ModelUnavailableError):  # the stamp no longer matches: joined and checked again
        whisper_base_dir(settings, expected_sha256="0" * 64)


def test_the_torch_encoder_matches_ctranslate2s_encoder():
    import ctranslate2
    import torch

    from backend.voice.whisper_encoder import _encoder_class

    folder = whisper_base_dir(get_settings())
    signal = np.zeros(30 * SR, dtype=np.float32)  # CTranslate2 takes Whisper's 30 s input only
    signal[: 3 * SR] = speech_like(3.0)
    mel = log_mel(signal[None])
    theirs = np.array(ctranslate2.models.Whisper(str(folder), device="cpu", compute_type="float32").encode(
        ctranslate2.StorageView.from_array(mel), to_cpu=True))  # fmt: skip
    tensors = read_ctranslate2(folder / "model.bin", "encoder/")
    with torch.inference_mode():
        last = _encoder_class()(tensors, 6).eval()(torch.from_numpy(mel))[-1]
        gamma, beta = (
            torch.from_numpy(tensors[f"encoder/layer_norm/{n}"].astype(np.float32)) for n in ("gamma", "beta")
        )
        ours = torch.nn.functional.layer_norm(last, (512,), gamma, beta)
    assert np.abs(ours.numpy() - theirs).max() < 2e-3


def test_the_encoder_graph_that_the_runtime_runs_gives_the_torch_encoders_frames_at_any_length(encoder):
    import torch

    from backend.voice.whisper_encoder import _encoder_class

    tensors = read_ctranslate2(whisper_base_dir(get_settings()) / "model.bin", "encoder/")
    module = _encoder_class()(tensors, encoder.n_blocks).eval()
    for seconds in (1.0, 2.6):
        signals = np.stack([speech_like(seconds), speech_like(seconds, seed=2)])
        with torch.inference_mode():
            theirs = torch.stack(module(torch.from_numpy(log_mel(signals))), dim=2).numpy()
        ours = encoder.frames(signals, tuple(range(1, encoder.n_blocks + 1)))
        assert ours.shape == theirs.shape
        assert np.abs(ours - theirs).max() < 1e-4 * np.abs(theirs).max()  # float rounding: activations reach ~500


def test_log_mel_is_whispers_own_and_one_signal_never_changes_anothers():
    from faster_whisper.feature_extractor import FeatureExtractor

    quiet, loud = speech_like(2.0) * 0.01, speech_like(2.0, seed=3)
    alone = log_mel(quiet[None])[0]
    assert np.abs(alone - FeatureExtractor()(quiet, padding=0)).max() < 1e-4
    assert np.allclose(log_mel(np.stack([quiet, loud]))[0], alone, atol=1e-6)
