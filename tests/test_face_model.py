"""The face-model package: augmentation keeps faces usable, evaluation scores any labelled folder."""

import shutil

import numpy as np
import pytest
import torch

from backend.emotions import EMOTIONS
from face_model.__main__ import main
from face_model.augment import augment
from face_model.train import class_weights


def test_augmentation_keeps_shape_and_pixel_range():
    x = torch.rand(16, 1, 48, 48)
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out, x)


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
