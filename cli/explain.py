"""``explain``: heatmap overlays (PNG), raw heatmaps (NPY) and optional PDF reports per scan."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from core.errors import ScanError
from cli.records import (EXIT_MODEL, EXIT_OK, EXIT_SCAN_FAILED, EXIT_USAGE, _image_checks, _judge,
                         _load_classifier, _scan_fields, _Writer)


def explain(args, model_path) -> int:
    """Per scan: the overlay PNG (relative scale, labelled colour bar on the right) and the raw
    evidence ``.npy`` of each method that can explain the target; a method that cannot tell
    the classes apart (Grad-CAM++ behind a GAP -> Dense head) is not written for a class other
    than the predicted one, and the JSON line says why (``"not_class_specific"``). That is no
    failure: the exit status stays 0 unless a scan failed.

    Overlays are blended, encoded and written on ``EXPLAIN_WRITERS`` threads (OpenCV, zlib
    and file writes release the GIL) while the next scan is explained; a scan's line is
    printed once its files are written, in the order of the scans."""
    from collections import deque

    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.overlay import scale_caption

    classifier = _load_classifier(model_path)
    if classifier is None:
        return EXIT_MODEL
    if args.target and args.target not in classifier.classes:
        print(f"error: --target must be one of {', '.join(classifier.classes)}", file=sys.stderr)
        return EXIT_USAGE
    methods = explain_methods(args.method)
    engine = CAMEngine(classifier, methods=methods)
    os.makedirs(args.out_dir, exist_ok=True)
    writer = _Writer("jsonl", classifier.classes)
    failures = 0
    inputs = {os.path.realpath(p) for p in args.paths}
    pending = deque()  # (record, futures writing its files), oldest first
    claimed = set()  # every output this run writes: a later scan's same name waits for it

    def finish(entry):
        nonlocal failures
        record, futures = entry
        problems = [_write_problem(f) for f in futures]
        problems = [p for p in problems if p]
        if problems:
            record = {"path": record["path"], "error": problems[0]}
        if "error" in record:
            failures += 1
        writer.result(record)

    def flush(keep=0):
        while len(pending) > keep:
            finish(pending.popleft())

    with ThreadPoolExecutor(EXPLAIN_WRITERS) as pool:
        for path in args.paths:
            flush(keep=EXPLAIN_IN_FLIGHT)
            try:
                scan = load_scan(path, index=args.index)
            except ScanError as err:
                pending.append(({"path": path, "error": err.problem}, []))
                continue
            stem = os.path.join(args.out_dir, _output_stem(path, scan))
            result = engine.explain(scan.pixels, args.target)
            refused = {m: why for m, why in result.not_class_specific.items() if m in methods}
            written = [m for m in methods if m not in refused]
            outputs = [f"{stem}.{m}.{ext}" for m in written for ext in ("png", "npy")]
            if args.report:
                outputs.append(f"{stem}.report.pdf")
            if claimed.intersection(outputs):
                flush()  # an earlier scan of this run writes one of these files: let it finish first
            claimed.update(outputs)
            clobbered = [o for o in outputs if os.path.realpath(o) in inputs]
            if clobbered:  # even --force never writes over a scan given on this command line
                pending.append(({"path": path, "error": f"{clobbered[0]} is one of the input scans: not overwritten"},
                                []))
                continue
            existing = [o for o in outputs if os.path.exists(o)]
            if existing and not args.force:
                pending.append(({"path": path, "error": f"{existing[0]} already exists (use --force to overwrite)"},
                                []))
                continue
            display = scan.display_uint8()
            caption = scale_caption(classifier.card.display_name(result.prediction.label))
            relative, raw = result.relative_heatmaps, result.raw_heatmaps
            futures = {m: pool.submit(_write_map, f"{stem}.{m}", display, relative[m], raw[m], args.alpha,
                                      args.colormap, caption) for m in written}
            jobs = list(futures.values())
            if args.report:
                shown = written[0] if written else None
                overlay_rgb = _overlay_of(futures[shown]) if shown else None
                # here, not on a writer thread: one matplotlib figure at a time
                jobs.append(_run_now(_write_report, f"{stem}.report.pdf", classifier, scan, display, overlay_rgb,
                                     shown, result, args.colormap, caption, refused))
            record = result.prediction.as_json(path)
            record.update(_scan_fields(scan, args.index is not None))
            _judge(record, result.prediction, _image_checks(scan), classifier.card.data)
            record["target"] = result.target_class
            record["empty_maps"] = [m for m in written if result.all_zero[m]]
            record["relative_peak"] = {m: _finite(result.relative_peak[m]) for m in written}
            if refused:
                record["not_class_specific"] = refused
            record["files"] = outputs
            pending.append((record, jobs))
        flush()
    return EXIT_SCAN_FAILED if failures else EXIT_OK


# --method -> the maps written; "ig" (Integrated Gradients) costs a 32-step batched pass per scan.
EXPLAIN_METHODS = {"both": ("gradcam", "gradcam++"), "all": ("gradcam", "gradcam++", "ig")}
# Writer threads for explain's files, and how many scans' files may be in flight before their
# lines are printed (bounded memory: a scan's display image and maps each).
EXPLAIN_WRITERS = 2
EXPLAIN_IN_FLIGHT = 4
# The overlay PNGs: zlib level 1 and the "up" row filter (OpenCV's encoder). Measured on the 50
# test scans of benchmarks/bench_explain.py (mean CPU ms / kB per file): Pillow at its default
# level 6 ~21 ms, Pillow level 1 (adaptive filters) 9.8 ms / 175 kB, this 4.6 ms / 176 kB. PNG is
# lossless: the pixels are the same whatever the settings.
PNG_COMPRESS_LEVEL = 1


def explain_methods(choice: str) -> tuple:
    return EXPLAIN_METHODS.get(choice, (choice,))


def _write_map(stem, display, relative, raw, alpha, colormap, caption):
    """One method's files (a writer thread's job): ``stem.png`` and ``stem.npy``; returns the overlay."""
    import numpy as np

    from gradcam.overlay import overlay

    rgb = overlay(display, relative, alpha, colormap)
    save_overlay_png(rgb, f"{stem}.png", colormap, caption)
    np.save(f"{stem}.npy", raw.astype(np.float32, copy=False))
    return rgb


def _overlay_of(future):
    """The overlay a ``_write_map`` job made, or None if the job failed (its error is reported)."""
    try:
        return future.result()
    except Exception:
        return None


def _run_now(fn, *args):
    """``fn(*args)`` run here, its outcome held in a finished Future like a writer job's."""
    from concurrent.futures import Future

    future = Future()
    try:
        future.set_result(fn(*args))
    except Exception as err:  # noqa: BLE001 - reported through the future
        future.set_exception(err)
    return future


