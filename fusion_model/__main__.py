"""``python -m fusion_model fit|card|graph``: cross-validate the two fusion recipes, keep one by the rule below and
refit it on all pairs (``fit``, which also writes the graph the runtime runs); score the shipped combiner on the
shared CREMA-D clips through the whole pipeline and write its card (``card``); write a folder's ``combiner.onnx``
from its ``combiner.json`` (``graph``).

The rule (fusion-v1's, fixed before its run, had only the first and the last step with biases always on; this one
was fixed before the second run, which kept fusion-v1's recipe and name, after fusion-v1's class biases had shown a
pull towards angry on the CREMA-D clips): start from ``constant`` (one weight per modality, no class biases); add
the class biases if they lower the held-out class-balanced NLL, averaged over the two folds, by at least 0.01
nats; then add the reliability gates if they lower it by at least 0.01 nats again. Each part is kept only if it
earns its margin. The third run (fusion-v2, fixed before it) kept the rule and changed the pairs: their faces pass
through a codec at their size in the frame (``face_model.video_views.CODEC_QUALITY``), as a video's small faces
do. The fourth (fusion-v3, fixed before it) kept the rule, took the evidence from the runtime's current face
model and dealt speakers and faces into four folds instead of two: each combiner is fitted on three and scored on
the fourth, and the held-out windows of all folds are also scored together (``pooled``), the figure the ECE target
is judged on. The fifth (fusion-v4) refitted fusion-v3's recipe (``--recipe constant+bias``, as the face model's
step seven fixed before it) on the evidence of the face classifier that reads small faces with a second network;
the sixth (fusion-v5) refitted it again on the evidence of the full-size network ``cnn-v3-r`` (its step eight).
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

from backend.config import DEFAULT_FUSION_MODEL, get_settings
from backend.fusion.combiner import COMBINER_FILE

from .combiner import Combiner, write_graph
from .evidence import FOLDS, face_evidence, voice_evidence
from .fit import LAB_ONLY, MARGIN, RECIPES, fit, fused_probabilities, product_probabilities, scores
from .out_of_domain import out_of_domain_pairs
from .pairs import Pairs, concatenate, make_pairs


def _scored(held_out: Pairs) -> dict:
    return {"face": scores(held_out.face, held_out), "voice": scores(held_out.voice, held_out),
            "product": scores(product_probabilities(held_out), held_out)}  # fmt: skip


def _crossval(settings, out_of_domain: bool) -> tuple[dict, list[Pairs]]:
    """Each fold scored by combiners fitted on the other folds: of the lab pairs and, with ``out_of_domain``, of the
    out-of-domain pairs too (both sets' held-out figures reported apart). Returns the report and every pair."""
    voice, faces = voice_evidence(settings), face_evidence(settings)
    sets = {"lab": [make_pairs(voice, faces, k) for k in range(FOLDS)]}
    if out_of_domain:
        sets["out_of_domain"] = out_of_domain_pairs(settings)
    reports: dict[str, dict] = {name: {"folds": []} for name in sets}
    out_of_fold: dict[str, dict[str, list[np.ndarray]]] = {name: {} for name in sets}
    for k in range(FOLDS):
        train = concatenate([pairs for folds in sets.values() for j, pairs in enumerate(folds) if j != k])
        combiners = {recipe: fit(train, *parts) for recipe, parts in RECIPES.items()}
        if out_of_domain:
            combiners[LAB_ONLY] = fit(
                concatenate([p for j, p in enumerate(sets["lab"]) if j != k]), *RECIPES["constant+bias"]
            )
        for name, folds in sets.items():
            held_out = folds[k]
            if not len(held_out.label):
                continue  # no speaker of this set in the fold
            fold = {"fit_windows": len(train.label), "held_out": _scored(held_out)}
            for recipe, combiner in combiners.items():
                probabilities, face_share = fused_probabilities(combiner, held_out)
                out_of_fold[name].setdefault(recipe, []).append(probabilities)
                fold["held_out"][recipe] = scores(probabilities, held_out) | {
                    "mean_face_share": round(float(face_share.mean()), 4)
                }
            reports[name]["folds"].append(fold)
            print(json.dumps({"pairs": name, "fold": k, **fold["held_out"]}), file=sys.stderr, flush=True)
    for name, folds in sets.items():
        every = concatenate(folds)
        reports[name]["pooled"] = _scored(every) | {
            recipe: scores(np.concatenate(parts), every) for recipe, parts in out_of_fold[name].items()
        }
    mean_nll = {recipe: float(np.mean([f["held_out"][recipe]["balanced_nll"] for r in reports.values()
                                       for f in r["folds"]])) for recipe in RECIPES}  # fmt: skip
    report = reports["lab"] | ({"out_of_domain": reports["out_of_domain"]} if out_of_domain else {})
    report["mean_balanced_nll"] = {recipe: round(value, 4) for recipe, value in mean_nll.items()}
    report["chosen"] = _chosen(mean_nll)
    report["rule"] = (f"from constant, add class biases, then reliability gates, each only if it lowers the mean "
                      f"held-out balanced NLL (over the folds{' of both pair sets' if out_of_domain else ''}) by "
                      f">= {MARGIN} nats")  # fmt: skip
    return report, [pairs for folds in sets.values() for pairs in folds]


def _chosen(mean_nll: dict[str, float]) -> str:
    def earns(candidate: str, current: str) -> bool:
        return mean_nll[candidate] <= mean_nll[current] - MARGIN

    biased = earns("constant+bias", "constant")
    chosen = "constant+bias" if biased else "constant"
    gated = "gated+bias" if biased else "gated"
    return gated if earns(gated, chosen) else chosen


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fusion_model", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("fit", "cross-validate the recipes, keep one by the rule, refit it on all pairs"),
                       ("card", "score the shipped combiner on the CREMA-D clips and write its card"),
                       ("graph", "write combiner.onnx, which the runtime runs, from combiner.json")):  # fmt: skip
        command = commands.add_parser(name, help=text)
        command.add_argument("--name", default=DEFAULT_FUSION_MODEL)
        if name == "fit":
            command.add_argument(
                "--lab-only",
                action="store_true",
                help="fit on the lab pairs alone, as fusion-v5 and earlier were (without the out-of-domain pairs)",
            )
            command.add_argument("--recipe", choices=RECIPES, help="refit this recipe, as a rule fixed it before the "
                                 "run, instead of the one this rule keeps (every recipe is still scored)")  # fmt: skip
    args = parser.parse_args(argv)
    settings = get_settings().replace(fusion_model_name=args.name)  # the card scores this combiner, not the default
    folder = settings.fusion_model_dir / args.name
    if args.command == "fit":
        report, folds = _crossval(settings, not args.lab_only)
        if args.recipe:
            report["given"] = args.recipe
        combiner = fit(concatenate(folds), *RECIPES[report.get("given", report["chosen"])])
        folder.mkdir(parents=True, exist_ok=True)
        (folder / COMBINER_FILE).write_text(json.dumps(combiner.to_json(), indent=1) + "\n")
        write_graph(combiner, folder)
        (folder / "crossval.json").write_text(json.dumps(report, indent=1) + "\n")
        print(f"refitted: {report.get('given', report['chosen'])}; the rule's choice: {report['chosen']} "
              f"(mean held-out NLL {report['mean_balanced_nll']}); wrote {folder}")  # fmt: skip
        return 0
    if args.command == "graph":
        combiner = Combiner.from_json(json.loads((folder / COMBINER_FILE).read_text()))
        print(f"wrote {write_graph(combiner, folder)}")
        return 0
    from .card import write_card

    print(write_card(args.name, settings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
