"""Transcription: word error rate per set and speed, for each engine (issue 18).

Sets (none of them used to choose anything in ``backend.transcribe``):

- ``espeak``: six plain English sentences spoken by espeak-ng in two voices (en-us, en-gb) at two speeds (130 and
  170 words a minute), written as espeak-ng writes them: digital silence, no noise added;
- ``ravdess``: the voice model's test actors (never trained on), both statements, every emotion, normal
  intensity, first repetition (64 clips);
- ``crema``: the six shared CREMA-D clips, their sound read from the ``.mp4`` files as an analysis reads it;
- ``nemo``: 24 Polish sentences of the nEMO test actors, language not given: the share detected as Polish and the
  WER against the Polish text (a transcript in the speaker's language, not a translation);
- ``quiet``: 60 s each of digital silence, a 440 Hz tone and white noise: the number of words heard (target 0);
- speed: 10 min of the shared nEMO clips one after another (Polish, 45 different sentences, in file order so that
  neighbours differ), in one stream, language detected, model loaded and warmed first; printed with the share of it
  that is speech by the project's detector. A second stream, the RAVDESS clips of ``voice_throughput``, says only
  two sentences over and over: Whisper takes such text for a hallucination loop (its compression-ratio guard) and
  decodes each 30 s piece up to six times at rising temperatures, so it is printed apart, as the slow case.

Targets with whisper-base (2-core CPU): WER espeak <= 0.10, RAVDESS <= 0.15, CREMA-D <= 0.25; 10 min in <= 180 s;
no word on silence, tone or noise.

    .venv/bin/python bench/transcription.py [--quick] [--engines whisper-base,pocketsphinx]
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from benchlib import SAMPLE_RATE, emit, speech_signal

from backend import media
from backend.config import get_settings
from backend.metrics import word_error_rate
from backend.transcribe import get_transcriber, transcribe_stream
from backend.voice.speech_detection import speech_mask

ESPEAK_SENTENCES = (
    "I would like to know what time the meeting starts tomorrow",
    "Please call me back when you get home tonight",
    "The weather will be cold and windy this weekend",
    "The weather was lovely and we walked along the river",
    "My train leaves at seven from the central station",
    "She bought three apples and a loaf of bread",
)
ESPEAK_VOICES = (("en-us", 130), ("en-us", 170), ("en-gb", 130), ("en-gb", 170))
CREMA_SENTENCE = "Don't forget a jacket"


def espeak_set(folder: Path) -> list[tuple[np.ndarray, str]]:
    espeak = shutil.which("espeak-ng")
    if espeak is None:
        return []
    clips = []
    for voice, speed in ESPEAK_VOICES:
        for i, sentence in enumerate(ESPEAK_SENTENCES):
            path = folder / f"{voice}-{speed}-{i}.wav"
            subprocess.run([espeak, "-v", voice, "-s", str(speed), "-w", str(path), sentence], check=True)
            clips.append((media.read_audio(path), sentence))
    return clips


def _manifest_rows(corpus: str) -> list[dict]:
    manifest = get_settings().data_dir / "speech" / "manifest.csv"
    if not manifest.exists():
        return []
    with manifest.open(encoding="utf-8") as handle:
        return [row for row in csv.DictReader(handle) if row["corpus"] == corpus]


def _test_speakers() -> set[str]:
    from voice_model.data import read_manifest, split_speakers

    return set(split_speakers(read_manifest())["test"])


def ravdess_set() -> list[tuple[np.ndarray, str]]:
    rows = _manifest_rows("ravdess")
    if not rows:
        return []
    test = _test_speakers()
    data = get_settings().data_dir / "speech"
    first_take = [r for r in rows if r["speaker"] in test and Path(r["path"]).stem.split("-")[5] == "01"]
    chosen = [r for r in first_take if r["intensity"] == "normal"]
    return [(media.read_audio(data / r["path"]), r["sentence"]) for r in chosen]


def crema_set() -> list[tuple[np.ndarray, str]]:
    clips = sorted((get_settings().data_dir / "video").glob("1001_DFA_*_XX.mp4"))
    return [(media.read_audio(path), CREMA_SENTENCE) for path in clips]


def nemo_set(count: int) -> list[tuple[np.ndarray, str]]:
    rows = _manifest_rows("nemo")
    if not rows:
        return []
    test = _test_speakers()
    data = get_settings().data_dir / "speech"
    spoken = [r for r in rows if r["speaker"] in test]
    chosen = spoken[:: max(1, len(spoken) // count)][:count]  # spread over the actors and emotions
    return [(media.read_audio(data / r["path"]), r["sentence"]) for r in chosen]


def varied_speech(seconds: float) -> tuple[np.ndarray, str]:
    """``seconds`` of nEMO clips one after another (file order: consecutive clips say different sentences); the
    RAVDESS stream without the shared corpus."""
    import soundfile

    rows = sorted(_manifest_rows("nemo"), key=lambda r: r["path"])
    if not rows:
        return speech_signal(seconds)
    data, parts, length = get_settings().data_dir / "speech", [], 0
    for row in rows:
        clip, _ = soundfile.read(str(data / row["path"]), dtype="float32")
        parts.append(clip)
        length += len(clip)
        if length >= seconds * SAMPLE_RATE:
            break
    return np.concatenate(parts)[: int(seconds * SAMPLE_RATE)], f"{len(parts)} nEMO clips"


def quiet_set(seconds: float) -> list[tuple[str, np.ndarray]]:
    n = int(seconds * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    return [("silence", np.zeros(n, np.float32)),
            ("tone", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)),
            ("noise", np.random.default_rng(0).normal(0, 0.1, n).astype(np.float32))]  # fmt: skip


def score(transcriber, clips: list[tuple[np.ndarray, str]], language: str | None) -> dict | None:
    if not clips:
        return None
    rates, languages, started = [], [], time.perf_counter()
    for signal, sentence in clips:
        transcript = transcriber.transcribe(signal, language)
        heard = " ".join(s.text for s in transcript.segments)
        rates.append(word_error_rate(sentence, heard))
        languages.append(transcript.language)
        if rates[-1] > 0:
            print(f"  '{sentence}' -> '{heard}' (WER {rates[-1]:.2f}, {transcript.language})")
    return {"clips": len(clips), "wer": round(float(np.mean(rates)), 3),
            "seconds": round(time.perf_counter() - started, 1), "languages": languages}  # fmt: skip


def engine_figures(name: str, sets: dict, streams: dict[str, tuple[np.ndarray, str | None]]) -> dict:
    transcriber = get_transcriber(name)
    transcriber.transcribe(streams["varied"][0][: 5 * SAMPLE_RATE])  # loaded and warmed
    figures: dict = {"engine": name, "model": transcriber.info.to_dict()}
    for set_name in ("espeak", "ravdess", "crema"):
        print(f"{name} / {set_name}:")
        figures[set_name] = score(transcriber, sets[set_name], "en")
    if name != "pocketsphinx":
        print(f"{name} / nemo (language detected):")
        nemo = score(transcriber, sets["nemo"], None)
        if nemo:
            nemo["detected_polish"] = round(float(np.mean([code == "pl" for code in nemo.pop("languages")])), 3)
        figures["nemo"] = nemo
    for set_name in ("espeak", "ravdess", "crema"):
        if figures[set_name]:
            figures[set_name].pop("languages")
    figures["quiet_words"] = {what: sum(len(s.words) for s in transcriber.transcribe(signal).segments)
                              for what, signal in sets["quiet"]}  # fmt: skip
    for stream, (signal, language) in streams.items():
        started = time.perf_counter()
        chunks = (signal[i : i + 5 * SAMPLE_RATE] for i in range(0, len(signal), 5 * SAMPLE_RATE))
        transcript = transcribe_stream(transcriber, chunks, language)
        seconds = time.perf_counter() - started
        minutes = len(signal) / SAMPLE_RATE / 60
        figures[f"speed_{stream}"] = {"audio_minutes": round(minutes, 2), "seconds": round(seconds, 1),
                                      "seconds_per_10_min": round(seconds * 10 / minutes, 1),
                                      "words": sum(len(s.words) for s in transcript.segments),
                                      "language": transcript.language}  # fmt: skip
        print(f"{name} on the {stream} stream: {minutes:.1f} min in {seconds:.1f} s "
              f"({figures[f'speed_{stream}']['seconds_per_10_min']} s per 10 min), "
              f"{figures[f'speed_{stream}']['words']} words")  # fmt: skip
    print(f"{name}: words on silence / tone / noise {figures['quiet_words']}")
    for set_name in ("espeak", "ravdess", "crema", "nemo"):
        if figures.get(set_name):
            print(f"{name}: {set_name} WER {figures[set_name]['wer']} over {figures[set_name]['clips']} clips")
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="whisper-base,pocketsphinx")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--quick", action="store_true", help="a few clips and 30 s of audio: a smoke run")
    args = parser.parse_args()
    minutes = 0.5 if args.quick else args.minutes
    with tempfile.TemporaryDirectory() as folder:
        sets = {"espeak": espeak_set(Path(folder)), "ravdess": ravdess_set(), "crema": crema_set(),
                "nemo": nemo_set(24), "quiet": quiet_set(5 if args.quick else 60)}  # fmt: skip
    if args.quick:
        sets = {name: clips[:2] for name, clips in sets.items()}
    (varied, varied_source), (repeated, repeated_source) = varied_speech(minutes * 60), speech_signal(minutes * 60)
    sources = {"varied": varied_source, "ravdess": repeated_source}
    for stream, signal in (("varied", varied), ("ravdess", repeated)):
        share = float(np.mean(speech_mask(signal, SAMPLE_RATE)))
        print(f"{stream} stream: {minutes:g} min from {sources[stream]}, {share:.0%} of its 2 s windows speech")
    # language not given on the varied stream: Whisper detects it; PocketSphinx hears English in it (a speed figure)
    streams = {"varied": (varied, None), "ravdess": (repeated, "en")}
    # PocketSphinx takes 6-8 min for each 10 min stream: one stream is enough for its speed
    engines = [engine_figures(name, sets, streams if name != "pocketsphinx" else {"varied": streams["varied"]})
               for name in args.engines.split(",")]  # fmt: skip
    emit({"benchmark": "transcription", "speed_sources": sources, "engines": engines})
    return 0


if __name__ == "__main__":
    sys.exit(main())
