"""The fused view: face and voice combined per window by the shipped combiner (fusion_model/models), on real media.
A modality alone gives its own value; an unsure face carries less of the evidence; the double check says which
modality it trusts; the result validates and its lanes, summary and echo mean come from the same windows."""

import json

import jsonschema
import numpy as np
import pytest
from media_factory import make_audio, run_ffmpeg, video_from_image

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.fusion.combiner import get_fusion_model
from backend.options import AnalysisOptions
from backend.pipeline import analyse
from backend.results import SCHEMA_PATH

CLIP = "video/1001_DFA_ANG_XX.mp4"  # CREMA-D: one face, one angry sentence


def vector(probabilities: dict) -> np.ndarray:
    return np.array([probabilities[name] for name in EMOTIONS])


@pytest.fixture(scope="module")
def crema_result(shared_data):
    return analyse(shared_data / CLIP, AnalysisOptions(double_check=True, echo_mean=True))


def test_both_modalities_are_fused_by_default_and_the_result_validates(crema_result):
    fused = crema_result.fused
    assert fused and all(w.modalities == ["face", "voice"] for w in fused if w.face_id is not None)
    assert any(m["role"] == "fusion" for m in crema_result.models)
    jsonschema.validate(json.loads(crema_result.to_json()), json.loads(SCHEMA_PATH.read_text()))


def test_each_fused_window_is_a_distribution_with_weights_that_sum_to_one(crema_result):
    for w in crema_result.fused:
        assert sum(w.probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert w.weights["face"] + w.weights["voice"] == pytest.approx(1.0, abs=1e-3)
        assert w.label == max(w.probabilities, key=w.probabilities.get)


def test_the_fused_lane_summary_and_echo_mean_come_from_the_fused_windows(crema_result):
    lane = [e for e in crema_result.timeline if e.source == "fused"]
    assert lane and {e.face_id for e in lane} <= {w.face_id for w in crema_result.fused}
    summary = crema_result.summary["fused"]
    assert summary["windows"] == len(crema_result.fused)
    assert crema_result.echo_mean["fused"]["dominant_emotion"] in EMOTIONS


def test_the_double_check_says_which_modality_it_trusts_and_why(crema_result):
    windows = crema_result.double_check["windows"]
    assert windows and all(w["trusted"] in ("face", "voice") and "px" in w["reason"] for w in windows)


def test_a_face_only_file_gives_the_faces_own_value(tmp_path, astronaut):
    result = analyse(video_from_image(tmp_path, astronaut, seconds=3.0), AnalysisOptions(fuse=True))
    assert result.fused and all(w.modalities == ["face"] and w.weights == {"face": 1.0, "voice": 0.0}
                                for w in result.fused)  # fmt: skip
    first = result.fused[0]
    inside = [o for o in result.faces if first.start <= o.t < first.end and o.face_id == first.face_id]
    assert vector(first.probabilities) == pytest.approx(np.mean([o.vector() for o in inside], axis=0), abs=1e-3)


def test_a_voice_only_file_gives_the_voices_own_value(shared_data):
    result = analyse(shared_data / "video" / "1001_DFA_ANG_XX.wav", AnalysisOptions(fuse=True))
    speech = [r for r in result.voice if r.speech]
    assert len(result.fused) == len(speech) and all(w.modalities == ["voice"] for w in result.fused)
    for window, record in zip(result.fused, speech):
        assert vector(window.probabilities) == pytest.approx(record.vector(), abs=1e-3)


def test_nothing_is_fused_by_default_when_only_one_modality_runs(tmp_path):
    assert analyse(make_audio(tmp_path, seconds=2.0)).fused is None


def test_fuse_false_turns_it_off(shared_data):
    result = analyse(shared_data / CLIP, AnalysisOptions(fuse=False))
    assert result.fused is None and result.summary["fused"] is None
    assert not [e for e in result.timeline if e.source == "fused"]


def peaked(emotion: str, confidence: float) -> np.ndarray:
    p = np.full((1, len(EMOTIONS)), (1 - confidence) / (len(EMOTIONS) - 1))
    p[0, EMOTIONS.index(emotion)] = confidence
    return p


def test_an_unsure_face_carries_less_of_the_evidence_and_the_fused_label_follows_the_voice():
    model = get_fusion_model(get_settings())
    voice = peaked("happy", 0.6)
    sure, unsure = (model.fuse(peaked("angry", confidence), np.array([48]), voice, np.array([1.0]))
                    for confidence in (0.9, 0.25))  # fmt: skip
    assert unsure.face_share[0] < sure.face_share[0]
    assert EMOTIONS[int(unsure.probabilities[0].argmax())] == "happy"


def test_the_same_clip_with_the_face_hidden_leans_on_the_voice_alone(shared_data, tmp_path):
    hidden = tmp_path / "hidden.mp4"
    run_ffmpeg("-i", shared_data / CLIP, "-vf", "drawbox=color=black:t=fill", "-c:a", "copy", hidden)
    result = analyse(hidden, AnalysisOptions())
    speech = [r for r in result.voice if r.speech]
    assert not result.faces and len(result.fused) == len(speech)
    assert all(w.modalities == ["voice"] and w.weights == {"face": 0.0, "voice": 1.0} for w in result.fused)


def test_the_same_clip_with_a_tiny_face_gives_the_face_a_smaller_share(shared_data, crema_result, tmp_path):
    """The picture shrunk 5x in a frame of the same size (a 92 px face becomes about 19 px): the network that reads
    small faces is less sure of what so few pixels show, so the face carries less of each window's evidence than
    the same face at full size does."""
    small, shrink = tmp_path / "small.mp4", "scale=iw/5:ih/5,pad=iw*5:ih*5:(ow-iw)/2:(oh-ih)/2"
    run_ffmpeg("-i", shared_data / CLIP, "-vf", shrink, "-c:a", "copy", small)
    windows = [w for w in analyse(small, AnalysisOptions()).fused if w.modalities == ["face", "voice"]]
    recorded = [w.weights["face"] for w in crema_result.fused if w.modalities == ["face", "voice"]]
    assert windows
    assert np.mean([w.weights["face"] for w in windows]) < np.mean(recorded)


@pytest.mark.parametrize("name", ["fusion-v1", "fusion-v2", "fusion-v3", "fusion-v4", "fusion-v5"])
def test_the_shipped_graph_fuses_as_the_fitted_combiner_does(name, tmp_path):
    """The runtime runs combiner.onnx; fusion_model fits and scores the torch module it was written from."""
    import torch

    from fusion_model.combiner import Combiner, combiner_inputs, write_graph

    folder = get_settings().fusion_model_dir / name
    combiner = Combiner.from_json(json.loads((folder / "combiner.json").read_text()))
    rng = np.random.default_rng(0)
    face, voice = rng.dirichlet(np.ones(len(EMOTIONS)), 50), rng.dirichlet(np.ones(len(EMOTIONS)), 50)
    sizes, shares = rng.uniform(4, 120, 50), rng.uniform(0, 1, 50)
    with torch.no_grad():
        log_q, face_share = combiner(*combiner_inputs(face, sizes, voice, shares))
    fused = get_fusion_model(get_settings(), name).fuse(face, sizes, voice, shares)
    np.testing.assert_allclose(fused.probabilities, torch.exp(log_q).numpy(), atol=1e-5)
    np.testing.assert_allclose(fused.face_share, face_share.numpy(), atol=1e-5)
    assert write_graph(combiner, tmp_path).read_bytes() == (folder / "combiner.onnx").read_bytes()
