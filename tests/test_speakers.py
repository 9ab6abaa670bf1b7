"""Speaker diarization (backend.speakers): who speaks when, on conversations built from the shared speech corpora
(speaker_model/mixtures.py) with the truth of how they were built."""

from __future__ import annotations

import numpy as np
import pytest

from backend.speakers import Diarization, diarize
from speaker_model.mixtures import SAMPLE_RATE, diarization_error, make_mixture, speaker_clips, speech_of

# Two held-out speakers of one corpus (odd positions of its sorted list: never used to tune).
TWO = ["ravdess_02", "ravdess_04"]
THREE = ["nemo_EB0", "nemo_SM0", "nemo_WR0"]


@pytest.fixture(scope="module")
def speech_data(shared_data):
    if not (shared_data / "speech" / "manifest.csv").is_file():
        pytest.skip(f"no speech manifest under {shared_data / 'speech'}")
    speaker_clips(shared_data)  # the manifest reads
    return shared_data


@pytest.fixture(scope="module")
def two_speakers(speech_data):
    mixture = make_mixture(speech_data, TWO, 60.0, seed=11)
    return mixture, diarize(mixture.signal)


def test_two_speakers_are_found_as_two(two_speakers):
    _, found = two_speakers
    assert found.speakers == ["S1", "S2"]


def test_two_speaker_turns_match_the_conversation_loosely(two_speakers):
    mixture, found = two_speakers
    assert diarization_error(mixture.segments, found.turns) < 0.3


@pytest.mark.xfail(
    strict=True,
    reason="not met yet (issue 36): the GE2E windows split some single acted speakers, e.g. ravdess_06 in three; "
    "bench/bench_diarization.py split 5 of 12 held-out one-speaker mixtures",
)
def test_one_speaker_is_never_split_in_two(speech_data):
    for seed, speaker in enumerate(["ravdess_06", "ased_f03", "turev_1234"]):
        mixture = make_mixture(speech_data, [speaker], 45.0, seed=seed)
        assert diarize(mixture.signal).speakers == ["S1"], speaker


def test_a_given_number_of_speakers_is_honoured(speech_data):
    mixture = make_mixture(speech_data, THREE, 60.0, seed=5)
    assert diarize(mixture.signal, speakers=3).speakers == ["S1", "S2", "S3"]


def test_blocks_give_the_same_turns_as_the_whole_signal(speech_data):
    signal = make_mixture(speech_data, TWO, 40.0, seed=3).signal
    blocks = (signal[i : i + 12_345] for i in range(0, len(signal), 12_345))
    assert diarize(blocks) == diarize(signal)


def test_turns_are_in_time_order_and_within_the_file(two_speakers):
    mixture, found = two_speakers
    starts = [turn.start for turn in found.turns]
    assert starts == sorted(starts)
    assert all(0 <= turn.start < turn.end <= mixture.duration for turn in found.turns)


def test_silence_has_no_speakers():
    quiet = np.random.default_rng(0).normal(0, 1e-4, 10 * SAMPLE_RATE).astype(np.float32)
    assert diarize(quiet) == Diarization([], [])


@pytest.mark.parametrize("speakers", [0, 11, -1, 2.5, True])
def test_a_number_of_speakers_outside_1_to_10_is_refused(speakers):
    with pytest.raises(ValueError, match="1 to 10"):
        diarize(np.zeros(SAMPLE_RATE, dtype=np.float32), speakers=speakers)


@pytest.mark.parametrize("speakers", [None, 2])
def test_half_a_second_of_speech_is_one_speaker(speech_data, speakers):
    """Too short for a window of its own: one window over it, nothing to group, even where two were asked for."""
    word = speech_of(speaker_clips(speech_data)["ravdess_02"][0])[: SAMPLE_RATE // 2] * 0.1
    silence = np.zeros(2 * SAMPLE_RATE, dtype=np.float32)
    assert diarize(np.concatenate([silence, word, silence]), speakers=speakers).speakers == ["S1"]
