"""The face-model package: augmentation keeps faces usable, evaluation scores any labelled folder."""

import shutil

import numpy as np
import pytest
import torch

from backend.config import DEFAULT_CNN_MODEL
from backend.emotions import EMOTIONS
from face_model.__main__ import main
from face_model.augment import augment
from face_model.train import DISTILL_TEMPERATURE, class_weights, cutmix, distillation_loss, held_aside, to_tensor


def test_augmentation_keeps_shape_and_pixel_range():
    x = torch.rand(16, 1, 48, 48)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)


def test_the_held_aside_part_of_train_is_fixed_and_takes_its_share_of_every_class(shared_data):
    from face_model.data import fer_dir, load_folder

    train = load_folder(fer_dir("train"))
    aside = held_aside(train.files, 0.1)
    assert np.array_equal(aside, held_aside(list(train.files), 0.1))
    for label in range(7):
        share = aside[train.labels == label].mean()
        assert 0.07 < share < 0.13, (label, share)


def test_cutmix_pastes_a_box_of_the_partner_and_weighs_the_labels_by_area():
    x = torch.stack([torch.full((1, 48, 48), float(i)) for i in range(8)])
    mixed, partner, own = cutmix(x, torch.Generator().manual_seed(3))
    assert mixed.shape == x.shape and 0.0 <= own <= 1.0
    moved = [i for i in range(8) if partner[i] != i]
    assert moved
    for i in moved:
        assert (mixed[i] == float(partner[i])).float().mean().item() == pytest.approx(1 - own, abs=1e-6)


def test_the_distillation_loss_is_least_where_the_network_sees_a_face_as_its_teacher_does():
    teacher_logits = torch.tensor([[2.0, 0.5, -1.0, 0.0, 0.3, -0.5, 1.0]])
    target = torch.softmax(teacher_logits / DISTILL_TEMPERATURE, dim=1)
    at_teacher = distillation_loss(teacher_logits, target)
    for other in (teacher_logits * 3, teacher_logits.flip(1), torch.zeros_like(teacher_logits)):
        assert distillation_loss(other, target) > at_teacher


def test_a_video_view_batch_shows_about_its_share_of_faces_small_and_compressed_and_leaves_the_rest():
    from face_model.train import video_view_batch

    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (400, 48, 48), dtype=np.uint8)
    out = video_view_batch(faces, 0.5, torch.Generator().manual_seed(0))
    changed = (out != faces).any(axis=(1, 2))
    assert out.shape == faces.shape and out.dtype == np.uint8
    assert 0.4 < changed.mean() < 0.6
    # noise shrunk to 32 px or less and scaled back up is smooth: neighbouring pixels differ far less than before
    assert (
        np.abs(np.diff(out[changed].astype(int), axis=2)).mean()
        < 0.5 * np.abs(np.diff(faces.astype(int), axis=2)).mean()
    )
    assert video_view_batch(faces, 0.0, torch.Generator().manual_seed(0)) is faces


def test_rarer_classes_weigh_more():
    labels = np.array([0] * 100 + [1] * 10 + list(range(2, 7)) * 50)
    weights = class_weights(labels, power=0.5)
    assert weights[1] > weights[0] and weights.mean() == pytest.approx(1.0)


