"""``python -m voice_model train|evaluate|ensemble|export``: train the voice CNN on the speech manifest, score a
model on the held-out speakers (writes its card) or on any manifest, average trained models into one, or export a
trained run's best checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .store import DEFAULT_NAME
from .train import TrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train a model on the train speakers (selected on the val speakers)")
    t.add_argument("--name", default=None, help="model name (default voice-cnn-v1, or voice-baseline)")
    t.add_argument(
        "--architecture",
        choices=("improved", "baseline"),
        default="improved",
        help="baseline = the original recipe (fixed 225 frames, no augmentation, no class weights)",
    )
    t.add_argument("--epochs", type=int)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--norm", choices=("cmvn", "cmn", "none"))
    t.add_argument("--crops-per-file", type=int)
    t.add_argument("--seed", type=int)
    t.add_argument("--threads", type=int)
    t.add_argument("--variants", help="comma-separated cached augmentation variants (default: clean,slow,fast)")
    t.add_argument("--no-spec-augment", action="store_true")
    t.add_argument(
        "--refit",
        action="store_true",
        help="the final fit: train + val speakers, --epochs fixed beforehand, the last epoch kept",
    )
    e = commands.add_parser("evaluate", help="score a model on the held-out speakers (writes its card) or --manifest")
    e.add_argument("--name", default=DEFAULT_NAME)
    e.add_argument("--manifest", type=Path, help="a CSV with the speech manifest's columns; prints two summary lines")
    e.add_argument("--no-reference", action="store_true", help="skip seed_model3.h5 in the card")
    n = commands.add_parser("ensemble", help="save one model averaging the probabilities of trained models")
    n.add_argument("--name", required=True, help="the ensemble's model name")
    n.add_argument("--members", required=True, help="comma-separated names of models in voice_model/models")
    x = commands.add_parser("export", help="copy a run's best checkpoint from the cache into voice_model/models")
    x.add_argument("--name", default=DEFAULT_NAME)
    args = parser.parse_args(argv)
    if args.command == "train":
        given = {
            "epochs": args.epochs,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "norm": args.norm,
            "crops_per_file": args.crops_per_file,
            "seed": args.seed,
            "name": args.name,
            "threads": args.threads,
        }
        changes = {k: v for k, v in given.items() if v is not None}
        if args.variants:
            changes["variants"] = tuple(args.variants.split(","))
        if args.no_spec_augment:
            changes["spec_augment"] = False
        if args.refit:
            changes["refit"] = True
        config = TrainConfig.baseline(**changes) if args.architecture == "baseline" else TrainConfig(**changes)
        from .train import train

        print(f"model written to {train(config, log=lambda line: print(line, flush=True))}")
    elif args.command == "evaluate":
        from .evaluate import score_manifest, write_card

        if args.manifest:
            for line in score_manifest(args.name, args.manifest):
                print(line)
        else:
            print(f"card written to {write_card(args.name, reference=not args.no_reference) / 'card.md'}")
    elif args.command == "ensemble":
        from .store import combine

        print(f"ensemble written to {combine(args.name, args.members.split(','))}")
    elif args.command == "export":
        from .evaluate import export

        print(f"exported to {export(args.name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
