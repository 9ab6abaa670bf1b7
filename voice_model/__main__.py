"""``python -m voice_model train|crossval|crossval-mean|evaluate|ensemble|export|graph``: train the voice CNN on
the speech manifest, compare recipes by cross-validation over speakers (or a mean of recipes by their saved
cross-validation runs), score a model on the held-out speakers (writes its card) or on any manifest, average
trained models into one, export a trained run's best checkpoint, or write the ONNX graph the runtime runs for a
model trained before graphs existed."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.voice.store import DEFAULT_NAME

from .train import TrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voice_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train a model on the train speakers (selected on the val speakers)")
    _recipe_arguments(t)
    t.add_argument(
        "--refit",
        action="store_true",
        help="the final fit: train + val speakers, --epochs fixed beforehand, the last epoch kept",
    )
    c = commands.add_parser(
        "crossval", help="score a recipe on all train + val speakers by k-fold over speakers (test never used)"
    )
    _recipe_arguments(c)
    c.add_argument("--folds", type=int, default=4)
    c.add_argument(
        "--by-corpus",
        action="store_true",
        help="encoder recipes: hold out one corpus at a time (train on the others) instead of folds",
    )
    c.add_argument("--members", type=int, default=1, help="encoder recipes: networks (seeds) averaged per fold")
    c.add_argument("--corpora", help="with --by-corpus: comma-separated corpora to hold out (default: each in turn)")
    m = commands.add_parser("crossval-mean", help="score the mean of encoder recipes' saved crossval runs")
    m.add_argument("--names", required=True, help="comma-separated run names (each `crossval --name`), same folds")
    m.add_argument("--by-corpus", action="store_true", help="the runs held out one corpus at a time")
    e = commands.add_parser("evaluate", help="score a model on the held-out speakers (writes its card) or --manifest")
    e.add_argument("--name", default=DEFAULT_NAME)
    e.add_argument("--manifest", type=Path, help="a CSV with the speech manifest's columns; prints two summary lines")
    e.add_argument("--no-reference", action="store_true", help="skip seed_model3.h5 in the card")
    e.add_argument("--gain-db", type=float, help="score the test speakers with every recording scaled by this gain "
                   "and stored as 16-bit, through the runtime's model (one line; kept in levels.json)")  # fmt: skip
    n = commands.add_parser("ensemble", help="save one model averaging the probabilities of trained models")
    n.add_argument("--name", required=True, help="the ensemble's model name")
    n.add_argument("--members", required=True, help="comma-separated names of models in voice_model/models")
    x = commands.add_parser("export", help="copy a run's best checkpoint from the cache into voice_model/models")
    x.add_argument("--name", default=DEFAULT_NAME)
    g = commands.add_parser("graph", help="write model.onnx, the network the runtime runs, for shipped models "
                            "trained before it existed")  # fmt: skip
    g.add_argument("names", nargs="+", help="model names in voice_model/models")
    args = parser.parse_args(argv)
    log = lambda line: print(line, flush=True)  # noqa: E731
    if args.command in ("train", "crossval") and args.architecture == "encoder":
        from .encoder_train import cross_validate, train

        if args.command == "train":
            print(f"model written to {train(_encoder_config(args), log=log)}")
        else:
            held_out = args.corpora.split(",") if args.corpora else None
            result = cross_validate(_encoder_config(args), args.folds, args.by_corpus, args.members, held_out, log=log)
            print(
                f"mean_uar={result['mean_uar']:.4f} mean_uar_non_ravdess={result['mean_uar_non_ravdess']:.4f} "
                f"ravdess_macro_f1_6={result['ravdess_macro_f1_6']} uar={json.dumps(result['uar'])} n={result['n']}"
            )
    elif args.command == "crossval-mean":
        from .encoder_train import crossval_mean

        result = crossval_mean(args.names.split(","), args.by_corpus, log=log)
        print(f"mean_uar={result['mean_uar']:.4f} ravdess_macro_f1_6={result['ravdess_macro_f1_6']} "
              f"uar={json.dumps(result['uar'])} n={result['n']}")  # fmt: skip
    elif args.command == "train":
        from .train import train

        print(f"model written to {train(_config(args), log=log)}")
    elif args.command == "crossval":
        from .train import cross_validate

        result = cross_validate(_config(args), args.folds, log=log)
        print(f"accuracy={result['accuracy']:.4f} macro_f1={result['macro_f1']:.4f} n={result['n']}")
        print(f"collapsed6 accuracy={result['collapsed6_accuracy']:.4f} "
              f"macro_f1={result['collapsed6_macro_f1']:.4f} n={result['n']}")  # fmt: skip
    elif args.command == "evaluate":
        from .card import write_card
        from .evaluate import score_manifest

        if args.manifest:
            for line in score_manifest(args.name, args.manifest):
                print(line)
        elif args.gain_db is not None:
            from .gain import record_level, scores_at_gain

            result = scores_at_gain(args.name, args.gain_db)
            record_level(args.name, args.gain_db, result)
            print(f"gain_db={args.gain_db:g} mean_uar={result['mean_uar']:.4f} "
                  f"ravdess_macro_f1_6={result['ravdess_macro_f1_6']} uar={json.dumps(result['uar'])}")  # fmt: skip
        else:
            print(f"card written to {write_card(args.name, reference=not args.no_reference) / 'card.md'}")
    elif args.command == "ensemble":
        from .ensemble import combine

        print(f"ensemble written to {combine(args.name, args.members.split(','))}")
    elif args.command == "export":
        from .evaluate import export

        print(f"exported to {export(args.name)}")
    elif args.command == "graph":
        from backend.voice.store import write_shipped_graph

        for name in args.names:
            print(f"graph written to {write_shipped_graph(name)}")
    return 0


def _recipe_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=None, help="model name (default voice-cnn-v1, or voice-baseline)")
    parser.add_argument(
        "--architecture",
        choices=("encoder", "improved", "baseline"),
        default="improved",
        help="encoder = the network over Whisper encoder frames (voice_model/encoder_train.py); improved = the MFCC "
        "CNN; baseline = the original recipe (fixed 225 frames, no augmentation, no class weights)",
    )
    parser.add_argument("--blocks", help="encoder: comma-separated Whisper encoder blocks (1-based), default 2,3,4")
    parser.add_argument("--head", choices=("conv", "linear", "probe"),
                        help="encoder: the Conv1D network (default), the linear statistics head, or that head fitted "
                        "as a probe (L-BFGS, L2 chosen by cross-validation)")  # fmt: skip
    parser.add_argument("--features", choices=("mfcc", "logmel"), help="model input (default mfcc)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--lr", type=float)
    parser.add_argument("--norm", choices=("cmvn", "cmn", "none"))
    parser.add_argument("--crops-per-file", type=int)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--threads", type=int)
    parser.add_argument(
        "--variants",
        help="comma-separated cached augmentation variants, clean first (default: clean,slow,fast; encoder: clean)",
    )
    parser.add_argument("--spec-augment", action=argparse.BooleanOptionalAction, help="time/frequency masks")
    parser.add_argument(
        "--level",
        type=float,
        metavar="DBFS",
        help="encoder: level each window's speech to DBFS before the encoder (backend/voice/loudness.py)",
    )


def _encoder_config(args: argparse.Namespace):
    from .encoder_train import EncoderConfig

    given = {"name": args.name, "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr,
             "seed": args.seed, "threads": args.threads, "head": args.head, "level_dbfs": args.level}  # fmt: skip
    changes = {k: v for k, v in given.items() if v is not None}
    if args.blocks:
        changes["blocks"] = tuple(int(b) for b in args.blocks.split(","))
    if args.variants:
        changes["variants"] = tuple(args.variants.split(","))
    if getattr(args, "refit", False):
        changes["refit"] = True
    return EncoderConfig(**changes)


def _config(args: argparse.Namespace) -> TrainConfig:
    given = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "features": args.features,
        "norm": args.norm,
        "crops_per_file": args.crops_per_file,
        "seed": args.seed,
        "name": args.name,
        "threads": args.threads,
    }
    changes = {k: v for k, v in given.items() if v is not None}
    if args.variants:
        changes["variants"] = tuple(args.variants.split(","))
    if args.spec_augment is not None:
        changes["spec_augment"] = args.spec_augment
    if getattr(args, "refit", False):
        changes["refit"] = True
    return TrainConfig.baseline(**changes) if args.architecture == "baseline" else TrainConfig(**changes)


if __name__ == "__main__":
    sys.exit(main())