def _write_problem(future) -> str | None:
    """A writer job's failure in one line, or None."""
    try:
        future.result()
    except OSError as err:
        where = os.path.basename(err.filename) if getattr(err, "filename", None) else "an output file"
        return f"cannot write {where}: {err.strerror or err}"
    except Exception as err:  # noqa: BLE001 - reported as the scan's error line, never a traceback
        return f"could not write the outputs ({type(err).__name__})"
    return None


def save_overlay_png(rgb, path, colormap, caption) -> None:
    """The overlay with its labelled colour bar on the right, as a fast-compressed PNG."""
    import cv2

    from gradcam.overlay import with_colorbar

    bgr = cv2.cvtColor(with_colorbar(rgb, colormap, caption), cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, PNG_COMPRESS_LEVEL,
                                          cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_UP])
    if not ok:
        raise OSError(f"could not encode {os.path.basename(path)}")
    with open(path, "wb") as handle:  # Python's open: any file name, on any system
        handle.write(data.tobytes())


def _finite(value: float):
    """A ratio for a JSON line: rounded, or null where it is not finite (strict JSON has no inf)."""
    import math

    return round(float(value), 4) if math.isfinite(value) else None


METHOD_NAMES = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "layercam": "LayerCAM", "ig": "Integrated Gradients"}


def _output_stem(path, scan) -> str:
    """``scan.nii.gz`` -> ``scan``; multi-slice scans add ``.slice<N>`` so slices do not collide."""
    name = os.path.basename(path)
    stem = name[: -len(".nii.gz")] if name.lower().endswith(".nii.gz") else os.path.splitext(name)[0]
    if "slices" in scan.info:
        stem += f".slice{scan.info['slice']:03d}"
    return stem


def _write_report(report_path, classifier, scan, display, overlay_rgb, method, result, colormap="jet",
                  caption=None, refused=None):
    """``method`` None (or no overlay): no map can be shown (every one asked for was refused):
    the scan twice."""
    import numpy as np

    from core.report import window_note, write_pdf_report

    notes = []
    if "slices" in scan.info:
        notes.append(f"Slice {scan.info['slice']} of {scan.info['slices']} ({scan.format})")
    if window_note(scan.info):
        notes.append(window_note(scan.info))
    for name in refused or {}:
        notes.append(f"{METHOD_NAMES.get(name, name)}: not shown, it cannot tell the classes apart.")
    if overlay_rgb is None:
        method = None
        overlay_rgb = np.stack([display] * 3, axis=-1)
    write_pdf_report(
        report_path, display, overlay_rgb, result.prediction,
        class_names={c: classifier.card.display_name(c) for c in classifier.classes},
        method_name=METHOD_NAMES.get(method, method) if method else "No heatmap",
        model_name=classifier.name,
        model_sha256=classifier.checksum,
        target_name=result.target_class,
        notes=notes,
        overwrite=True,  # the no-overwrite rule was applied above, with every other output
        colormap=colormap if method else None,
        scale_label=caption,
    )
