"""Training throughput of the default architecture: images/s per epoch on this machine.

    .venv/bin/python benchmarks/bench_training.py [--steps 60] [--img-size 128]

Runs the real training input pipeline (cached preprocessed arrays -> augmentation
-> model) for a few short epochs and reports images/s; the full-training wall time
is in the model card (training.seconds) and the training log.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from common import append_results, data_dir, markdown_table


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--img-size", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    from training.data import class_names, load_split
    from training.model import compact_xception
    from training.train import TrainConfig, _datasets

    cfg = TrainConfig(data=data_dir(), img_size=args.img_size, batch_size=args.batch_size)
    names = class_names(cfg.data)
    split = load_split(cfg.data, "Training", names, cfg.img_size, cfg.cache_dir, progress=False)
    n = args.steps * args.batch_size
    idx = np.arange(min(n, len(split.labels)))
    train_ds, _ = _datasets(tf, split.images, split.labels, idx, idx[:64], len(names), cfg)
    model = compact_xception(cfg.img_size, 1, len(names))
    model.compile(optimizer=keras.optimizers.AdamW(1e-3), loss="categorical_crossentropy")
    rows = []
    for epoch in range(args.epochs):
        started = time.perf_counter()
        model.fit(train_ds, epochs=1, verbose=0)
        seconds = time.perf_counter() - started
        rows.append([epoch + 1, len(idx), f"{seconds:.1f}", f"{len(idx) / seconds:.0f}"])
    table = markdown_table(rows, ["epoch", "images", "seconds", "images/s"])
    print(table)
    append_results(
        f"Training throughput (bench_training.py, compact-xception {args.img_size}px, batch {args.batch_size}, augmentation on)",
        table,
        "Epoch 1 includes graph tracing. TF threads: default (all cores).",
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
