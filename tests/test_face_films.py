"""Faces from films in the face model's training and evaluation: a still is read as the runtime crops its face,
films are told apart by file name and never split between folds, and film faces get the heavier augmentation."""

import numpy as np
import torch
from PIL import Image

from backend.config import get_settings
from backend.faces.align import aligned_crop
from backend.faces.classifiers.cnn import network_input
from backend.faces.detector import get_detector
from face_model.data import as_runtime_reads
from face_model.films import augment_mixed, film_folds, film_of


def test_a_film_face_is_named_by_its_film_whatever_its_name_holds():
    assert film_of("angry/AlexEmma_000225840_00000024.png") == "AlexEmma"
    assert film_of("sad/HarryPotter_Deathly_Hallows_1_000046280_00000017.png") == "HarryPotter_Deathly_Hallows_1"
    assert film_of("happy/50_50_001805320_00000009.png") == "50_50"
    assert film_of("fear/OceansTwelve-001817760_00000010.png") == "OceansTwelve"
    assert film_of("sad/IAmSam_013827920__00000055.png") == "IAmSam"


def test_the_folds_deal_each_film_of_sfew_to_exactly_one_fold_of_about_one_size(shared_data):
    root = shared_data / "faces" / "sfew" / "train"
    files = [str(path.relative_to(root)) for path in sorted(root.glob("*/*.png"))]
    folds = film_folds(files, 5)
    films = np.array([film_of(file) for file in files])
    assert all(len(set(folds[films == film])) == 1 for film in set(films))
    sizes = np.bincount(folds, minlength=5)
    assert len(sizes) == 5 and sizes.max() - sizes.min() <= max(np.unique(films, return_counts=True)[1])


def test_a_still_larger_than_the_input_is_read_as_the_runtime_crops_its_face(astronaut, tmp_path):
    path = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(path)
    (faces,) = get_detector(get_settings()).detect([astronaut])
    runtime = network_input(aligned_crop(astronaut, faces[0]), 48).astype(float)
    squashed = np.asarray(Image.fromarray(astronaut).convert("L").resize((48, 48)), dtype=float)
    read = as_runtime_reads(path).astype(float)
    assert read.shape == (48, 48)
    assert np.abs(read - runtime).mean() < 0.25 * np.abs(squashed - runtime).mean()


def test_a_face_already_at_the_input_size_is_taken_as_it_is(tmp_path):
    face = np.random.default_rng(0).integers(0, 256, (48, 48), dtype=np.uint8)
    Image.fromarray(face).save(tmp_path / "face.png")
    assert np.array_equal(as_runtime_reads(tmp_path / "face.png"), face)


def test_film_faces_and_fer_faces_of_one_batch_are_both_augmented_within_the_pixel_range():
    faces = torch.rand(16, 1, 48, 48)
    from_film = torch.arange(16) >= 10
    out = augment_mixed(faces, from_film, torch.Generator().manual_seed(0))
    assert out.shape == faces.shape and out.min() >= 0 and out.max() <= 1
    assert not torch.allclose(out[from_film], faces[from_film])
    assert not torch.allclose(out[~from_film], faces[~from_film])
