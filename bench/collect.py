"""Run every benchmark and write their figures, beside their targets, into docs/BENCHMARKS.md (``make bench``).

Each script under bench/ runs as its own process (so none inherits another's memory or loaded models), prints
its human-readable figures, and ends with one machine-readable line (benchlib.emit) that this file turns into
a table. The scripts run one after the other so that they do not slow each other down; ``--quick`` runs
small versions of them all at once, as a smoke test of the whole chain (its figures mean nothing).

    .venv/bin/python bench/collect.py [--quick | --full] [--output docs/BENCHMARKS.md]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import psutil
from benchlib import ROOT, read_result

MB_FLAT = 1.10  # "flat memory": the longest file's peak RSS within 10 % of the shortest's


@dataclass
class Outcome:
    """One script's run: its figures, or why there are none."""

    name: str
    seconds: float
    figures: dict | None
    error: str | None = None


def run(name: str, mode: str) -> Outcome:
    command = [sys.executable, str(ROOT / "bench" / f"{name}.py"), *([f"--{mode}"] if mode != "default" else [])]
    # Quick runs share the CPU with each other: one thread each, rather than all spinning on every core.
    env = os.environ | ({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"} if mode == "quick" else {})
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = round(time.monotonic() - started, 1)
    sys.stdout.write(f"== {name} ({seconds:g} s)\n{done.stdout}")
    try:
        return Outcome(name, seconds, read_result(done.stdout))
    except ValueError:
        sys.stdout.write(done.stderr[-3000:])
        return Outcome(name, seconds, None, f"exit code {done.returncode}: {done.stderr.strip()[-600:]}")


def table(header: list[str], rows: list[list]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def growth(rows: list[dict], rss: Callable[[dict], float]) -> float:
    """Peak RSS of the longest run over that of the shortest."""
    ordered = sorted(rows, key=lambda r: r["media_seconds"])
    return rss(ordered[-1]) / rss(ordered[0])


# Each renderer returns (the section's lines, the summary rows: what, figure, target, verdict).
Section = tuple[list[str], list[list[str]]]


def video_section(f: dict) -> Section:
    runs = f["runs"]
    lines = [f"Clips: {f['source']}; 30 fps H.264 + AAC; `sample_fps=5`, `cnn`, faces + voice. Each file analysed",
             "in a fresh process; processing time includes loading the models (shown apart).", ""]  # fmt: skip
    lines += table(["resolution", "media s", "processing s", "real-time factor", "model loading s", "frames analysed",
                    "peak RSS MB"],
                   [[r["resolution"], r["media_seconds"], r["processing_seconds"], r["real_time_factor"],
                     r["model_loading_seconds"], r["frames_analysed"], r["peak_rss_mb"]] for r in runs])  # fmt: skip
    summary = []
    at_720 = [r for r in runs if r["height"] == 720]
    if at_720:
        worst = max(r["real_time_factor"] for r in at_720)
        summary.append(["video real-time factor, 720p (worst length)", f"{worst}", "≤ 0.3", verdict(worst <= 0.3)])
    peak = max(r["peak_rss_mb"] for r in runs)
    summary.append(["video peak RSS (any resolution, length)", f"{peak:.0f} MB", "≤ 1536 MB", verdict(peak <= 1536)])
    fusion = max(r.get("fuse_share", 0.0) for r in runs)
    summary.append(["face + voice fusion, share of the analysis time (worst run)", f"{fusion:.2%}", "< 1 %",
                    verdict(fusion < 0.01)])  # fmt: skip
    for height in sorted({r["height"] for r in runs}):
        same = [r for r in runs if r["height"] == height]
        if len(same) > 1:
            ratio = growth(same, lambda r: r["peak_rss_mb"])
            lengths = f"{min(r['media_seconds'] for r in same):g} s → {max(r['media_seconds'] for r in same):g} s"
            summary.append([f"video memory growth, {height}p, {lengths}", f"×{ratio:.2f}", f"flat (≤ ×{MB_FLAT})",
                            verdict(ratio <= MB_FLAT)])  # fmt: skip
    return lines, summary


def voice_section(f: dict) -> Section:
    lines = [f"{f['audio_seconds'] / 60:g} min of 16 kHz speech ({f['source']}) through "
             f"`backend.voice.analysis.analyse_signal` with `{f['model']}` (2 s windows, 1 s hop), model loaded and "
             "warmed first.", ""]  # fmt: skip
    lines += table(["audio s", "windows", "speech windows", "seconds", "real-time factor", "seconds per 10 min"],
                   [[f["audio_seconds"], f["windows"], f["speech_windows"], f["seconds"], f["real_time_factor"],
                     f["seconds_per_10_min"]]])  # fmt: skip
    per10 = f["seconds_per_10_min"]
    return lines, [["voice, 10 min of audio (Whisper encoder + network)", f"{per10} s", "≤ 30 s", verdict(per10 <= 30)]]


def face_section(f: dict) -> Section:
    lines = [f"The runtime's `cnn` face classifier as an analysis calls it: batches of {f['batch']} faces "
             f"({f['source']}), int8 graph (the model's test-time flip inside where it flips); each run is the "
             f"median of {f['batches']} calls, the slowest run counts.", ""]  # fmt: skip
    rows = [[m["model"], " / ".join(map(str, m["ms_per_face_runs"])), m["ms_per_face"]] for m in f["models"]]
    lines += table(["model", "ms a face per run", "slowest run ms"], rows)
    default = f["models"][0]
    return lines, [[f"face classifier, ms a face in batches of {f['batch']} ({default['model']})",
                    f"{default['ms_per_face']} ms", f"≤ {f['target_ms']} ms",
                    verdict(default["ms_per_face"] <= f["target_ms"])]]  # fmt: skip


def api_section(f: dict) -> Section:
    lines = [f"A real gunicorn (1 worker × 4 threads, as `make run` serves) on loopback: {f['submissions']} "
             f"concurrent submissions of a small photo, then status polls at {f['poll_rate']:g}/s while the jobs run.",
             ""]  # fmt: skip
    lines += table(["accepted", "submit errors", "submit p50 ms", "polls", "poll errors", "p50 ms", "p99 ms", "max ms",
                    "jobs done", "server RSS MB (start → end)"],
                   [[f"{f['accepted']}/{f['submissions']}", f["submit_errors"], f["submit_p50_ms"], f["polls"],
                     f["poll_errors"], f["p50_ms"], f["p99_ms"], f["max_ms"], f["jobs_succeeded"],
                     f"{f['rss_start_mb']} → {f['rss_end_mb']}"]])  # fmt: skip
    ok = f["p99_ms"] < 50 and f["poll_errors"] == 0 and f["submit_errors"] == 0
    return lines, [["API status latency under load, p99", f"{f['p99_ms']} ms", "< 50 ms, no errors", verdict(ok)]]


def scaling_section(f: dict) -> Section:
    rates = f["media_min_per_min"]
    lines = [f"Celery runner, solo-pool workers with {f['threads_per_worker']} thread(s) each, on {f['cpus']} CPUs: "
             f"{f['jobs']} jobs of {f['clip_seconds']:g} s, timed from the first submission to the last job's end.",
             ""]  # fmt: skip
    lines += table(["workers", "media-minutes per minute"], [[count, rate] for count, rate in rates.items()])
    ratio = f["ratio"]
    return lines, [["worker scaling, 2 workers / 1", f"×{ratio}", "≥ ×1.5 (2 cores)", verdict(ratio >= 1.5)]]


def original_section(f: dict) -> Section:
    runs = f["runs"]
    lines = [f"{f['height']}p talking head ({f['source']}); both sides: every 2nd decoded frame, faces only, our `cnn`",
             "classifier as the runtime runs it, int8 (one call per face in the original, so the difference is the",
             "pipeline, not the model),",
             "models loaded and run once before the clock, each side in its own process. See",
             "`bench/original_pipeline.py` for what the re-implementation does and leaves out.", ""]  # fmt: skip

    def row(r: dict) -> list:
        original, ours = r["original"], r["ours"]
        faces = f"{original['frames_with_faces']} / {ours['frames_with_faces']}"
        return [r["media_seconds"], ours["processed_frames"], faces, original["seconds"], ours["seconds"],
                f"×{r['speedup']}", original["peak_rss_mb"], ours["peak_rss_mb"]]  # fmt: skip

    lines += table(["media s", "frames processed", "frames with a face (original / ours)", "original s", "ours s",
                    "speed-up", "original peak RSS MB", "our peak RSS MB"], [row(r) for r in runs])  # fmt: skip
    whole = f["whole_process"]
    lines += ["", f"As a user waits for them, whole processes (interpreter start, imports and model loading included, "
              f"no warm-up) on a {whole['media_seconds']:g} s clip: the original loop {whole['original']} s, our CLI "
              f"{whole['ours']} s, ×{whole['speedup']}."]  # fmt: skip
    slowest = min(r["speedup"] for r in runs)
    summary = [["speed-up over the original pipeline (smallest), models preloaded", f"×{slowest}", "≥ ×10",
                verdict(slowest >= 10)],
               [f"speed-up over the original pipeline, whole processes, {whole['media_seconds']:g} s clip",
                f"×{whole['speedup']}", "≥ ×10", verdict(whole["speedup"] >= 10)]]  # fmt: skip
    if len(runs) > 1:
        ours = growth(runs, lambda r: r["ours"]["peak_rss_mb"])
        original = growth(runs, lambda r: r["original"]["peak_rss_mb"])
        summary.append(["memory growth with length, ours (original)", f"×{ours:.2f} (×{original:.2f})",
                        f"flat (≤ ×{MB_FLAT})", verdict(ours <= MB_FLAT)])  # fmt: skip
    return lines, summary


def startup_section(f: dict) -> Section:
    lines = [f"The CLI as a whole process, as a user runs it, on a {f['media_seconds']:g} s {f['height']}p talking "
             f"head ({f['source']}), faces and voice (the defaults); the median of {f['runs']} fresh processes. The "
             f"floor: a bare interpreter running `{f['floor_imports']}`.", ""]  # fmt: skip
    timings = f["timings"]
    lines += table(["CLI s", "floor s", *(f"{k} s" for k in timings)], [[f["cli_seconds"], f["floor_seconds"],
                                                                         *timings.values()]])  # fmt: skip
    cli, target = f["cli_seconds"], f["target_seconds"]
    return lines, [[f"CLI start to end, {f['media_seconds']:g} s {f['height']}p clip, faces + voice", f"{cli} s",
                    f"≤ {target:g} s", verdict(cli <= target)]]  # fmt: skip


def annotate_section(f: dict) -> Section:
    lines = [f"Annotated video ({f['size']}, {f['media_seconds']:g} s, {f['clip']}) against decoding + encoding the "
             "same video without drawing; the fastest of the runs counts.", ""]  # fmt: skip
    steps = {"decode": "decode (RGB)", "decode_encode": "decode + encode", "annotate": "annotate"}
    lines += table(["step", "seconds", "frames/s"],
                   [[label, f["seconds"][key], f["frames_per_s"][key]] for key, label in steps.items()])  # fmt: skip
    return lines, [["annotated video cost / (decode + encode)", f"×{f['ratio']}", "≤ ×2", verdict(f["ratio"] <= 2)]]


def every_option_section(f: dict) -> Section:
    lines = [f"A {f['media_seconds']:g} s {f['height']}p talking head ({f['source']}) with every option on "
             f"({', '.join(f['options'])}), each run in a fresh process, model loading and artifacts included; "
             "file opens: how many times libav opened the file for reading.", ""]  # fmt: skip
    lines += table(["checkout", "seconds", "peak RSS MB", "file opens"],
                   [[Path(r["checkout"]).name, r["seconds"], r["peak_rss_mb"], r["file_opens"]]
                    for r in f["runs"]])  # fmt: skip
    opens = f["file_opens"]
    summary = [["every option on: file opens per analysis (pictures, sound, annotated video)", opens, "≤ 3",
                verdict(opens <= 3)]]  # fmt: skip
    before = f.get("against")
    if before:  # run --against the code before a change: the change's figures against those, same run
        what = f"every option on, {f['media_seconds']:g} s {f['height']}p"
        summary += [[f"{what}: time (median)", f"{f['seconds']} s", f"≤ {before['seconds']} s (before)",
                     verdict(f["seconds"] <= before["seconds"])],
                    [f"{what}: peak RSS (median)", f"{f['peak_rss_mb']} MB", f"≤ {before['peak_rss_mb']} MB (before)",
                     verdict(f["peak_rss_mb"] <= before["peak_rss_mb"])]]  # fmt: skip
    return lines, summary


TRANSCRIPTION_TARGETS = {"espeak": 0.10, "ravdess": 0.15, "crema": 0.25}  # WER with whisper-base (issue 18)


def transcription_section(f: dict) -> Section:
    lines = [f"Word error rate per set and speed per engine. Speed streams: varied = {f['speed_sources']['varied']} "
             f"(language detected), ravdess = {f['speed_sources']['ravdess']} (two sentences over and over: Whisper "
             "re-decodes such pieces, its hallucination guard, the slow case).", ""]  # fmt: skip
    sets = ("espeak", "ravdess", "crema", "nemo")
    rows = []
    for e in f["engines"]:
        cells = [e["engine"]] + [e[k]["wer"] if e.get(k) else "—" for k in sets]
        cells += [e["nemo"]["detected_polish"] if e.get("nemo") else "—", sum(e["quiet_words"].values())]
        cells += [e[k]["seconds_per_10_min"] if e.get(k) else "—" for k in ("speed_varied", "speed_ravdess")]
        rows.append(cells)
    header = ["engine", "WER espeak-ng", "WER RAVDESS", "WER CREMA-D", "WER nEMO (pl)", "nEMO detected pl",
              "words on silence/tone/noise", "s per 10 min (varied)", "s per 10 min (RAVDESS)"]  # fmt: skip
    lines += table(header, rows)
    whisper = next((e for e in f["engines"] if e["engine"] == "whisper-base"), None)
    if whisper is None:
        return lines, []
    summary = []
    for k, bound in TRANSCRIPTION_TARGETS.items():
        if whisper.get(k):
            summary.append([f"transcription WER {k} (whisper-base)", whisper[k]["wer"], f"≤ {bound}",
                            verdict(whisper[k]["wer"] <= bound)])  # fmt: skip
    speed = whisper["speed_varied"]["seconds_per_10_min"]
    summary.append(["transcription: s per 10 min of speech (whisper-base)", speed, "≤ 180", verdict(speed <= 180)])
    quiet = sum(whisper["quiet_words"].values())
    summary.append(["transcription: words on 60 s silence, tone, noise", quiet, "0", verdict(quiet == 0)])
    return lines, summary


def active_speaker_section(f: dict) -> Section:
    lines = []
    summary = []
    accuracy = f["accuracy"]
    if accuracy is None:
        lines += ["Accuracy skipped: the shared GRID / CREMA-D clips were not found.", ""]
    else:
        lines += [f"{accuracy['videos']} two-person videos (tests/two_person.py: every pair of the GRID speakers and "
                  f"CREMA-D's actor 1001, {accuracy['turns_per_video']} turns each), face pass at 5 fps, known turns; "
                  "speech windows of about 1 s. 'Own evidence': the face whose lips moved most in the window alone.",
                  ""]  # fmt: skip
        lines += table(["mouths read at", "windows", "speaking face right", "own evidence right", "links right"],
                       [[rate, t["windows"], f"{t['accuracy']:.1%}", f"{t['evidence_accuracy']:.1%}",
                         f"{t['links_right']}/{t['links']}"] for rate, t in accuracy["by_rate"].items()])  # fmt: skip
        lines.append("")
        worst = min(t["accuracy"] for t in accuracy["by_rate"].values())
        target = f["accuracy_target"]
        summary.append(["active speaker: speaking face right, share of speech windows (worst rate)", f"{worst:.1%}",
                        f"≥ {target:.0%}", verdict(worst >= target)])  # fmt: skip
    c = f["cost"]
    lines += [f"Cost: the face pass (detection, tracking, crops, `cnn`) on {c['size']}, {c['media_seconds']:g} s "
              f"({c['source']}), without and with the mouth motion; fastest of the runs.", ""]  # fmt: skip
    lines += table(["pass", "wall s", "CPU s", "added (wall)", "added (CPU)"],
                   [["plain", c["seconds"]["plain"], c["cpu_seconds"]["plain"], "", ""]]
                   + [[f"with mouths at {rate}", c["seconds"][rate], c["cpu_seconds"][rate], f"{added:+.1%}",
                       f"{c['added_cpu'][rate]:+.1%}"] for rate, added in c["added"].items()])  # fmt: skip
    worst_cost = max(c["added"].values())
    summary.append([f"active speaker: time added to the face pass, {c['size']} (worst rate)", f"{worst_cost:+.1%}",
                    f"≤ +{f['cost_target']:.0%}", verdict(worst_cost <= f["cost_target"])])  # fmt: skip
    return lines, summary


def diarization_section(f: dict) -> Section:
    if "skipped" in f:
        return [f"Not measured: {f['skipped']} (the mixtures are made of ../shared's speech corpora).", ""], []
    der = f["der_by_speakers"]
    lines = [f"`backend.speakers.diarize` on mixtures of {f['part'].replace('_', '-')} speakers "
             "(speaker_model/mixtures.py), "
             f"{f['files_per_count']} of each of 1-4 speakers; DER, 0.25 s collar, overlap scored.", ""]  # fmt: skip
    lines += table(["DER 1 / 2 / 3 / 4 speakers", "count right", "one-speaker files split", "s per 10 min", "RTF"],
                   [[" / ".join(str(der[k]) for k in sorted(der)), f["speaker_count_accuracy"],
                     f["one_speaker_split_rate"], f["seconds_per_10_min"], f["real_time_factor"]]])  # fmt: skip
    two, many, count = f["der_two_speakers"], f["der_three_four_speakers"], f["speaker_count_accuracy"]
    split, per10 = f["one_speaker_split_rate"], f["seconds_per_10_min"]
    return lines, [
        ["diarization DER, two speakers", two, "≤ 0.12", verdict(two <= 0.12)],
        ["diarization DER, three or four speakers", many, "≤ 0.20", verdict(many <= 0.20)],
        ["diarization: number of speakers right", count, "≥ 0.90", verdict(count >= 0.90)],
        ["diarization: one-speaker files split", split, "0", verdict(split == 0)],
        ["diarization, 10 min of two-speaker audio", f"{per10} s", "≤ 30 s", verdict(per10 <= 30)],
    ]


def real_recordings_section(f: dict) -> Section:
    """Issue #35's figures: measured by level, recorded beside the models for unheard corpora and films."""
    lines = [f"`{f['voice_model']}` on the speech manifest's test speakers, each recording played at the gain shown "
             "and stored as 16-bit (`voice_model/gain.py`)" + (", every 25th recording (quick)" if f["quick"] else "")
             + ".", ""]  # fmt: skip
    levels = f["levels"]
    lines += table(["gain", "mean UAR", "RAVDESS 6-way macro-F1"],
                   [[f"{r['gain_db']:+g} dB", r["mean_uar"], r["ravdess_macro_f1_6"]] for r in levels])  # fmt: skip
    summary = []
    for key, what in (("mean_uar", "mean UAR"), ("ravdess_macro_f1_6", "RAVDESS 6-way macro-F1")):
        values = [r[key] for r in levels]
        if values:
            spread = round(max(values) - min(values), 4)
            summary.append([f"voice by recording level ({levels[0]['gain_db']:+g} to {levels[-1]['gain_db']:+g} dB): "
                            f"{what} spread", spread, "≤ 0.02", verdict(spread <= 0.02)])  # fmt: skip
    lines += [
        "",
        "Faces from films (measured) and the voice on corpora it never heard (recorded by the voice model's "
        "cross-validation; its card says how to reproduce it):",
        "",
    ]
    rows = [[f"voice, held-out corpus {', '.join(run['uar'])} ({run['run']})", f"mean UAR {run['mean_uar']:.3f}"]
            for run in f["unheard_corpora"]]  # fmt: skip
    films = f["films"]
    if films:
        rows.append([f"faces from films never trained on ({f['face_model']}, {films['what']})",
                     f"accuracy {films['accuracy']:.3f}, macro-F1 {films['macro_f1']:.3f}"])  # fmt: skip
        summary.append([f"faces from films never trained on, accuracy ({f['face_model']})",
                        films["accuracy"], "≥ 0.50", verdict(films["accuracy"] >= 0.50)])  # fmt: skip
    for run in f["unheard_corpora"]:
        summary.append([f"voice on unheard corpora, mean UAR (recorded; held out: {', '.join(run['uar'])})",
                        run["mean_uar"], "≥ 0.45", verdict(run["mean_uar"] >= 0.45)])  # fmt: skip
    return lines + table(["what", "figure"], rows), summary


def people_emotions_section(f: dict) -> Section:
    if "skipped" in f:
        return [f"Not measured: {f['skipped']} (the conversations are made of ../shared's speech corpora).", ""], []
    lines = [f"`{f['voice_model']}`'s test speakers, two of one corpus each speaking one emotion: 60 s of conversation "
             "analysed with `speakers=2`, and each speaker's clips of that emotion alone (30 s) with one voice. Right: "
             "the person's dominant voice emotion is the speaker's.", ""]  # fmt: skip
    alone, together = f["right_alone"], f["right_in_conversation"]
    lines += table(["speakers", "right alone", "right in conversation"], [[f["speakers"], alone, together]])
    floor = round(alone - f["target_points"], 4)
    return lines, [["voice emotion per person in conversation (share right)", together,
                    f"≥ {floor} (alone {alone} − {f['target_points']:g})", verdict(together >= floor)]]  # fmt: skip


BENCHMARKS: dict[str, tuple[str, Callable[[dict], Section]]] = {
    "video_throughput": ("Video: real-time factor and peak RSS by resolution and length", video_section),
    "voice_throughput": ("Voice: real-time factor", voice_section),
    "face_classifier": ("Face classifier: time a face", face_section),
    "api_load": ("API latency under load", api_section),
    "scale_workers": ("Worker scaling", scaling_section),
    "original_pipeline": ("Against the original pipeline", original_section),
    "startup": ("Start-up", startup_section),
    "annotate_throughput": ("Annotated video", annotate_section),
    "transcription": ("Transcription: word error rate and speed", transcription_section),
    "every_option": ("Every option on", every_option_section),
    "active_speaker": ("Active speaker: which face speaks", active_speaker_section),
    "bench_diarization": ("Speaker diarization: DER, speaker count, cost", diarization_section),
    "real_recordings": ("Real recordings: level, unheard corpora, films", real_recordings_section),
    "people_emotions": ("Voice emotion per person in a conversation", people_emotions_section),
}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "unknown CPU")  # fmt: skip
    ram = psutil.virtual_memory().total / 2**30
    versions = f"Python {sys.version.split()[0]}, torch {metadata.version('torch')}"
    return f"{cpu}, {os.cpu_count()} cores, {ram:.0f} GB RAM; {versions}"


def commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + (" (with uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else "")


def render(outcomes: list[Outcome], mode: str, started: dt.datetime, minutes: float, loads: tuple[float, float]) -> str:
    command = {"quick": "make bench BENCH_ARGS=--quick", "full": "make bench BENCH_ARGS=--full"}.get(mode, "make bench")
    lines = ["# Benchmarks", "",
             f"Generated by `{command}` (`bench/collect.py`; each script also runs alone, see its docstring).", "",
             f"- Date: {started:%Y-%m-%d %H:%M} UTC; took {minutes:.1f} min",
             f"- Machine: {machine()}",
             f"- Load average (1 min) at start / end: {loads[0]:.1f} / {loads[1]:.1f}",
             f"- Commit: {commit()}",
             f"- Mode: {mode}"]  # fmt: skip
    if mode == "quick":
        lines += ["", "**Quick smoke run**: tiny inputs, all scripts at once. These figures only show that every "
                  "benchmark runs; they are not measurements."]  # fmt: skip
    sections, summary = [], []
    for outcome in outcomes:
        title, section = BENCHMARKS[outcome.name]
        sections += ["", f"## {title}", "", f"`bench/{outcome.name}.py`, {outcome.seconds:g} s.", ""]
        if outcome.figures is None:
            sections += [f"**Failed** ({outcome.error})"]
            summary.append([title, "failed", "", "**not met**"])
            continue
        body, rows = section(outcome.figures)
        sections += body
        summary += rows
    lines += ["", "## Targets", ""] + table(["what", "figure", "target", "verdict"], summary)
    return "\n".join(lines + sections) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small inputs, all at once: a smoke run (< 1 min idle)")
    mode.add_argument("--full", action="store_true", help="also the long inputs (10 min of 720p video)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md")
    args = parser.parse_args()
    name = "quick" if args.quick else "full" if args.full else "default"
    started, clock, load = dt.datetime.now(dt.UTC), time.monotonic(), os.getloadavg()[0]
    if args.quick:
        with ThreadPoolExecutor(max_workers=len(BENCHMARKS)) as pool:
            outcomes = list(pool.map(lambda bench: run(bench, "quick"), BENCHMARKS))
    else:
        outcomes = [run(bench, "full" if args.full and bench == "video_throughput" else "default")
                    for bench in BENCHMARKS]  # fmt: skip
    args.output.parent.mkdir(parents=True, exist_ok=True)
    minutes = (time.monotonic() - clock) / 60
    args.output.write_text(render(outcomes, name, started, minutes, (load, os.getloadavg()[0])), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0 if all(o.figures is not None for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
