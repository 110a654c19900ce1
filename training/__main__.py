"""python -m training train|evaluate|export ..."""

from __future__ import annotations

import argparse
import os
import sys

from core.preprocess import METHODS
from training.model import ARCHS, DEFAULT_ARCH
from training.train import TrainConfig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train and evaluate the brain-MRI classifier.")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train, calibrate and export a model with its card")
    t.add_argument("--data", required=True, help="dataset folder with Training/ and Testing/")
    t.add_argument("--arch", default=DEFAULT_ARCH, choices=ARCHS)
    t.add_argument("--preprocessing", default=TrainConfig.preprocessing, choices=list(METHODS),
                   help="intensity handling (default: the bundled model's); see core/preprocess.py")
    t.add_argument("--inversion-probability", type=float, default=TrainConfig.inversion_probability,
                   help="chance of a full T1<->T2-like inversion of each training image's head (default 0)")
    t.add_argument("--curve-probability", type=float, default=TrainConfig.curve_probability,
                   help="chance of a random smooth non-monotone intensity curve in each training image's head (default 0)")
    t.add_argument("--skull-strip-probability", type=float, default=TrainConfig.skull_strip_probability,
                   help="chance of a random brain extraction of each training image: scalp and skull removed, "
                        "re-cropped (default 0)")
    t.add_argument("--random-conv-probability", type=float, default=TrainConfig.random_conv_probability,
                   help="chance of a random shallow convolution network over each training image's head "
                        "(GIN-style domain randomisation; default 0)")
    t.add_argument("--sources", nargs="*", default=[], metavar="DIR",
                   help="manifest sources (folders with manifest.csv) to train on beside --data; only split == train rows")
    t.add_argument("--epochs", type=int, default=TrainConfig.epochs)
    t.add_argument("--img-size", type=int, default=TrainConfig.img_size)
    t.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    t.add_argument("--learning-rate", type=float, default=TrainConfig.learning_rate)
    t.add_argument("--out", default=TrainConfig.out)
    t.add_argument("--name", default=TrainConfig.name)
    t.add_argument("--seed", type=int, default=TrainConfig.seed)
    t.add_argument("--split-seed", type=int, default=None,
                   help="seed of the data split alone: validation hold-out (default: --seed)")
    t.add_argument("--deterministic", action="store_true", help="deterministic TF ops (slower)")
    t.add_argument("--max-minutes", type=float, default=0.0, help="stop after this wall-clock budget")
    t.add_argument("--fine-tune-epochs", type=int, default=TrainConfig.fine_tune_epochs)
    t.add_argument("--weights", default="imagenet",
                   help="pretrained archs: 'imagenet', 'none' (from scratch), or for mobilenetv2* a weights file "
                        "or folder (default 'imagenet': $NEUROSCANCAM_WEIGHTS_DIR, then ../shared/weights)")
    t.add_argument("--limit-per-class", type=int, default=0, help=argparse.SUPPRESS)
    t.add_argument("--cache-dir", default=TrainConfig.cache_dir)
    t.add_argument("--log-dir", default=TrainConfig.log_dir)
    t.add_argument("--report-dir", default=None, help="evaluate on Testing/ after training and write a report here")
    e = sub.add_parser("evaluate", help="evaluate a model on Testing/ (full and leak-free)")
    e.add_argument("--data", required=True)
    e.add_argument("--model", required=True)
    e.add_argument("--report-dir", default=None)
    e.add_argument("--split", default="Testing", help="sub-folder holding <class>/ folders ('.' for DIR itself)")
    e.add_argument("--cache-dir", default=TrainConfig.cache_dir)
    e.add_argument("--update-card", action="store_true", help="write the metrics into the model card")
    e.add_argument("--run-dir", default=None, help="training run folder (for learning curves)")
    x = sub.add_parser("export", help="write the .tflite file the app runs (LiteRT) beside a .keras model")
    x.add_argument("model", help="the .keras model (its card beside it gets the litert section)")
    x.add_argument("--cam-layer", action="append", default=[], metavar="NAME",
                   help="also export this target layer's CAM pass (repeatable; the default layer always is)")
    x.add_argument("--ig-batch", type=int, default=32, help="fixed batch of the input-gradient signature")
    args = parser.parse_args(argv)

    if args.command == "export":
        import json

        from core.errors import ModelError
        from training.export import export

        try:
            print(json.dumps(export(args.model, args.cam_layer, args.ig_batch), indent=2))
        except ModelError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
        return 0

    if args.command == "train":
        from training.train import train

        cfg = TrainConfig(
            data=args.data, out=args.out, arch=args.arch, preprocessing=args.preprocessing,
            inversion_probability=args.inversion_probability, curve_probability=args.curve_probability,
            skull_strip_probability=args.skull_strip_probability,
            random_conv_probability=args.random_conv_probability,
            sources=tuple(args.sources),
            epochs=args.epochs, img_size=args.img_size,
            batch_size=args.batch_size, learning_rate=args.learning_rate, seed=args.seed,
            split_seed=args.split_seed,
            deterministic=args.deterministic, max_minutes=args.max_minutes,
            fine_tune_epochs=args.fine_tune_epochs, weights=None if args.weights == "none" else args.weights,
            cache_dir=args.cache_dir, log_dir=args.log_dir, name=args.name, limit_per_class=args.limit_per_class,
        )
        result = train(cfg)
        if args.report_dir:
            from training.evaluate import evaluate

            evaluate(args.data, result["model_path"], args.report_dir, args.cache_dir, update_card=True, run_dir=result["run_dir"])
        return 0
    from training.evaluate import evaluate

    if not os.path.exists(args.model):
        print(f"error: model not found: {args.model}", file=sys.stderr)
        return 2
    evaluate(args.data, args.model, args.report_dir, args.cache_dir, args.update_card, args.run_dir, args.split)
    return 0


if __name__ == "__main__":
    sys.exit(main())
