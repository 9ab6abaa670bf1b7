"""Active speaker detection (issue #36): how often the speaking face is found, and what reading the mouths costs.

Accuracy: two people side by side taking turns (tests/two_person.py: the four GRID speakers and CREMA-D's actor
1001 of ../shared, every pair, eight turns each, the truth from how the video was made), through a face pass at
5 fps, the mouth motion and ``backend.people.active_speaker.find_active_speakers`` with the known turns. Each turn
is cut into speech windows of about 1 s; a window is right when the face it names is the speaker's. Two ways of
reading the mouths: on the face pass's own frames (5 fps) and at 12.5 fps (the frames between reuse the last
boxes). Beside it, the window's own evidence: the face whose lips moved most in that window alone.

Cost: a 720p talking head (benchlib.talking_head, 30 s) through the face pass as the analysis runs it (MTCNN
followed between full detections, tracking, aligned crops, the ``cnn`` classifier in batches of 16), without and
with the mouth motion; the fastest of three runs of each counts (run in turns, alternating the order), in
wall-clock time and in this process's CPU time (steadier where other work shares the machine). Targets: the
speaking face right on >= 90 % of speech windows; the mouths add <= 25 % to the face pass.

    .venv/bin/python bench/active_speaker.py [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sys
import tempfile
import time
from pathlib import Path

from benchlib import emit, talking_head

MOUTH_RATES = {"5 fps (face pass frames)": None, "12.5 fps": 12.5}
SCRIPT = [0, 1, 0, 1, 1, 0, 0, 1]
ACCURACY_TARGET, COST_TARGET = 0.90, 0.25
BATCH = 16
ROUNDS = {True: 1, False: 3}  # of each face pass, quick or not; the fastest counts


def people(quick: bool) -> list:
    """The people of the two-person videos (none without ../shared)."""
    from two_person import person

    from backend.config import get_settings

    clips = get_settings().data_dir / "video"
    grid = [person(path.stem.removeprefix("grid_"), [path]) for path in sorted(clips.glob("grid_*.mpg"))]
    crema = sorted(clips.glob("1001_DFA_*_XX.mp4"))
    found = grid + ([person("crema_1001", crema)] if crema else [])
    return found[:2] if quick else found


def accuracy(folder: Path, cast: list) -> dict:
    from two_person import make_talking_heads, watch

    from backend.people.active_speaker import find_active_speakers

    totals = {rate: {"windows": 0, "right": 0, "evidence_right": 0, "links_right": 0, "links": 0}
              for rate in MOUTH_RATES}  # fmt: skip
    pairs = list(itertools.combinations(cast, 2))
    for k, pair in enumerate(pairs):
        video = make_talking_heads(folder / f"pair-{k}.mp4", pair, SCRIPT)
        for rate, fps in MOUTH_RATES.items():
            watched = watch(video.path, mouth_fps=fps)
            found = find_active_speakers(watched.signals, video.turns)
            truth = {face_id: video.speaker_at(x) for face_id, x in watched.centres.items()}
            tally = totals[rate]
            tally["windows"] += len(found.windows)
            tally["right"] += sum(w.face_id is not None and truth[w.face_id] == w.speaker_id for w in found.windows)
            tally["evidence_right"] += sum(w.most_moving_face is not None and truth[w.most_moving_face] == w.speaker_id
                                           for w in found.windows)  # fmt: skip
            tally["links"] += len(video.speakers)
            tally["links_right"] += sum(truth[link.face_id] == link.speaker_id for link in found.links)
            links = ", ".join(f"{truth[link.face_id]}'s face -> {link.speaker_id} ({link.correlation:.2f})"
                              for link in found.links)  # fmt: skip
            print(f"{' + '.join(video.speakers)}, mouths at {rate}: {links}")
    for tally in totals.values():
        tally["accuracy"] = round(tally["right"] / max(1, tally["windows"]), 3)
        tally["evidence_accuracy"] = round(tally["evidence_right"] / max(1, tally["windows"]), 3)
    return {"videos": len(pairs), "turns_per_video": len(SCRIPT), "by_rate": totals}


def cost(folder: Path, quick: bool) -> dict:
    from two_person import watch

    from backend import media
    from backend.config import get_settings
    from backend.faces.align import aligned_crop
    from backend.faces.classifiers import get_classifier

    clip, source = talking_head(folder, 480 if quick else 720, 3.0 if quick else 30.0)
    classifier = get_classifier("cnn", get_settings())
    crops: list = []
    sizes: list[float] = []

    def classify(frame: media.Frame, faces: list) -> None:
        crops.extend(aligned_crop(frame.image, face.box) for face in faces)
        sizes.extend(min(face.box.width, face.box.height) for face in faces)
        if len(crops) >= BATCH:
            classifier.predict(crops, sizes)
            crops.clear()
            sizes.clear()

    def face_pass(mouths: bool, fps: float | None) -> tuple[float, float]:
        """Wall-clock and CPU seconds of one face pass."""
        wall, cpu = time.perf_counter(), time.process_time()
        watch(clip, mouth_fps=fps, mouths=mouths, on_faces=classify)
        if crops:
            classifier.predict(crops, sizes)
            crops.clear()
            sizes.clear()
        return time.perf_counter() - wall, time.process_time() - cpu

    face_pass(False, None)  # warm-up: models loaded, caches filled
    passes = {"plain": (False, None), **{rate: (True, fps) for rate, fps in MOUTH_RATES.items()}}
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in passes}
    for round_ in range(ROUNDS[quick]):
        order = list(passes) if round_ % 2 == 0 else list(reversed(passes))  # neither side always runs first
        for name in order:
            runs[name].append(face_pass(*passes[name]))
    wall = {name: round(min(w for w, _ in seconds), 2) for name, seconds in runs.items()}
    cpu = {name: round(min(c for _, c in seconds), 2) for name, seconds in runs.items()}
    info = media.probe(clip)
    return {
        "source": source,
        "size": f"{info.width}x{info.height}",
        "media_seconds": round(info.duration, 1),
        "seconds": wall,
        "cpu_seconds": cpu,
        "added": {rate: round(wall[rate] / wall["plain"] - 1, 3) for rate in MOUTH_RATES},
        "added_cpu": {rate: round(cpu[rate] / cpu["plain"] - 1, 3) for rate in MOUTH_RATES},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one pair, a 3 s 480p clip: a smoke run")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="emoclassify-bench-asd-"))
    try:
        figures = {"benchmark": "active_speaker", "mode": "quick" if args.quick else "default",
                   "accuracy_target": ACCURACY_TARGET, "cost_target": COST_TARGET}  # fmt: skip
        cast = people(args.quick)
        figures["accuracy"] = accuracy(folder, cast) if len(cast) >= 2 else None
        figures["cost"] = cost(folder, args.quick)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if figures["accuracy"] is None:
        print("accuracy: skipped, the shared GRID / CREMA-D clips are not there")
    else:
        for rate, tally in figures["accuracy"]["by_rate"].items():
            print(f"mouths at {rate}: speaking face right on {tally['right']}/{tally['windows']} windows "
                  f"({tally['accuracy']:.1%}); the window's own evidence {tally['evidence_accuracy']:.1%}; links "
                  f"{tally['links_right']}/{tally['links']}")  # fmt: skip
    c = figures["cost"]
    print(f"cost on {c['size']} {c['media_seconds']} s ({c['source']}): face pass {c['seconds']['plain']} s; "
          + "; ".join(f"with mouths at {rate} {added:+.1%} (CPU time {c['added_cpu'][rate]:+.1%})"
                      for rate, added in c["added"].items()))  # fmt: skip
    emit(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
