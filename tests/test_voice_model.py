"""voice_model: labels, the speaker split, the legacy label mapping and `evaluate --manifest`."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from backend.emotions import EMOTIONS
from backend.voice.models.legacy import to_ours
from voice_model.data import COLLAPSED6, TO_COLLAPSED6, Utterance, read_manifest, speaker_folds, split_speakers
from voice_model.scores import corpus_scores, headline

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = ["path", "corpus", "speaker", "gender", "emotion", "source_label", "intensity", "sentence", "duration_s",
           "sample_rate"]  # fmt: skip


def fake_utterances(corpus: str, n_speakers: int) -> list[Utterance]:
    return [Utterance(Path(f"{corpus}/{s}/{e}.wav"), corpus, f"{corpus}_{s:02d}", "male" if s % 2 else "female",
                      e, e) for s in range(1, n_speakers + 1) for e in EMOTIONS]  # fmt: skip


def test_speaker_split_puts_no_speaker_in_two_splits():
    split = split_speakers(fake_utterances("a", 20) + fake_utterances("b", 7))
    sets = [set(split[name]) for name in ("train", "val", "test")]
    assert not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    assert len(sets[0] | sets[1] | sets[2]) == 27


def test_speaker_split_is_balanced_by_gender_in_each_corpus():
    split = split_speakers(fake_utterances("a", 20))
    assert sum(int(s[-2:]) % 2 for s in split["test"]) == len(split["test"]) // 2


def test_the_shared_manifest_split_has_held_out_test_and_val_actors(shared_data):
    """Every corpus of the manifest has speakers in each split, no speaker is in two, and RAVDESS keeps the split
    its earlier models were scored on (4 test, 2 validation, 14 train actors)."""
    utterances = read_manifest(shared_data / "speech" / "manifest.csv")
    split = split_speakers(utterances)
    corpus_of = {u.speaker: u.corpus for u in utterances}
    for corpus in set(corpus_of.values()):
        counts = {part: sum(corpus_of[s] == corpus for s in speakers) for part, speakers in split.items()}
        assert min(counts.values()) >= 1, (corpus, counts)
    sets = [set(speakers) for speakers in split.values()]
    assert sum(map(len, sets)) == len(set.union(*sets)) == len(corpus_of)
    ravdess = {part: sum(corpus_of[s] == "ravdess" for s in speakers) for part, speakers in split.items()}
    assert ravdess == {"train": 14, "val": 2, "test": 4}


def write_manifest(path: Path, rows: list[dict]) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, COLUMNS)
        writer.writeheader()
        writer.writerows([{c: row.get(c, "") for c in COLUMNS} for row in rows])


def test_calm_is_read_as_neutral(tmp_path):
    write_manifest(tmp_path / "m.csv", [{"path": "x.flac", "corpus": "c", "speaker": "s", "emotion": "calm"}])
    assert read_manifest(tmp_path / "m.csv")[0].emotion == "neutral"


def test_the_6_way_collapse_merges_angry_and_disgust_only():
    merged = [COLLAPSED6[TO_COLLAPSED6[i]] for i in range(len(EMOTIONS))]
    assert merged == ["negative", "negative", "fear", "happy", "neutral", "sad", "surprise"]


def test_legacy_negative_is_split_equally_and_its_unused_output_dropped():
    out = to_ours(np.array([[0.1, 0.4, 0.1, 0.1, 0.1, 0.1, 0.1]]))[0]
    assert out[EMOTIONS.index("angry")] == out[EMOTIONS.index("disgust")] == pytest.approx(0.4 / 0.9 / 2)
    assert out.sum() == pytest.approx(1.0)


def test_evaluate_manifest_prints_the_two_summary_lines(shared_data, tmp_path):
    """FLAC (RAVDESS) and Ogg Opus (ASED) files in one manifest."""
    files = sorted((shared_data / "speech" / "ravdess" / "Actor_08").glob("03-01-0[3-5]-02-01-01-08.flac"))
    assert files
    rows = [{"path": os.path.relpath(f, tmp_path), "corpus": "ravdess", "speaker": "ravdess_08", "gender": "female",
             "emotion": {"03": "happy", "04": "sad", "05": "angry"}[f.name[6:8]]} for f in files]  # fmt: skip
    ased = [u for u in read_manifest(shared_data / "speech" / "manifest.csv") if u.corpus == "ased"][:2]
    rows += [{"path": os.path.relpath(u.path, tmp_path), "corpus": "ased", "speaker": u.speaker, "emotion": u.emotion}
             for u in ased]  # fmt: skip
    files += [u.path for u in ased]
    assert all(p.suffix == ".opus" for p in files[-2:])
    write_manifest(tmp_path / "manifest.csv", rows)
    env = os.environ | {"EMOCLASSIFY_CACHE": str(tmp_path / "cache"), "KERAS_BACKEND": "torch"}
    command = [sys.executable, "-m", "voice_model", "evaluate", "--manifest", str(tmp_path / "manifest.csv")]
    run = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    last = run.stdout.strip().splitlines()[-2:]
    number = r"\d\.\d{4}"
    assert re.fullmatch(rf"accuracy={number} macro_f1={number} uar={number} n={len(files)}", last[0])
    assert re.fullmatch(rf"collapsed6 accuracy={number} macro_f1={number} uar={number} n={len(files)}", last[1])


def test_an_ensemble_of_trained_models_loads_as_one_model_and_averages_their_probabilities(tmp_path):
    from backend.voice import store
    from voice_model.ensemble import combine
    from voice_model.network import predict

    shipped = store.model_dir("voice-cnn-v1")
    for member in ("a", "b"):
        shutil.copytree(shipped, tmp_path / member)
        (tmp_path / member / "model.json").write_text(
            (shipped / "model.json").read_text().replace('"voice-cnn-v1"', f'"{member}"')
        )
    combine("pair", ["a", "b"], root=tmp_path)
    ensemble, meta = store.load("pair", tmp_path)
    single, _ = store.load("a", tmp_path)
    windows = np.random.default_rng(0).standard_normal((3, 200, 40)).astype(np.float32)
    assert set(meta.notes["members"]) == {"a", "b"}
    assert np.allclose(predict(ensemble, windows), predict(single, windows), atol=1e-6)
    assert ensemble.count_params() == 2 * single.count_params()


def test_cross_validation_folds_share_out_each_corpus_and_gender_and_no_speaker_twice():
    utterances = fake_utterances("a", 16) + fake_utterances("b", 8)
    speakers = sorted({u.speaker for u in utterances})
    folds = speaker_folds(utterances, speakers, 4)
    assert sorted(s for fold in folds for s in fold) == speakers
    for fold in folds:
        assert [sum(s.startswith(c) for s in fold) for c in "ab"] == [4, 2]
        assert sum(int(s[-2:]) % 2 for s in fold) == len(fold) // 2  # as many men as women


def test_the_encoder_loss_ignores_classes_the_corpus_never_labels():
    from voice_model.encoder_train import masked_crossentropy

    loss = masked_crossentropy(smoothing=0.1)
    ased = np.array([1, 0, 1, 1, 1, 1, 0], dtype=np.float32)  # no disgust, no surprise
    target = np.concatenate([np.eye(7, dtype=np.float32)[EMOTIONS.index("sad")], ased])[None]
    inside = np.array([[0.1, 0.0, 0.1, 0.1, 0.2, 0.5, 0.0]], dtype=np.float32)
    outside_too = inside * 0.5 + np.array([[0, 0.25, 0, 0, 0, 0, 0.25]], dtype=np.float32)
    a, b = (float(np.asarray(loss(target, p))[0]) for p in (inside, outside_too))
    assert a == pytest.approx(b, rel=1e-5)


def test_the_probe_fit_leaves_classes_no_corpus_labels_untouched_and_separates_the_ones_it_does():
    from voice_model.probe import fit_softmax

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 200)  # a corpus that labels angry and disgust only
    x = rng.standard_normal((200, 5)) + 3 * np.eye(5)[labels]
    mask = np.zeros(7, dtype=np.float32)
    mask[:2] = 1
    targets = np.concatenate([np.eye(7)[labels], np.tile(mask, (200, 1))], axis=1).astype(np.float32)
    kernel, bias = fit_softmax(x, targets, np.ones(200), penalty=0.01)
    assert not kernel[:, 2:].any() and not bias[2:].any()
    assert ((x @ kernel + bias)[:, :2].argmax(1) == labels).mean() > 0.95


def test_the_mean_of_two_saved_cross_validation_runs_scores_their_mean_probabilities_utterance_by_utterance(
    tmp_path, monkeypatch
):
    import voice_model.encoder_train as encoder_train
    from backend.config import get_settings

    utterances = fake_utterances("a", 4) + fake_utterances("b", 2)
    rng = np.random.default_rng(0)
    first, second = rng.dirichlet(np.ones(7), len(utterances)), rng.dirichlet(np.ones(7), len(utterances))
    monkeypatch.setattr(encoder_train, "get_settings", lambda: get_settings().replace(cache_dir=tmp_path))
    monkeypatch.setattr(encoder_train, "read_manifest", lambda: utterances)
    for name, probabilities, order in (("one", first, np.arange(len(utterances))),
                                       ("two", second, rng.permutation(len(utterances)))):  # fmt: skip
        stem = tmp_path / "voice_runs" / name / "crossval-corpus"
        stem.parent.mkdir(parents=True)
        paths = np.array([str(utterances[i].path) for i in order])
        np.savez(stem.with_suffix(".npz"), paths=paths, probabilities=probabilities[order])
    result = encoder_train.crossval_mean(["one", "two"], by_corpus=True, log=lambda line: None)
    by_path = sorted(range(len(utterances)), key=lambda i: str(utterances[i].path))
    expected = headline(corpus_scores([utterances[i] for i in by_path], ((first + second) / 2)[by_path]))
    assert result["n"] == len(utterances) and {k: result[k] for k in expected} == expected


def encoded_windows(utterances: list[Utterance], windows_per_utterance: list[int]):
    from voice_model.encoded import EncodedWindows

    owner = np.repeat(np.arange(len(utterances)), windows_per_utterance)
    lengths = np.full(len(owner), 10)
    frames = np.random.default_rng(0).standard_normal((lengths.sum(), 512)).astype(np.float16)
    return EncodedWindows({3: frames}, np.concatenate([[0], np.cumsum(lengths)]), owner, utterances)


def test_every_corpus_and_class_weighs_the_same_in_encoder_training():
    utterances = [Utterance(Path("a.flac"), "big", "s1", "", "sad", "sad"),
                  Utterance(Path("b.flac"), "big", "s1", "", "angry", "angry"),
                  Utterance(Path("c.opus"), "small", "s2", "", "sad", "sad")]  # fmt: skip
    encoded = encoded_windows(utterances, [6, 2, 1])
    weights = encoded.balance_weights(np.arange(len(encoded)))
    totals = [weights[encoded.utterance_index == i].sum() for i in range(3)]
    assert totals == pytest.approx([totals[0]] * 3)


def three_utterances_in_two_variants():
    from voice_model.encoded import EncodedWindows

    utterances = [Utterance(Path(f"{n}.flac"), "c", f"s{n}", "", "sad", "sad") for n in range(3)]
    clean, fast = [2, 3, 1], [1, 2, 1]  # a sped-up recording is shorter: fewer windows
    owner = np.concatenate([np.repeat(np.arange(3), clean), np.repeat(np.arange(3), fast)])
    variant = np.repeat([0, 1], [sum(clean), sum(fast)])
    frames = np.zeros((10 * len(owner), 512), dtype=np.float16)
    offsets = np.arange(0, 10 * len(owner) + 1, 10)
    return EncodedWindows({3: frames}, offsets, owner, utterances, variant, ("clean", "fast"))


def test_an_encoder_training_epoch_hears_each_utterance_in_one_of_its_variants():
    encoded = three_utterances_in_two_variants()
    for seed in range(5):
        windows = encoded.drawn(np.array([0, 2]), np.random.default_rng(seed))
        owners = encoded.utterance_index[windows]
        assert set(owners.tolist()) == {0, 2}
        for u in (0, 2):
            assert len(set(encoded.variant[windows[owners == u]].tolist())) == 1


def test_held_out_utterances_are_scored_on_their_clean_recording_only():
    encoded = three_utterances_in_two_variants()
    windows = encoded.subset(np.array([1]))
    assert encoded.variant[windows].tolist() == [0, 0, 0] and set(encoded.utterance_index[windows]) == {1}


@pytest.mark.parametrize("head", ["conv", "linear"])
def test_an_encoder_network_saved_and_loaded_gives_the_same_probabilities(head, tmp_path):
    from backend.voice import store
    from backend.voice.head import encoder_head, predict

    model = encoder_head(n_blocks=2, head=head)
    meta = store.ModelMeta(name="tiny", architecture="encoder", encoder_blocks=(2, 3))
    store.save(model, meta, tmp_path)
    loaded, loaded_meta = store.load("tiny", tmp_path)
    frames = np.random.default_rng(0).standard_normal((3, 50, 2, 512)).astype(np.float32)
    assert loaded_meta.encoder_blocks == (2, 3)
    assert np.allclose(predict(loaded, frames), predict(model, frames), atol=1e-6)


@pytest.mark.parametrize("head", ["conv", "linear"])
def test_a_saved_network_comes_with_a_graph_that_gives_its_probabilities_at_any_length(head, tmp_path):
    from backend.onnx_network import OnnxNetwork
    from backend.voice import store
    from backend.voice.head import encoder_head, predict

    model = encoder_head(n_blocks=2, head=head)
    store.save(model, store.ModelMeta(name="tiny", architecture="encoder", encoder_blocks=(2, 3)), tmp_path)
    graph = OnnxNetwork(store.graph_path("tiny", tmp_path))
    rng = np.random.default_rng(0)
    for shape in [(3, 50, 2, 512), (1, 7, 2, 512)]:
        frames = rng.standard_normal(shape).astype(np.float32)
        assert np.allclose(graph(frames), predict(model, frames), atol=1e-5)
