"""Fitting the fusion rule (python -m fusion_model fit): each fold is scored by a combiner fitted on all the other
folds, and the pooled figures score every held-out window once."""

import numpy as np
import pytest

import fusion_model.__main__ as fusion_cli
from backend.config import get_settings
from backend.emotions import EMOTIONS
from face_model.video_views import FACE_SIZES, VIEW_OFFSETS
from fusion_model.evidence import FOLDS, FaceEvidence, VoiceEvidence
from fusion_model.fit import LAB_ONLY, RECIPES
from fusion_model.pairs import PAIRINGS, Pairs, make_pairs

UTTERANCES_PER_FOLD, WINDOWS_PER_UTTERANCE, FACES_PER_LABEL_AND_FOLD = 14, 3, 2


def leaning_towards(labels: np.ndarray, strength: float, rng: np.random.Generator) -> np.ndarray:
    """Distributions over the 7 labels that favour each true label, as a model that is right more often than not."""
    p = rng.dirichlet(np.ones(len(EMOTIONS)), labels.shape)
    np.put_along_axis(p, labels[..., None], np.take_along_axis(p, labels[..., None], -1) + strength, -1)
    return p / p.sum(axis=-1, keepdims=True)


def made_up_evidence(rng: np.random.Generator) -> tuple[VoiceEvidence, FaceEvidence]:
    """Four folds of 14 utterances and 14 faces each, both models right more often than not."""
    utterance = np.repeat(np.arange(FOLDS * UTTERANCES_PER_FOLD), WINDOWS_PER_UTTERANCE)
    label = utterance % len(EMOTIONS)
    voice = VoiceEvidence(probabilities=leaning_towards(label, 0.8, rng), speech_share=rng.uniform(0.5, 1, len(label)),
                          label=label, utterance=utterance, corpus=np.array(["ravdess"] * len(label)),
                          fold=utterance // UTTERANCES_PER_FOLD)  # fmt: skip
    face_label = np.tile(np.repeat(np.arange(len(EMOTIONS)), FACES_PER_LABEL_AND_FOLD), FOLDS)
    views = np.broadcast_to(face_label[:, None, None], (len(face_label), len(FACE_SIZES), len(VIEW_OFFSETS)))
    faces = FaceEvidence(probabilities=leaning_towards(views, 0.5, rng), label=face_label,
                         fold=np.arange(len(face_label)) // (len(face_label) // FOLDS))  # fmt: skip
    return voice, faces


def out_of_domain_folds(rng: np.random.Generator) -> list[Pairs]:
    """Made-up out-of-domain pairs, one view of each face at full size, the last fold without a speaker (as SAVEE's
    three speakers leave it)."""
    voice, faces = made_up_evidence(rng)
    one_view = FaceEvidence(faces.probabilities[:, :1, :1], faces.label, faces.fold)
    in_three = VoiceEvidence(**{**voice.__dict__, "fold": np.minimum(voice.fold, FOLDS - 1) % (FOLDS - 1)})
    return [make_pairs(in_three, one_view, k, sizes=(48,), size_share=(1.0,), frames=1) for k in range(FOLDS)]


def crossval_on(out_of_domain: bool):
    rng = np.random.default_rng(0)
    voice, faces = made_up_evidence(rng)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fusion_cli, "voice_evidence", lambda settings: voice)
        patch.setattr(fusion_cli, "face_evidence", lambda settings: faces)
        patch.setattr(fusion_cli, "out_of_domain_pairs", lambda settings: out_of_domain_folds(rng))
        return fusion_cli._crossval(get_settings(), out_of_domain)


@pytest.fixture(scope="module")
def crossval():
    """``_crossval``'s report and folds on the lab pairs alone."""
    return crossval_on(out_of_domain=False)


def test_each_fold_is_scored_by_a_combiner_fitted_on_all_the_other_folds(crossval):
    report, folds = crossval
    windows_per_fold = UTTERANCES_PER_FOLD * WINDOWS_PER_UTTERANCE * PAIRINGS
    assert len(folds) == FOLDS == len(report["folds"])
    for fold in report["folds"]:
        assert fold["held_out"]["constant"]["windows"] == windows_per_fold
        assert fold["fit_windows"] == (FOLDS - 1) * windows_per_fold


def test_the_pooled_figures_score_every_held_out_window_once(crossval):
    report, _ = crossval
    total = FOLDS * UTTERANCES_PER_FOLD * WINDOWS_PER_UTTERANCE * PAIRINGS
    assert {report["pooled"][recipe]["windows"] for recipe in (*RECIPES, "face", "voice", "product")} == {total}
    assert report["pooled"]["constant+bias"]["clips"] == FOLDS * UTTERANCES_PER_FOLD * PAIRINGS
    assert report["chosen"] in RECIPES


def test_out_of_domain_pairs_are_fitted_on_beside_the_lab_pairs_and_scored_apart():
    report, every = crossval_on(out_of_domain=True)
    lab_windows = FOLDS * UTTERANCES_PER_FOLD * WINDOWS_PER_UTTERANCE * PAIRINGS
    other = report["out_of_domain"]
    assert len(other["folds"]) == FOLDS - 1  # the fold without a speaker is not scored
    assert other["pooled"]["constant"]["windows"] == sum(len(p.label) for p in every) - lab_windows
    lab_fitted = (FOLDS - 1) * lab_windows // FOLDS
    assert report["folds"][0]["fit_windows"] > lab_fitted  # the other folds' out-of-domain pairs are fitted on too
    assert LAB_ONLY in other["pooled"] and LAB_ONLY in report["pooled"]


def test_the_card_scores_the_combiner_it_is_named_for_not_the_default(monkeypatch):
    import fusion_model.card

    scored = []
    monkeypatch.setattr(fusion_model.card, "write_card", lambda name, settings: scored.append(settings) or name)
    assert fusion_cli.main(["card", "--name", "fusion-v1"]) == 0
    assert [s.fusion_model_name for s in scored] == ["fusion-v1"]
