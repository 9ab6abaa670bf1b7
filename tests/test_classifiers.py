"""Face classifiers behind one interface: the shipped CNN, a ViT from a local folder, and `auto`."""

import shutil

import numpy as np
import pytest

from backend.config import get_settings
from backend.emotions import EMOTIONS
from backend.errors import InputError, ModelUnavailableError
from backend.faces.align import aligned_crop
from backend.faces.classifiers import get_classifier
from backend.faces.classifiers.cnn import size_scale
from backend.faces.cnn_store import read_meta, write_meta
from backend.faces.detector import get_detector


@pytest.fixture(scope="module")
def astronaut_face(astronaut) -> np.ndarray:
    (faces,) = get_detector(get_settings()).detect([astronaut])
    return aligned_crop(astronaut, faces[0])


@pytest.fixture(scope="module")
def tiny_vit(tmp_path_factory) -> str:
    """A randomly initialised ViT with the FER labels (in a different order than ours), saved like a hub model."""
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    labels = ["happy", "sad", "angry", "neutral", "surprise", "disgust", "fear"]
    config = ViTConfig(image_size=32, patch_size=8, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=16, num_labels=7, id2label=dict(enumerate(labels)),
                       label2id={name: i for i, name in enumerate(labels)})  # fmt: skip
    folder = tmp_path_factory.mktemp("tiny-vit")
    ViTForImageClassification(config).save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}).save_pretrained(folder)
    return str(folder)


def test_cnn_gives_a_probability_per_emotion_for_each_face(astronaut_face):
    probabilities = get_classifier("cnn", get_settings()).predict([astronaut_face, astronaut_face[::2, ::2]])
    assert probabilities.shape == (2, len(EMOTIONS))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_cnn_reads_the_smiling_astronaut_as_happy(astronaut_face):
    probabilities = get_classifier("cnn", get_settings()).predict([astronaut_face])[0]
    assert EMOTIONS[int(np.argmax(probabilities))] == "happy"


def test_cnn_gives_the_same_answer_for_a_grayscale_and_a_colour_face(astronaut_face):
    gray = np.repeat(astronaut_face.mean(axis=2, keepdims=True).astype(np.uint8), 3, axis=2)
    classifier = get_classifier("cnn", get_settings())
    colour_p, gray_p = classifier.predict([astronaut_face, gray])
    assert np.argmax(colour_p) == np.argmax(gray_p)


def test_cnn_records_its_weights_hash():
    info = get_classifier("cnn", get_settings()).info
    assert info.name.startswith("cnn/") and len(info.sha256) == 64


def test_cnn_runs_the_int8_weights_where_shipped_and_the_float_ones_when_told(astronaut_face):
    int8 = get_classifier("cnn", get_settings())
    full = get_classifier("cnn", get_settings().replace(face_int8=False))
    assert int8.info.version.endswith("+int8") and not full.info.version.endswith("+int8")
    assert int8.info.sha256 != full.info.sha256
    assert np.argmax(int8.predict([astronaut_face])) == np.argmax(full.predict([astronaut_face]))


def test_cnn_runs_the_float_weights_of_a_model_shipped_without_an_int8_graph(astronaut_face):
    classifier = get_classifier("cnn", get_settings().replace(cnn_model_name="cnn-v1"))
    assert not classifier.info.version.endswith("+int8")
    assert EMOTIONS[int(np.argmax(classifier.predict([astronaut_face])))] == "happy"


def test_a_temperature_by_size_is_interpolated_between_the_fitted_sizes_and_held_at_their_ends():
    table = {"48": 1.0, "24": 1.5, "12": 2.0}
    scale = size_scale(table, [96, 48, 34, 24, 17, 12, 6], 7)
    assert scale == pytest.approx([1.0, 1.0, 1.25, 1.5, 1.75, 2.0, 2.0], abs=0.01)  # 34 and 17 px: half-way in log2
    assert size_scale({}, [12], 1) == pytest.approx([1.0]) and size_scale(table, None, 2) == pytest.approx([1, 1])


def test_a_cnn_calibrated_by_size_is_less_sure_of_the_same_crop_when_the_face_was_smaller(tmp_path, astronaut_face):
    settings = get_settings()
    shutil.copytree(settings.face_model_dir / settings.cnn_model_name, tmp_path / "sized")
    meta = read_meta("sized", tmp_path)
    meta.name, meta.size_temperatures = "sized", {"48": 1.0, "16": 2.0}
    write_meta(meta, tmp_path)
    classifier = get_classifier("cnn", settings.replace(face_model_dir=tmp_path, cnn_model_name="sized",
                                                        cnn_small_face_model=""))  # fmt: skip
    large, small = classifier.predict([astronaut_face, astronaut_face], sizes=[120, 16])
    assert small.max() < large.max() and np.argmax(small) == np.argmax(large)
    assert large == pytest.approx(classifier.predict([astronaut_face])[0], abs=1e-6)  # no sizes: as a large face


