"""Command line: ``python -m backend analyze FILE [options] -o OUTDIR``.

Errors a user can fix end with one line ``error [code]: message`` and exit status 2, never a traceback;
an unexpected failure says so (exit 3) and shows the traceback only with EMOCLASSIFY_DEBUG=1.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from dataclasses import asdict, fields
from pathlib import Path

from .captions import by_mean, describe_person
from .config import SettingError, Settings, base_type, field_type, get_settings
from .errors import EmoClassifyError
from .options import AnalysisOptions, load_default_options, with_choices

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


def _option_arguments(parser: argparse.ArgumentParser, defaults: AnalysisOptions) -> None:
    """One argument per analysis option, from its declaration; each defaults to None so that only what the user
    gave overrides the settings' defaults."""
    for item in fields(AnalysisOptions):
        kind, _ = base_type(field_type(AnalysisOptions, item))
        flag = item.metadata.get("flag") or "--" + item.name.replace("_", "-")
        default = getattr(defaults, item.name)
        shown = f" (default: {default})" if default is not None and default is not False else ""
        if kind is bool:
            action = "store_true" if item.default is False else argparse.BooleanOptionalAction
            parser.add_argument(flag, dest=item.name, action=action, default=None, help=item.metadata["help"] + shown)
        else:
            reader = _number_or_word(kind, item.metadata["words"]) if item.metadata["words"] else kind
            parser.add_argument(flag, dest=item.name, type=reader, choices=item.metadata["choices"], default=None,
                                help=item.metadata["help"] + shown)  # fmt: skip


def _number_or_word(kind: type, words: tuple[str, ...]):
    """An argument reader for a number that also takes a few words (``--speakers 3`` or ``--speakers auto``)."""

    def read(text: str):
        return text.lower() if text.lower() in words else kind(text)

    read.__name__ = f"{kind.__name__} or {' or '.join(words)}"  # what argparse calls the value it could not read
    return read


def _parser(defaults: AnalysisOptions) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backend", description="EmoClassify: emotions in media files.")
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser("analyze", help="analyse a video, audio or image file")
    analyze.add_argument("file", type=Path)
    analyze.add_argument("-o", "--output", type=Path, help="folder for result.json and artifacts "
                         "(default: emoclassify-output/<file name>)")  # fmt: skip
    _option_arguments(analyze, defaults)
    analyze.add_argument("--json", action="store_true", help="print the result JSON on standard output")
    analyze.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    return parser


def _summary_lines(result, output_dir: Path) -> list[str]:
    lines = []
    if result.frames_analysed:
        found = result.summary["frames_with_faces"]
        lines.append(f"analysed {result.frames_analysed} frame(s); faces found in {found}")
    for face in result.summary["faces"]:
        lines.append(f"  face {face['face_id']}: {by_mean(face)}, {face['observations']} observations")
    voice = result.summary.get("voice")
    if voice:
        lines.append(f"voice: {voice['speech_windows']} of {voice['windows']} window(s) with speech"
                     + (f", {by_mean(voice)}" if voice["speech_windows"] else ""))  # fmt: skip
    fused = result.summary.get("fused")
    if fused:
        weight = f", face weight {fused['mean_face_weight']:.0%}" if fused["mean_face_weight"] is not None else ""
        lines.append(f"fused: {by_mean(fused)} over {fused['windows']} window(s) "
                     f"({fused['windows_with_both']} with face and voice{weight})")  # fmt: skip
    if result.double_check and result.double_check["windows_compared"]:
        check = result.double_check
        lines.append(f"double check: face and voice agree in {check['agreement_rate']:.0%} of "
                     f"{check['windows_compared']} window(s); {len(check['disagreements'])} disagree")  # fmt: skip
    for modality, mean in (result.echo_mean or {}).items():
        if mean:
            lines.append(f"echo mean ({modality}): {mean['dominant_emotion']} ({mean['confidence']:.0%})")
    if len(result.people) > 1:
        lines += [f"  person {person.person_id}: {describe_person(asdict(person))}" for person in result.people]
    if result.transcript is not None:
        lines.append(f"transcript: {len(result.transcript)} segment(s), "
                     f"{sum(len(s.words) for s in result.transcript)} word(s)")  # fmt: skip
    lines += [f"  warning: {w}" for w in result.warnings]
    lines.append(f"results in {output_dir}/")
    return lines


def _analyze(args: argparse.Namespace, settings: Settings, defaults: AnalysisOptions) -> int:
    from .pipeline import analyse

    given = {item.name: getattr(args, item.name) for item in fields(AnalysisOptions)}
    options = with_choices(defaults, {key: value for key, value in given.items() if value is not None})
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
    try:
        settings, defaults = get_settings(), load_default_options()
    except SettingError as exc:
        print(f"error [invalid_setting]: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    args = _parser(defaults).parse_args(argv)
    try:
        return _analyze(args, settings, defaults)
    except EmoClassifyError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, not a traceback
        if settings.debug:
            traceback.print_exc()
        print(f"internal error: {type(exc).__name__}: {exc} (set EMOCLASSIFY_DEBUG=1 for the traceback; "
              "please report it)", file=sys.stderr)  # fmt: skip
        return EXIT_INTERNAL_ERROR


if __name__ == "__main__":
    sys.exit(main())
