"""Voice throughput: 10 min of 16 kHz audio through ``backend.voice.analysis.analyse_signal`` (2 s windows, 1 s hop).

The signal is the shared RAVDESS clips concatenated until it is 10 minutes long (or, without ../shared, noise
bursts), so nearly every window is speech and gets classified. Prints the windows, speech windows, seconds and
the real-time factor (processing time / audio duration), the model loaded and warmed up first. Target on the
2-core CPU (issue 17, the default model over Whisper encoder frames): 10 min in at most 30 s, i.e. RTF <= 0.05.

    .venv/bin/python bench/voice_throughput.py [--quick] [--model default|legacy:PATH] [--minutes 10]
"""

from __future__ import annotations

import argparse
import sys
import time

from benchlib import SAMPLE_RATE, emit, speech_signal

from backend.config import get_settings
from backend.voice.analysis import analyse_signal
from backend.voice.models import get_voice_model


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="30 s of audio: a smoke run")
    args = parser.parse_args()
    minutes = 0.5 if args.quick else args.minutes
    model = get_voice_model(args.model, get_settings())
    signal, source = speech_signal(minutes * 60)
    analyse_signal(signal[: 10 * SAMPLE_RATE], SAMPLE_RATE, model)  # warm-up
    started = time.perf_counter()
    windows = analyse_signal(signal, SAMPLE_RATE, model)
    seconds = time.perf_counter() - started
    duration = len(signal) / SAMPLE_RATE
    speech = sum(w.speech for w in windows)
    print(f"model {model.info.name}; signal {duration / 60:.1f} min from {source}")
    print(f"windows={len(windows)} speech={speech} seconds={seconds:.2f} real_time_factor={seconds / duration:.4f}")
    per_ten_minutes = seconds * 600 / duration
    print(f"that is {per_ten_minutes:.1f} s per 10 min of audio (target <= 30 s)")
    emit({"benchmark": "voice_throughput", "model": model.info.name, "source": source, "audio_seconds": duration,
          "windows": len(windows), "speech_windows": int(speech), "seconds": round(seconds, 2),
          "real_time_factor": round(seconds / duration, 4),
          "seconds_per_10_min": round(per_ten_minutes, 2)})  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
