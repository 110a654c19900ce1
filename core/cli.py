"""Command line: ``predict``, ``explain``, ``--self-test``, ``--version``.

Contract (documented in README.md):
  exit 0  every scan succeeded
  exit 1  at least one scan failed (each failure is one JSON/CSV line, the rest go on)
  exit 2  usage error
  exit 3  the model could not be loaded (missing, corrupt, checksum mismatch, refused)
Results go to stdout, one line per scan; progress and messages go to stderr.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from core.errors import ModelError, ScanError
from core.version import APP_NAME, __version__

EXIT_OK, EXIT_SCAN_FAILED, EXIT_USAGE, EXIT_MODEL = 0, 1, 2, 3
LOW_CONFIDENCE_WARNING = "low confidence: review by a specialist"
PROGRESS_MIN_FILES = 50


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="main.py",
        description=f"{APP_NAME}: brain-tumour MRI classifier with Grad-CAM heatmaps. "
        "Research and education only, not a diagnosis.",
        epilog="With no command, opens the window (optionally with SCAN loaded).",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--self-test", action="store_true", help="check the bundled model and exit")
    parser.add_argument("--model", help="a .keras model with its .json card beside it (default: bundled)")
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("predict", help="classify scans; one JSON line (or CSV row) per scan")
    p.add_argument("paths", nargs="+", metavar="PATH", help="scan files or folders (recursive)")
    p.add_argument("--model", dest="sub_model", help="model file (default: bundled)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--batch-size", type=_positive_int, default=32)
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")

    e = sub.add_parser("explain", help="write Grad-CAM / Grad-CAM++ overlays and heatmaps")
    e.add_argument("paths", nargs="+", metavar="SCAN")
    e.add_argument("--out-dir", required=True)
    e.add_argument("--method", choices=("gradcam", "gradcam++", "both"), default="both")
    e.add_argument("--target", help="class to explain (default: the predicted class)")
    e.add_argument("--alpha", type=float, default=0.4, help="overlay opacity 0..1 (default 0.4)")
    e.add_argument("--colormap", default="jet")
    e.add_argument("--force", action="store_true", help="overwrite existing output files")
    e.add_argument("--model", dest="sub_model", help="model file (default: bundled)")
    return parser


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_cli(argv) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    model_path = getattr(args, "sub_model", None) or args.model
    if args.self_test:
        return self_test(model_path)
    if args.command == "predict":
        return predict(args.paths, model_path, args.format, args.batch_size, args.quiet)
    if args.command == "explain":
        if not 0.0 <= args.alpha <= 1.0:
            parser.error("--alpha must be between 0 and 1")
        from gradcam.overlay import COLORMAPS

        if args.colormap not in COLORMAPS:
            parser.error(f"--colormap must be one of {', '.join(COLORMAPS)}")
        return explain(args, model_path)
    parser.error("unknown command")
    return EXIT_USAGE


def _load_classifier(model_path):
    from core.classifier import Classifier

    try:
        return Classifier.load(model_path)
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return None


def self_test(model_path) -> int:
    classifier = _load_classifier(model_path)
    if classifier is None:
        return EXIT_MODEL
    try:
        ms = classifier.self_test()
        ms = min(ms, classifier.self_test())  # second run: warm
    except ModelError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_MODEL
    untrained = "" if classifier.card.trained else " (UNTRAINED placeholder)"
    print(f"self-test ok: model {classifier.name}{untrained} sha256 {classifier.checksum} {ms:.1f} ms")
    return EXIT_OK


def _read_and_preprocess(path, input_size):
    """Worker-thread job: decode + preprocess one file; errors come back as text."""
    from core.io import load_scan
    from core.preprocess import preprocess

    try:
        scan = load_scan(path)
        tensor, _ = preprocess(scan.pixels, input_size)
        return path, tensor, None
    except ScanError as err:
        return path, None, err.problem
    except MemoryError:
        return path, None, "not enough memory to process this image"
    except Exception as err:  # a defect in a decoder must not stop the batch
        return path, None, f"could not process image ({type(err).__name__})"


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class _Writer:
    def __init__(self, fmt, classes, stream=None):
        self.fmt, self.classes, self.stream = fmt, classes, stream or sys.stdout
        if fmt == "csv":
            self.csv = csv.writer(self.stream)
            self.csv.writerow(["path", "label", "confidence", *classes, "warning", "error"])

    def result(self, record: dict):
        if self.fmt == "jsonl":
            self.stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        else:
            probs = record.get("probabilities", {})
            self.csv.writerow(
                [record["path"], record.get("label", ""), record.get("confidence", ""),
                 *(probs.get(c, "") for c in self.classes), record.get("warning", ""), record.get("error", "")]
            )
        self.stream.flush()


def predict(paths, model_path, fmt="jsonl", batch_size=32, quiet=False) -> int:
    from core.io import find_scans

    classifier = _load_classifier(model_path)
    if classifier is None:
        return EXIT_MODEL
    found = list(find_scans(paths))
    writer = _Writer(fmt, classifier.classes)
    progress = None
    if not quiet and len(found) >= PROGRESS_MIN_FILES:
        from tqdm import tqdm

        progress = tqdm(total=len(found), file=sys.stderr, unit="scan", desc="predict", mininterval=0.5)
    failures = 0
    # Decoding runs in a thread pool ahead of inference (Pillow and OpenCV release the GIL).
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        jobs = (
            pool.submit(_read_and_preprocess, path, classifier.input_size) if error is None else (path, error)
            for path, error in found
        )
        pending = _prefetch(jobs, ahead=batch_size * 2)
        for group in _batched(pending, batch_size):
            ok = [item for item in group if item[1] is not None]
            predictions = classifier.predict_batch(_stack([t for _, t, _ in ok])) if ok else []
            by_path = iter(predictions)
            for path, tensor, error in group:
                if tensor is None:
                    failures += 1
                    writer.result({"path": path, "error": error})
                else:
                    prediction = next(by_path)
                    record = prediction.as_json(path)
                    if prediction.low_confidence:
                        record["warning"] = LOW_CONFIDENCE_WARNING
                    writer.result(record)
            if progress:
                progress.update(len(group))
    if progress:
        progress.close()
    return EXIT_SCAN_FAILED if failures else EXIT_OK


def _prefetch(jobs, ahead):
    """Keep ``ahead`` decode jobs in flight; yield (path, tensor|None, error|None) in order."""
    from collections import deque

    queue = deque()
    for job in jobs:
        queue.append(job)
        if len(queue) > ahead:
            yield _resolve(queue.popleft())
    while queue:
        yield _resolve(queue.popleft())


def _resolve(job):
    if isinstance(job, tuple):
        path, error = job
        return path, None, error
    return job.result()


def _stack(tensors):
    import numpy as np

    return np.stack(tensors)


def explain(args, model_path) -> int:
    import numpy as np
    from PIL import Image

    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.overlay import overlay

    classifier = _load_classifier(model_path)
    if classifier is None:
        return EXIT_MODEL
    if args.target and args.target not in classifier.classes:
        print(f"error: --target must be one of {', '.join(classifier.classes)}", file=sys.stderr)
        return EXIT_USAGE
    methods = ("gradcam", "gradcam++") if args.method == "both" else (args.method,)
    engine = CAMEngine(classifier, methods=methods)
    os.makedirs(args.out_dir, exist_ok=True)
    writer = _Writer("jsonl", classifier.classes)
    failures = 0
    for path in args.paths:
        stem = os.path.splitext(os.path.basename(path))[0]
        outputs = [os.path.join(args.out_dir, f"{stem}.{m}.{ext}") for m in methods for ext in ("png", "npy")]
        existing = [o for o in outputs if os.path.exists(o)]
        if existing and not args.force:
            failures += 1
            writer.result({"path": path, "error": f"{existing[0]} already exists (use --force to overwrite)"})
            continue
        try:
            scan = load_scan(path)
        except ScanError as err:
            failures += 1
            writer.result({"path": path, "error": err.problem})
            continue
        result = engine.explain(scan.pixels, args.target)
        display = scan.display_uint8()
        for method in methods:
            heatmap = result.heatmaps[method]
            Image.fromarray(overlay(display, heatmap, args.alpha, args.colormap)).save(
                os.path.join(args.out_dir, f"{stem}.{method}.png")
            )
            np.save(os.path.join(args.out_dir, f"{stem}.{method}.npy"), heatmap.astype(np.float32))
        record = result.prediction.as_json(path)
        if result.prediction.low_confidence:
            record["warning"] = LOW_CONFIDENCE_WARNING
        record["target"] = result.target_class
        record["empty_maps"] = [m for m in methods if result.all_zero[m]]
        record["files"] = outputs
        writer.result(record)
    return EXIT_SCAN_FAILED if failures else EXIT_OK