def test_evaluate_scores_a_labelled_folder_in_one_line(tmp_path, shared_data, capsys):
    for emotion in EMOTIONS:
        (tmp_path / emotion).mkdir()
        for source in sorted((shared_data / "faces" / "fer2013" / "val" / emotion).glob("*.png"))[:3]:
            shutil.copy(source, tmp_path / emotion / source.name)
    assert main(["evaluate", "--data", str(tmp_path)]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("accuracy=") and " macro_f1=" in line and line.endswith(" n=21")


def test_evaluate_on_the_holdout_reproduces_what_training_recorded_for_the_kept_epoch(shared_data, capsys):
    assert main(["evaluate", "--name", "cnn-v3-m1", "--holdout", "0.1"]) == 0
    fields = dict(item.split("=") for item in capsys.readouterr().out.split()[1:])
    assert float(fields["accuracy"]) == pytest.approx(0.6862, abs=2e-3)  # cnn-v3-m1/model.json's notes
    assert float(fields["macro_f1"]) == pytest.approx(0.6712, abs=2e-3)
    assert int(fields["n"]) == 2887


def test_evaluate_on_the_holdout_scores_the_int8_graph_that_step_five_kept(shared_data, capsys):
    assert main(["evaluate", "--name", "cnn-v3", "--holdout", "0.1", "--int8"]) == 0
    fields = dict(item.split("=") for item in capsys.readouterr().out.split()[1:])
    assert float(fields["accuracy"]) == pytest.approx(0.6900, abs=2e-3)  # docs/research/face.md, step five
    # Step five recorded 0.6792; the venv installed from the hashed locks (2026-12-07, same CPU kind) gives 0.6815
    # with the same accuracy: faces on near ties change class. cnn-v3-r's score below reproduces to 1e-4 there.
    assert float(fields["macro_f1"]) == pytest.approx(0.6792, abs=3e-3)


def test_evaluate_on_the_holdout_reproduces_the_figure_that_made_cnn_v3_r_the_default(shared_data, capsys):
    assert main(["evaluate", "--name", "cnn-v3-r", "--holdout", "0.1", "--int8"]) == 0
    fields = dict(item.split("=") for item in capsys.readouterr().out.split()[1:])
    assert float(fields["score"]) == pytest.approx(0.6948, abs=2e-3)  # docs/research/face.md, step eight: 0.6896 asked


def test_the_temperature_by_size_is_one_at_full_size_and_grows_for_the_smallest_faces(shared_data):
    """A 12 px face has lost the detail the network reads, and the network does not know it: its answers there
    must be softened more than a full-size face's."""
    from face_model.size_calibration import fit_size_temperatures

    table = fit_size_temperatures("cnn-v3-m1", holdout=0.01)
    assert list(table) == ["12", "16", "24", "32", "48"] and table["48"] == 1.0
    assert table["12"] > 1.2


def test_a_crema_d_file_name_gives_the_clip_its_emotion():
    from pathlib import Path

    from face_model.crema import crema_label

    assert [crema_label(Path(f"1001_DFA_{code}_XX.mp4")) for code in ("ANG", "DIS", "FEA", "HAP", "NEU", "SAD")] == [
        "angry", "disgust", "fear", "happy", "neutral", "sad"]  # fmt: skip


def test_the_card_reads_every_frame_of_each_crema_d_clip_through_the_runtime_face_path(shared_data):
    from face_model.crema import crema_table, score_crema

    rows = score_crema(DEFAULT_CNN_MODEL)
    assert [r["label"] for r in rows] == ["angry", "disgust", "fear", "happy", "neutral", "sad"]
    assert all(55 <= r["faces"] <= 71 and 0 <= r["right"] <= r["faces"] for r in rows)  # one face a frame
    assert sum(r["right"] for r in rows) > sum(r["faces"] for r in rows) / 7  # better than chance over 7 labels
    assert crema_table(rows).count("| 1001_DFA_") == 6


def test_an_ensemble_of_shipped_models_loads_as_one_model_and_averages_its_members(tmp_path):
    from backend.faces import cnn_store as store
    from backend.faces.cnn_network import predict_logits
    from face_model.ensemble import combine

    shipped = store.model_dir("cnn-v1").parent
    for member in ("a", "b"):
        shutil.copytree(shipped / "cnn-v1", tmp_path / member)
        (tmp_path / member / "model.json").write_text(
            (shipped / "cnn-v1" / "model.json").read_text().replace('"cnn-v1"', f'"{member}"')
        )
    combine("pair", ["a", "b"], flip_average=False, root=tmp_path)
    ensemble, meta = store.load("pair", tmp_path)
    single, _ = store.load("a", tmp_path)
    faces = torch.rand(4, 1, 48, 48)
    assert meta.members == 2 and not meta.flip_average
    assert torch.allclose(predict_logits(ensemble, faces, False), predict_logits(single, faces, False), atol=1e-5)


@pytest.fixture(scope="module")
def val_faces(shared_data) -> torch.Tensor:
    from face_model.data import fer_dir, load_folder

    return to_tensor(load_folder(fer_dir("val")).images[::12])  # 300 faces, every class among them


def _int8_logits(name: str, faces: torch.Tensor, root=None) -> np.ndarray:
    from backend.faces.cnn_int8 import int8_graph
    from backend.onnx_network import OnnxNetwork

    return OnnxNetwork(int8_graph(name, root))(faces.numpy())


def test_the_shipped_int8_graph_labels_real_faces_as_the_float_weights_do(val_faces):
    from backend.faces import cnn_store as store
    from backend.faces.cnn_network import predict_logits

    float_model, _ = store.load(DEFAULT_CNN_MODEL)
    float_labels = predict_logits(float_model, val_faces).argmax(1).numpy()
    int8_labels = _int8_logits(DEFAULT_CNN_MODEL, val_faces).argmax(1)
    # On all of val the two agree on 0.930 of the faces for cnn-v3-r and 0.935 for cnn-v3 (these 300: 0.947 and
    # 0.953). They part on faces whose two likeliest classes are nearly tied: for cnn-v3-r, 83 % of them are within
    # 0.1 of each other in the float weights' probabilities (median 0.05, against 0.46 where the two agree).
    assert (float_labels == int8_labels).mean() >= 0.92


def test_quantize_remakes_the_shipped_int8_graph(tmp_path, val_faces):
    from backend.faces import cnn_store as store
    from backend.faces.cnn_int8 import INT8_GRAPH
    from face_model.quantize import quantize

    shutil.copytree(store.model_dir(DEFAULT_CNN_MODEL), tmp_path / DEFAULT_CNN_MODEL)
    (tmp_path / DEFAULT_CNN_MODEL / INT8_GRAPH).unlink()
    quantize(DEFAULT_CNN_MODEL, root=tmp_path)
    remade, shipped = _int8_logits(DEFAULT_CNN_MODEL, val_faces, tmp_path), _int8_logits(DEFAULT_CNN_MODEL, val_faces)
    # the same graph up to the last bits of calibrated ranges, which a CPU with other vector units may round apart
    assert (remade.argmax(1) == shipped.argmax(1)).mean() >= 0.99
    np.testing.assert_allclose(remade, shipped, atol=0.05)


def test_an_ensemble_is_quantized_into_one_graph(tmp_path, val_faces):
    from backend.faces import cnn_store as store
    from backend.faces.cnn_network import EmotionEnsemble, predict_logits
    from face_model.quantize import quantize

    single, meta = store.load("cnn-v2")  # one network, whatever the default is
    meta.name, meta.members, meta.int8 = "pair", 2, {}
    store.save(EmotionEnsemble([single, single]), meta, tmp_path)
    quantize("pair", root=tmp_path)
    float_labels = predict_logits(single, val_faces).argmax(1).numpy()
    assert (_int8_logits("pair", val_faces, tmp_path).argmax(1) == float_labels).mean() >= 0.95


def test_a_model_without_an_int8_graph_says_how_to_make_it():
    from backend.faces.cnn_int8 import int8_graph

    with pytest.raises(FileNotFoundError, match="python -m face_model quantize --name cnn-v1"):
        int8_graph("cnn-v1")
