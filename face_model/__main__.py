"""``python -m face_model train|films-cv|ensemble|quantize|calibrate|evaluate|mtcnn``: train the face CNN on
FER2013 (with faces from films mixed in, if asked), cross-validate such a fine-tune over films, combine trained
models into one ensemble model, write a model's int8 weights, fit its temperature by face size, score a model (card
on ``val``, one line on any folder or on the holdout), or write the face detector's graphs from the installed
facenet-pytorch."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.config import get_settings

from .quantize import RANGES
from .train import TrainConfig, train


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m face_model", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    t = commands.add_parser("train", help="train (or continue training) a model on FER2013 train")
    _training_arguments(t)
    f = commands.add_parser("films-cv", help="cross-validate a fine-tune over films (--films, --init): each fold's "
                            "films left out and scored, FER2013's holdout beside")  # fmt: skip
    _training_arguments(f)
    f.add_argument("--folds", type=int, default=5, help="folds the films are dealt into")
    c = commands.add_parser("ensemble", help="combine trained models of one shape into one model (logits averaged)")
    c.add_argument("--name", required=True)
    c.add_argument("--members", required=True, help="comma-separated names of trained models")
    c.add_argument("--no-flip", action="store_true", help="no test-time flip (halves the time per face)")
    q = commands.add_parser("quantize", help="write int8 weights of a trained model (what the runtime then runs)")
    q.add_argument("--name", default=TrainConfig.name)
    q.add_argument("--ranges", choices=RANGES, default="minmax", help="how each activation's range is read from "
                   "the calibration faces (default: their minimum and maximum)")  # fmt: skip
    s = commands.add_parser("calibrate", help="fit the temperature by face size on the holdout (into model.json)")
    s.add_argument("--name", default=TrainConfig.name)
    s.add_argument("--holdout", type=float, required=True, help="the share of train the model held aside")
    e = commands.add_parser("evaluate", help="score a model on FER2013 val (writes its card) or on --data DIR")
    e.add_argument("--name", help="the model scored (default: the runtime's, EMOCLASSIFY_CNN_MODEL)")
    e.add_argument("--data", type=Path, help="a folder laid out as <emotion>/*.png; prints one summary line")
    e.add_argument("--holdout", type=float, help="score the share of train held aside by `train --holdout` (one line)")
    e.add_argument("--int8", action="store_true", help="with --holdout: score the int8 graph, not the float weights")
    e.add_argument(
        "--size",
        type=int,
        help="with --holdout or --data: each face seen as a video delivers one of this short side (px)",
    )
    commands.add_parser("mtcnn", help="write MTCNN's three ONNX graphs (the runtime's detector) from facenet-pytorch")
    args = parser.parse_args(argv)
    if args.command == "train":
        print(f"model written to {train(_config(args), log=lambda line: print(line, flush=True))}")
    elif args.command == "films-cv":
        from .film_cv import cross_validate

        result = cross_validate(_config(args), args.folds, log=lambda line: print(line, flush=True))
        print(json.dumps({k: v for k, v in result.items() if k != "config"}))
    elif args.command == "ensemble":
        from .ensemble import combine

        print(f"model written to {combine(args.name, args.members.split(','), flip_average=not args.no_flip)}")
    elif args.command == "quantize":
        from .quantize import quantize

        print(f"int8 weights written to {quantize(args.name, ranges=args.ranges)}")
    elif args.command == "calibrate":
        from .size_calibration import calibrate

        print(f"temperature multipliers by face size (px): {calibrate(args.name, args.holdout)}")
    elif args.command == "evaluate":
        from .evaluate import score_folder, score_holdout, write_card

        args.name = args.name or get_settings().cnn_model_name

        if args.holdout:
            print(score_holdout(args.name, args.holdout, int8=args.int8, size=args.size))
        elif args.data:
            print(score_folder(args.name, args.data, size=args.size))
        else:
            print(f"card written to {write_card(args.name) / 'card.md'}")
    elif args.command == "mtcnn":
        from .mtcnn_export import export_mtcnn

        for stage, digest in export_mtcnn(get_settings().detector_model_dir).items():
            print(f"{stage}: sha256 {digest}")
    return 0


def _training_arguments(t: argparse.ArgumentParser) -> None:
    t.add_argument("--name", default=TrainConfig.name)
    t.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--lr", type=float, default=TrainConfig.lr)
    t.add_argument("--widths", default=",".join(map(str, TrainConfig.widths)), help="channels per stage")
    t.add_argument("--seed", type=int, default=TrainConfig.seed)
    t.add_argument("--threads", type=int, default=TrainConfig.threads, help="torch CPU threads (1 beside other work)")
    t.add_argument("--holdout", type=float, default=TrainConfig.holdout,
                   help="share of train held aside to select the epoch on (0: select on val)")  # fmt: skip
    t.add_argument("--cutmix", type=float, default=TrainConfig.cutmix, help="probability of CutMix per batch")
    t.add_argument("--bf16", action="store_true", help="bfloat16 autocast (float32 weights): faster on AVX-512 BF16")
    t.add_argument("--teacher", help="a trained model (e.g. an ensemble) whose view of each face is also learned")
    t.add_argument("--init", help="a trained model (one network of these widths) to start from: a fine-tune")
    t.add_argument("--video-views", type=float, default=TrainConfig.video_views,
                   help="probability per face of seeing it small and compressed, as a video delivers it")  # fmt: skip
    t.add_argument("--films", help="a folder of faces from films (<emotion>/<film>_<timestamp>_<frame>.png) mixed in")
    t.add_argument("--film-repeats", type=int, default=TrainConfig.film_repeats,
                   help="times each film face is seen an epoch")  # fmt: skip
    t.add_argument("--fer-per-epoch", type=int, default=TrainConfig.fer_per_epoch,
                   help="FER2013 faces drawn afresh each epoch (0: all)")  # fmt: skip
    t.add_argument("--keep-last", action="store_true", help="keep the last epoch, not the best on the holdout")


def _config(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(name=args.name, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                       widths=tuple(int(w) for w in args.widths.split(",")), seed=args.seed, threads=args.threads,
                       holdout=args.holdout, cutmix=args.cutmix, teacher=args.teacher, bf16=args.bf16, init=args.init,
                       video_views=args.video_views, films=args.films, film_repeats=args.film_repeats,
                       fer_per_epoch=args.fer_per_epoch, keep_last=args.keep_last)  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
