"""Command line: ``python -m backend analyze FILE [options] -o OUTDIR``.

Errors a user can fix end with one line ``error [code]: message`` and exit status 2, never a traceback;
an unexpected failure says so (exit 3) and shows the traceback only with EMOCLASSIFY_DEBUG=1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from .config import DEFAULT_ASR_MODEL
from .errors import EmoClassifyError
from .faces.classifiers.registry import NAMES as FACE_MODEL_NAMES
from .options import MODALITIES, REPORT_FORMATS

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 3


class _Progress:
    """A tqdm bar on a terminal; plain ``[ 40%] stage`` lines (one per stage or 10 %) in logs and pipes."""

    def __init__(self, enabled: bool):
        self._enabled = enabled
        self._bar = None
        self._last: tuple[str, int] | None = None
        if enabled and sys.stderr.isatty():
            from tqdm import tqdm

            self._bar = tqdm(total=100, unit="%", file=sys.stderr, bar_format="{l_bar}{bar}| {elapsed}<{remaining}")

    def __call__(self, stage: str, percent: float) -> None:
        if not self._enabled:
            return
        if self._bar is not None:
            self._bar.set_description(stage)
            self._bar.update(max(0.0, percent - self._bar.n))
            return
        key = (stage, int(percent // 10))
        if key != self._last:
            self._last = key
            print(f"[{percent:3.0f}%] {stage}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="EmoClassify: emotions in media files.")
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="analyse a video, audio or image file")
    analyze.add_argument("file", type=Path)
    analyze.add_argument("-o", "--output", type=Path, help="folder for result.json and artifacts "
                         "(default: emoclassify-output/<file name>)")  # fmt: skip
    sampling = analyze.add_mutually_exclusive_group()
    sampling.add_argument("--sample-fps", type=float, help="frames analysed per second of video (default 5)")
    sampling.add_argument("--frame-step", type=int, help="analyse every Nth decoded frame instead")
    analyze.add_argument("--face-model", choices=FACE_MODEL_NAMES, default=None, help="face classifier (default cnn)")
    analyze.add_argument("--max-frames", type=int, help="stop after this many analysed frames")
    analyze.add_argument("--face-smoothing", type=float, default=0.6,
                         help="seconds of per-face smoothing kept beside the raw probabilities (0: off)")  # fmt: skip
    analyze.add_argument("--face-redetect", type=float, default=1.0,
                         help="seconds between full face detections in video; between, faces are followed "
                              "(0: detect every frame in full)")  # fmt: skip
    analyze.add_argument("--modalities", choices=MODALITIES, default="auto",
                         help="auto (default): faces if there is video, voice if there is audio; "
                         "face / voice / both: only those, an error if the file lacks one")  # fmt: skip
    analyze.add_argument("--voice-model", default="default",
                         help="shipped voice model name, or legacy:PATH for an original-format .h5")  # fmt: skip
    analyze.add_argument("--double-check", action="store_true", help="compare face and voice window by window")
    analyze.add_argument("--echo-mean", action="store_true", help="the whole file's mean emotion, face and voice")
    analyze.add_argument("--fuse", action=argparse.BooleanOptionalAction, default=None,
                         help="fuse face and voice per window with the learned combiner (default: on when both "
                              "modalities run)")  # fmt: skip
    analyze.add_argument("--graph", action="store_true", help="write the timeline graph (timeline.png)")
    analyze.add_argument("--face-thumbnails", action="store_true", help="write face-<id>.png: each face at its "
                         "most confident moment")  # fmt: skip
    analyze.add_argument("--csv", action="store_true", help="write the per-second timeline (timeline.csv)")
    analyze.add_argument("--annotate", action="store_true",
                         help="write annotated.mp4: faces boxed and labelled, voice strip, original audio")  # fmt: skip
    analyze.add_argument("--report", action="store_true", help="write a report (report.pdf, or see --report-format)")
    analyze.add_argument("--report-format", choices=REPORT_FORMATS, default="pdf", help="report format (default pdf)")
    analyze.add_argument("--transcribe", action="store_true",
                         help="transcribe the speech (result.json, transcript.csv, the report)")  # fmt: skip
    analyze.add_argument("--transcribe-focus", action="store_true",
                         help="transcribe, with the voice (and face) emotion of each phrase and word")  # fmt: skip
    analyze.add_argument("--asr-model", default=DEFAULT_ASR_MODEL,
                         help=f"speech recognizer: {DEFAULT_ASR_MODEL} (default, offline, 99 languages), "
                         "pocketsphinx (English only), or whisper:<folder or hub id>")  # fmt: skip
    analyze.add_argument("--language", default=None,
                         help="language of the speech, ISO 639-1 (default: Whisper detects it)")  # fmt: skip
    analyze.add_argument("--json", action="store_true", help="print the result JSON on standard output")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return parser


def _summary_lines(result, output_dir: Path) -> list[str]:
    lines = []
    if result.frames_analysed:
        found = result.summary["frames_with_faces"]
        lines.append(f"analysed {result.frames_analysed} frame(s); faces found in {found}")
    for face in result.summary["faces"]:
        share = face["share_of_time"][face["dominant_emotion"]]
        lines.append(f"  face {face['face_id']}: mostly {face['dominant_emotion']} "
                     f"({share:.0%} of its frames, {face['observations']} observations)")  # fmt: skip
    voice = result.summary.get("voice")
    if voice:
        lines.append(f"voice: {voice['speech_windows']} of {voice['windows']} window(s) with speech"
                     + (f", mostly {voice['dominant_emotion']}" if voice["speech_windows"] else ""))  # fmt: skip
    fused = result.summary.get("fused")
    if fused:
        weight = f", face weight {fused['mean_face_weight']:.0%}" if fused["mean_face_weight"] is not None else ""
        lines.append(f"fused: mostly {fused['dominant_emotion']} over {fused['windows']} window(s) "
                     f"({fused['windows_with_both']} with face and voice{weight})")  # fmt: skip
    if result.double_check and result.double_check["windows_compared"]:
        check = result.double_check
        lines.append(f"double check: face and voice agree in {check['agreement_rate']:.0%} of "
                     f"{check['windows_compared']} window(s); {len(check['disagreements'])} disagree")  # fmt: skip
    for modality, mean in (result.echo_mean or {}).items():
        if mean:
            lines.append(f"echo mean ({modality}): {mean['dominant_emotion']} ({mean['confidence']:.0%})")
    if result.transcript is not None:
        lines.append(f"transcript: {len(result.transcript)} segment(s), "
                     f"{sum(len(s.words) for s in result.transcript)} word(s)")  # fmt: skip
    lines += [f"  warning: {w}" for w in result.warnings]
    lines.append(f"results in {output_dir}/")
    return lines


def _analyze(args: argparse.Namespace) -> int:
    from .config import get_settings
    from .options import AnalysisOptions
    from .pipeline import analyse

    settings = get_settings()
    sample_fps = None if args.frame_step else (args.sample_fps if args.sample_fps is not None else settings.sample_fps)
    options = AnalysisOptions(sample_fps=sample_fps, frame_step=args.frame_step,
                              face_model=args.face_model or settings.face_model, max_frames=args.max_frames,
                              face_smoothing=args.face_smoothing, face_redetect=args.face_redetect,
                              face_thumbnails=args.face_thumbnails,
                              modalities=args.modalities, voice_model=args.voice_model,
                              double_check=args.double_check, echo_mean=args.echo_mean, fuse=args.fuse,
                              make_graph=args.graph, csv=args.csv, annotate_video=args.annotate,
                              report=args.report, report_format=args.report_format,
                              transcribe=args.transcribe or args.transcribe_focus,
                              transcribe_focus=args.transcribe_focus, asr_model=args.asr_model,
                              language=args.language)  # fmt: skip
    output_dir = args.output or Path("emoclassify-output") / args.file.stem
    progress = _Progress(enabled=not args.quiet)
    try:
        result = analyse(args.file, options, on_progress=progress, output_dir=output_dir, settings=settings)
    finally:
        progress.close()
    if args.json:
        print(result.to_json())
    if not args.quiet:
        print("\n".join(_summary_lines(result, output_dir)), file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _analyze(args)
    except EmoClassifyError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if os.environ.get("EMOCLASSIFY_DEBUG") == "1":
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc} (set EMOCLASSIFY_DEBUG=1 for the traceback; "
              "please report it)", file=sys.stderr)  # fmt: skip
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
