"""Speaker diarization (issue 36): DER, speaker count and one-speaker splits on mixtures of held-out speakers, and
the cost of 10 min of two-speaker audio.

Mixtures come from speaker_model/mixtures.py: speakers of one corpus of ../shared's speech manifest, turns of 1-8 s
with pauses and a little overlap. Speakers at even positions of each corpus's sorted list tuned the diarizer
(``python -m speaker_model fit``; ``--part tuning`` scores them); the default scores the others, never used to
tune. DER with a 0.25 s collar, overlapping speech scored (pyannote.metrics). Targets: DER <= 0.12 with two
speakers, <= 0.20 with three or four; the count right on >= 90 % of files; one-speaker files never split; 10 min
diarized in <= 30 s.

    .venv/bin/python bench/bench_diarization.py [--quick] [--part held_out|tuning] [--files 12]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from benchlib import emit

from backend.config import get_settings
from backend.speakers import diarize
from speaker_model.mixtures import SEED_BASE, benchmark_mixtures, diarization_error, make_mixture, pick_speakers


def score(part: str, files: int) -> dict[int, list[tuple[float, int]]]:
    """(DER, speakers found) of each mixture, by its number of speakers."""
    data = get_settings().data_dir
    scores: dict[int, list[tuple[float, int]]] = {}
    for mixture in benchmark_mixtures(data, part, files):
        found = diarize(mixture.signal)
        der = diarization_error(mixture.segments, found.turns)
        scores.setdefault(len(mixture.speakers), []).append((der, len(found.speakers)))
        print(f"{len(mixture.speakers)} speakers {','.join(mixture.speakers)}: found {len(found.speakers)}, "
              f"DER {der:.3f}", flush=True)  # fmt: skip
    return scores


def cost(minutes: float) -> tuple[float, float]:
    """Seconds to diarize ``minutes`` of two-speaker audio fed in 10 s blocks, and the real-time factor."""
    data = get_settings().data_dir
    speakers = pick_speakers(data, "held_out", 2, np.random.default_rng(7))
    signal = make_mixture(data, speakers, minutes * 60, seed=7).signal
    diarize(signal[: 20 * 16_000])  # warm-up: models loaded
    started = time.perf_counter()
    diarize(signal[i : i + 160_000] for i in range(0, len(signal), 160_000))
    seconds = time.perf_counter() - started
    return seconds, seconds / (len(signal) / 16_000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--part", choices=sorted(SEED_BASE), default="held_out")
    parser.add_argument("--files", type=int, default=12, help="mixtures of each number of speakers (1, 2, 3, 4)")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the cost measurement's audio")
    parser.add_argument("--quick", action="store_true", help="one mixture of each kind, 1 min of cost: a smoke run")
    args = parser.parse_args()
    files, minutes = (1, 1.0) if args.quick else (args.files, args.minutes)
    manifest = get_settings().data_dir / "speech" / "manifest.csv"
    if not manifest.is_file():  # the mixtures are made of the shared corpora: nothing to measure without them
        print(f"no speech manifest at {manifest}: diarization not measured")
        emit({"benchmark": "bench_diarization", "skipped": f"no {manifest}"})
        return 0
    scores = score(args.part, files)
    der = {count: float(np.mean([d for d, _ in rows])) for count, rows in scores.items()}
    count_right = float(np.mean([n == count for count, rows in scores.items() for _, n in rows]))
    split_rate = float(np.mean([n > 1 for _, n in scores[1]]))
    der_two, der_many = der[2], float(np.mean([d for count in (3, 4) for d, _ in scores[count]]))
    seconds, rtf = cost(minutes)
    per_ten = seconds * 10 / minutes
    print(f"{args.part} speakers, {files} mixtures of each of 1-4 speakers")
    print(f"DER two speakers {der_two:.3f} (target <= 0.12); three or four {der_many:.3f} (target <= 0.20)")
    print(
        f"speaker count right {count_right:.0%} (target >= 90 %); one-speaker files split {split_rate:.0%} (target 0)"
    )
    print(
        f"{minutes:g} min of two-speaker audio in {seconds:.1f} s: RTF {rtf:.4f}, "
        f"{per_ten:.1f} s per 10 min (target <= 30)"
    )
    emit({"benchmark": "bench_diarization", "part": args.part, "files_per_count": files,
          "der_two_speakers": round(der_two, 4), "der_three_four_speakers": round(der_many, 4),
          "der_by_speakers": {str(k): round(v, 4) for k, v in sorted(der.items())},
          "speaker_count_accuracy": round(count_right, 4), "one_speaker_split_rate": round(split_rate, 4),
          "seconds_per_10_min": round(per_ten, 2), "real_time_factor": round(rtf, 4)})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
