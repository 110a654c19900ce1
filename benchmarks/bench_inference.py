"""Scan -> label + Grad-CAM + Grad-CAM++ (warm), ours vs the seeds' Xception; batch throughput; FLOP bound.

    .venv/bin/python benchmarks/bench_inference.py [--sample 64] [--no-seed] [--no-throughput]

Prints a table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time

from common import ROOT, append_results, data_dir, markdown_table, test_files

import numpy as np  # noqa: E402


def seed_architecture():
    """The seeds' design: keras.applications.Xception(weights=None) at 299x299 with a small dense head.

    The seed's head (GAP, dropout, Dense 128 relu, dropout, Dense 4 softmax) is the usual
    one in the published notebooks this project started from.
    """
    import keras

    inputs = keras.Input((299, 299, 3))
    base = keras.applications.Xception(include_top=False, weights=None, input_shape=(299, 299, 3))
    x = base(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3)(x)
    x = keras.layers.Dense(128, activation="relu")(x)
    x = keras.layers.Dropout(0.25)(x)
    outputs = keras.layers.Dense(4, activation="softmax")(x)
    return keras.Model(inputs, outputs)


class SeedPipeline:
    """Same work as ours, seed-style: resize to 299x299 RGB, /255, one pass, both maps on the scan grid."""

    def __init__(self):
        import cv2

        from gradcam.base import ActivationsAndGradients
        from gradcam.methods import GradCAM, GradCAMPlusPlus

        self.cv2 = cv2
        self.model = seed_architecture()
        self.passes = ActivationsAndGradients(self.model)
        self.methods = [GradCAM(self.model, passes=self.passes), GradCAMPlusPlus(self.model, passes=self.passes)]

    def run(self, pixels):
        cv2 = self.cv2
        img = cv2.resize(pixels, (299, 299)).astype(np.float32) / 255.0
        batch = np.repeat(img[None, ..., None], 3, axis=-1)
        p = self.passes.run(batch)
        maps = [m.cam_from_pass(p)[0][0] for m in self.methods]
        return [cv2.resize(m, (pixels.shape[1], pixels.shape[0])) for m in maps]


def layer_flops(model) -> int:
    """Multiply-adds x2 of conv, separable conv and dense layers (they dominate; BN/ReLU/pool ignored)."""
    import keras

    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += layer_flops(layer)
            continue
        out = layer.output.shape
        if isinstance(layer, keras.layers.SeparableConv2D):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            cin = layer.input.shape[-1]
            total += 2 * out[1] * out[2] * (k * cin + cin * layer.filters)
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total += 2 * out[1] * out[2] * k * layer.input.shape[-1]
        elif isinstance(layer, keras.layers.Conv2D):
            k = layer.kernel_size[0] * layer.kernel_size[1]
            total += 2 * out[1] * out[2] * k * layer.input.shape[-1] * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * layer.input.shape[-1] * layer.units
    return int(total)


def matmul_flops_per_second(n=2048, repeats=10) -> float:
    import tensorflow as tf

    a = tf.random.normal((n, n))
    b = tf.random.normal((n, n))
    tf.matmul(a, b).numpy()
    started = time.perf_counter()
    for _ in range(repeats):
        c = tf.matmul(a, b)
    c.numpy()
    return 2 * n**3 * repeats / (time.perf_counter() - started)


def time_each(fn, items, warmup=5):
    for item in items[:warmup]:
        fn(item)
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), times


def _quiet_predict(classifier, folder, profiler=None):
    """cli.predict_with over ``folder`` with stdout discarded (under ``profiler`` if given):
    (wall s, CPU s)."""
    import contextlib

    from cli import predict_with

    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        started, cpu = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        predict_with(classifier, [folder], quiet=True)
        if profiler:
            profiler.disable()
        return time.perf_counter() - started, time.process_time() - cpu


def throughput_rows(classifier, folder, count, repeats=3):
    """Steady state (model loaded, median of ``repeats``) and end to end (``python main.py predict``)."""
    import subprocess

    runs = [_quiet_predict(classifier, folder) for _ in range(repeats)]
    wall, cpu = sorted(runs)[len(runs) // 2]
    started = time.perf_counter()
    subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "predict", folder, "--quiet"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    end_to_end = time.perf_counter() - started
    return [
        [f"predict throughput, {count} test scans (decode+preprocess+infer), model loaded",
         f"{count / wall:.0f} scans/s", f"target >= 300/s; median of {repeats} ({', '.join(f'{count / w:.0f}' for w, _ in runs)})"],
        ["  CPU time per scan (both cores)", f"{1000 * cpu / count:.2f} ms", ""],
        [f"`python main.py predict` end to end, {count} scans", f"{end_to_end:.2f} s ({count / end_to_end:.0f} scans/s)",
         "includes start-up and model load"],
    ]


def profile_notes(classifier, folder) -> str:
    """A separate, profiled run: cProfile slows the main thread, so its time is not reported."""
    profiler = cProfile.Profile()
    _quiet_predict(classifier, folder, profiler)
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(8)
    top = "\n".join(line for line in stream.getvalue().splitlines() if line.strip())[-1600:]
    return ("predict profile (a separate run under cProfile, main thread, by own time; decoding runs in "
            "pool threads):\n\n```\n" + top + "\n```")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sample", type=int, default=64, help="test scans (split evenly over classes)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--no-seed", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    args = parser.parse_args()

    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine

    classifier = Classifier.load(args.model)
    engine = CAMEngine(classifier)
    files = test_files(per_class=max(1, args.sample // 4))
    decode_ms, scans = [], []
    for f in files:
        started = time.perf_counter()
        scans.append(load_scan(f))
        decode_ms.append((time.perf_counter() - started) * 1000)
    pixels = [s.pixels for s in scans]

    ours_ms, _ = time_each(lambda p: engine.explain(p), pixels)
    parts = [engine.explain(p).timings_ms for p in pixels[:20]]
    forward_only, _ = time_each(lambda p: classifier.logits(classifier.preprocess([p])[0]), pixels)
    rows = [
        ["decode (Pillow), median", f"{statistics.median(decode_ms):.1f} ms", "not included below"],
        ["ours: label + Grad-CAM + Grad-CAM++, median", f"{ours_ms:.1f} ms", "target <= 80 ms (CAMs <= 30 ms)"],
        ["  of which preprocess", f"{statistics.median(t['preprocess'] for t in parts):.1f} ms", ""],
        ["  of which forward+backward", f"{statistics.median(t['forward_backward'] for t in parts):.1f} ms", ""],
        ["  of which maps on scan grid", f"{statistics.median(t['maps'] for t in parts):.1f} ms", ""],
        ["ours: label only (preprocess + forward), median", f"{forward_only:.1f} ms", ""],
    ]
    if not args.no_seed:
        seed = SeedPipeline()
        seed_ms, _ = time_each(seed.run, pixels[: min(len(pixels), 24)], warmup=3)
        rows.append(["seeds' Xception 299x299: same work, median", f"{seed_ms:.1f} ms", ""])
        rows.append(["speed-up ours vs seeds'", f"{seed_ms / ours_ms:.1f}x", "target >= 25x"])

    flops = layer_flops(classifier.model)
    peak = matmul_flops_per_second()
    bound_ms = flops / peak * 1000
    rows += [
        ["ours: FLOPs per scan (conv + dense, forward)", f"{flops / 1e6:.0f} MFLOP", "counted per layer"],
        ["CPU dense matmul (TF, 2048^2 fp32)", f"{peak / 1e9:.1f} GFLOP/s", ""],
        ["lower bound forward time = FLOPs / matmul rate", f"{bound_ms:.2f} ms", ""],
        ["batch-1 forward+preprocess vs bound", f"{forward_only / bound_ms:.1f}x the bound", ""],
    ]
    if not args.no_seed:
        rows.append(["seeds': FLOPs per scan", f"{layer_flops(seed.model) / 1e9:.1f} GFLOP", ""])

    notes = ""
    if not args.no_throughput:
        folder = os.path.join(data_dir(), "Testing")
        rows += throughput_rows(classifier, folder, len(test_files()))
        notes = profile_notes(classifier, folder)

    table = markdown_table(rows, ["measure", "value", "note"])
    print(table)
    append_results("Inference and Grad-CAM (bench_inference.py)", table, notes)
    return 0


if __name__ == "__main__":
    sys.exit(main())