def test_a_face_small_in_its_frame_is_read_by_the_small_face_model_and_a_larger_one_by_the_default(astronaut_face):
    settings = get_settings()
    routed = get_classifier("cnn", settings)
    default_only = get_classifier("cnn", settings.replace(cnn_small_face_model=""))
    small_only = get_classifier("cnn", settings.replace(cnn_model_name=settings.cnn_small_face_model))
    below = settings.small_face_model_below_px
    large, small = routed.predict([astronaut_face, astronaut_face], sizes=[below + 1, below - 1])
    assert large == pytest.approx(default_only.predict([astronaut_face], sizes=[below + 1])[0], abs=1e-6)
    assert small == pytest.approx(small_only.predict([astronaut_face], sizes=[below - 1])[0], abs=1e-6)
    assert not np.allclose(large, small, atol=1e-3)  # two networks: the same crop reads differently
    assert [(c.role, c.name) for c in routed.components] == [
        ("face_classifier_small_faces", f"cnn/{settings.cnn_small_face_model}")
    ]


def test_a_face_of_unknown_size_is_read_by_the_default_model(astronaut_face):
    settings = get_settings()
    default_only = get_classifier("cnn", settings.replace(cnn_small_face_model=""))
    assert get_classifier("cnn", settings).predict([astronaut_face]) == pytest.approx(
        default_only.predict([astronaut_face]), abs=1e-6
    )


def test_missing_cnn_weights_say_where_they_were_looked_for(tmp_path):
    settings = get_settings().replace(face_model_dir=tmp_path)
    with pytest.raises(ModelUnavailableError, match=str(tmp_path)):
        get_classifier("cnn", settings)


def test_vit_from_a_local_folder_maps_its_labels_to_ours(tiny_vit, astronaut_face):
    classifier = get_classifier("vit", get_settings().replace(vit_model=tiny_vit))
    probabilities = classifier.predict([astronaut_face] * 3)
    assert probabilities.shape == (3, len(EMOTIONS))
    assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
    assert classifier.info.name == "vit" and classifier.info.source == tiny_vit


def test_vit_not_in_the_cache_offline_says_which_model_and_how_to_fix_it(tmp_path):
    settings = get_settings().replace(vit_model="nobody/no-such-vit-model")
    with pytest.raises(ModelUnavailableError) as error:
        get_classifier("vit", settings)
    assert "nobody/no-such-vit-model" in error.value.message
    assert "EMOCLASSIFY_VIT_MODEL" in error.value.message


def test_auto_takes_the_vit_where_it_loads(tiny_vit):
    assert get_classifier("auto", get_settings().replace(vit_model=tiny_vit)).info.name == "vit"


def test_auto_falls_back_to_the_cnn_where_the_vit_is_unavailable():
    settings = get_settings().replace(vit_model="nobody/no-such-vit-model")
    assert get_classifier("auto", settings).info.name.startswith("cnn/")


def test_an_unknown_classifier_name_is_an_input_error():
    with pytest.raises(InputError, match="unknown face model"):
        get_classifier("resnet", get_settings())


def _fer_faces(shared_data, per_class: int = 20) -> list[np.ndarray]:
    from PIL import Image

    faces = []
    for emotion in EMOTIONS:
        for path in sorted((shared_data / "faces" / "fer2013" / "val" / emotion).glob("*.png"))[:per_class]:
            gray = np.asarray(Image.open(path).convert("L"))
            faces.append(np.repeat(gray[..., None], 3, axis=2))
    return faces


def _shifted(face: np.ndarray, dx: int, dy: int) -> np.ndarray:
    return np.roll(np.pad(face, ((2, 2), (2, 2), (0, 0)), mode="edge"), (dy, dx), axis=(0, 1))[2:-2, 2:-2]


@pytest.mark.parametrize(
    ("change", "transform"),
    [
        ("shift 2 px right", lambda f: _shifted(f, 2, 0)),
        ("shift 2 px down", lambda f: _shifted(f, 0, 2)),
        ("15 % brighter", lambda f: np.clip(f.astype(float) * 1.15, 0, 255).astype(np.uint8)),
        ("15 % darker", lambda f: (f.astype(float) * 0.85).astype(np.uint8)),
    ],
)
def test_cnn_label_is_stable_under_small_changes_of_the_same_face(shared_data, change, transform):
    faces = _fer_faces(shared_data)
    classifier = get_classifier("cnn", get_settings())
    before = classifier.predict(faces).argmax(axis=1)
    after = classifier.predict([transform(f) for f in faces]).argmax(axis=1)
    stable = float((before == after).mean())
    print(f"{change}: label unchanged for {stable:.1%} of {len(faces)} FER2013 val faces")
    assert stable >= 0.85
