"""Command line: ``predict``, ``explain``, ``--self-test``, ``--version``.

Contract (documented in README.md):
  exit 0  every scan succeeded
  exit 1  at least one scan failed (each failure is one JSON/CSV line, the rest go on)
  exit 2  usage error
  exit 3  the model could not be loaded (missing, corrupt, checksum mismatch, refused)
Results go to stdout, one line per scan; progress and messages go to stderr.

Multi-slice scans (DICOM multi-frame, NIfTI, DICOM series; see ``core.volume``,
``core.series``): the single-frame DICOM files of one Series Instance UID among the
paths given are read as one volume, slices ordered along the slice normal.
  predict (default)            ONE line per volume: the study verdict (``core.study``)
                               with "slices" (how many) and "evidence_slices" (indices
                               from 0); series add "series" and "evidence_files"
  --slice N (alias --frame N)  one line for slice/frame N (from 0), with "slice";
                               ordinary images only have slice 0
  predict --all-slices         one line per slice of each scan, with "slice"
  Records of windowed scans (DICOM, NIfTI) carry "window": {"center", "width",
  "source": "file" | "voi_lut" | "percentile" | "user"}; 4-D NIfTI records say
  "volume" (the one used: the first) and "volumes". CSV gains trailing "slice",
  "slices" and "evidence_slices" (space-separated) columns. explain names
  files <stem>.slice<N>.<method>.png for multi-slice scans, and --report adds <stem>.report.pdf (never overwritten
  without --force). An output that would land on one of the scans given on the
  same command line is refused for that scan, even with --force.
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
STUDY_ABSTAIN_WARNING = "no slice of this scan looks like a brain MRI slice: no classification"
PROGRESS_MIN_FILES = 50


# `predict` feeds the model this many input values per call unless --batch-size says
# otherwise: 256 scans for the bundled 128 x 128 model, 15 for a 299 x 299 RGB one, so a
# large user model cannot run out of memory. Per-scan inference cost falls with the batch
# (2 cores, bundled model: 5.4 CPU-ms at 32, 4.0 at 128, 3.6 at 256; benchmarks/RESULTS.md).
BATCH_INPUT_VALUES = 256 * 128 * 128


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="main.py",
        description=f"{APP_NAME}: brain-tumour MRI classifier with Grad-CAM heatmaps. "
        "Research and education only, not a diagnosis.",
        epilog="With no command, opens the window (optionally with SCAN loaded). "
        "'main.py COMMAND --help' describes each command.",
    )
    parser.add_argument("--version", action="version", version=f"{APP_NAME} {__version__}")
    parser.add_argument("--self-test", action="store_true", help="check the bundled model and exit")
    parser.add_argument("--model", metavar="FILE",
                        help="a .keras model with its .json card beside it (default: bundled)")
    _add_verbose_option(parser, default=False)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    p = sub.add_parser("predict", help="classify scans; one JSON line (or CSV row) per scan",
                       description="Classify scans: one JSON line (or CSV row) per scan on stdout.")
    p.add_argument("paths", nargs="+", metavar="PATH", help="scan files or folders (recursive)")
    p.add_argument("--model", dest="sub_model", metavar="FILE", help="model file (default: bundled)")
    p.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="N",
                   help="scans per model call (default: 256 for the bundled model, fewer for larger inputs)")
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    which = p.add_mutually_exclusive_group()
    _add_slice_option(which)
    which.add_argument("--all-slices", action="store_true", help="one result per slice/frame of each scan")
    _add_verbose_option(p)

    e = sub.add_parser("explain", help="write Grad-CAM / Grad-CAM++ overlays and heatmaps",
                       description="Write heatmap overlays (PNG) and raw heatmaps (NPY) for each scan.")
    e.add_argument("paths", nargs="+", metavar="SCAN")
    e.add_argument("--out-dir", required=True, metavar="DIR")
    e.add_argument("--method", choices=("gradcam", "gradcam++", "ig", "both", "all"), default="both",
                   help="both: gradcam + gradcam++ (default); ig: Integrated Gradients; all: the three")
    e.add_argument("--target", metavar="CLASS", help="class to explain (default: the predicted class)")
    e.add_argument("--alpha", type=_opacity, default=0.4, metavar="A", help="overlay opacity 0..1 (default 0.4)")
    e.add_argument("--colormap", type=_colormap_name, default="jet", metavar="NAME",
                   help="overlay colour map (default jet; also turbo, inferno, viridis, hot)")
    e.add_argument("--force", action="store_true", help="overwrite existing output files")
    e.add_argument("--report", action="store_true", help="also write a one-page PDF report <stem>.report.pdf")
    _add_slice_option(e)
    e.add_argument("--model", dest="sub_model", metavar="FILE", help="model file (default: bundled)")
    _add_verbose_option(e)
    parser.commands = {"predict": p, "explain": e}  # run_cli reports a sub-command's errors with its usage
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse that says which command or choice was probably meant ("predct" -> "predict")."""

    def error(self, message):
        import difflib
        import re

        match = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
        if match:
            close = difflib.get_close_matches(match.group(1), re.findall(r"'([^']*)'", match.group(2)), n=1)
            if close:
                message += f"; did you mean '{close[0]}'?"
        super().error(message)

    def unknown_options(self, extras) -> None:
        """Report arguments this (sub-)parser does not know, naming the closest option, with its usage."""
        import difflib

        options = [o for o in self._option_string_actions if o.startswith("--")]
        hints = []
        for extra in extras:
            close = difflib.get_close_matches(extra.split("=")[0], options, n=1) if extra.startswith("-") else []
            if close:
                hints.append(f"did you mean {close[0]} for {extra}?")
        self.error("unrecognized arguments: " + " ".join(extras) + ("; " + "; ".join(hints) if hints else ""))


def _add_verbose_option(parser, default=argparse.SUPPRESS):
    # SUPPRESS on the sub-commands: "main.py --verbose predict ..." is not undone by predict's default.
    parser.add_argument("--verbose", action="store_true", default=default,
                        help="also show TensorFlow's and pydicom's log messages on stderr")


def _opacity(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _colormap_name(text):
    from gradcam.overlay import COLORMAPS

    if text not in COLORMAPS:
        import difflib

        close = difflib.get_close_matches(text, list(COLORMAPS), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise argparse.ArgumentTypeError(f"must be one of {', '.join(COLORMAPS)}, got {text!r}{hint}")
    return text


def _add_slice_option(parser):
    parser.add_argument(
        "--slice", "--frame", dest="index", type=_non_negative_int, metavar="N",
        help="slice (NIfTI) or frame (DICOM) N, counted from 0 (default: the middle one)",
    )


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def run_cli(argv) -> int:
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    if extras:  # said with the usage of the command they were given to, not the top-level one
        parser.commands.get(args.command, parser).unknown_options(extras)
    model_path = getattr(args, "sub_model", None) or args.model
    if model_path is not None and not os.path.isfile(model_path):
        # Name the model file asked for (not the card that would sit beside it).
        print(f"error: model file not found: {model_path}", file=sys.stderr)
        return EXIT_MODEL
    if args.self_test:
        return self_test(model_path)
    if args.command == "predict":
        return predict(args.paths, model_path, args.format, args.batch_size, args.quiet, args.index, args.all_slices)
    if args.command == "explain":
        return explain(args, model_path)
    parser.error("a command is needed: predict or explain (or --self-test, --version)")
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


def _read_and_preprocess(path, input_size, method, index=None, all_slices=False, study=False):
    """Worker-thread job: decode + preprocess one file or DICOM series (``core.series.Series``)
    -> a list of (path, extra record fields, tensor | None, error | None), one per slice used.
    ``study``: every slice of a multi-slice scan, each tagged ``"_study"`` (its volume-wide
    fields) for one study record; single-slice scans as without it."""
    from core.preprocess import preprocess

    where = _source_path(path)
    try:
        scans, volume = _scans_of(path, index, all_slices, study)
        tag = _study_fields(volume) if volume is not None and not all_slices else None
        items = []
        for scan in scans:
            fields = {**_scan_fields(scan, index is not None or all_slices), "_checks": _image_checks(scan)}
            if tag is not None:
                fields["_study"] = tag
            items.append((where, fields, preprocess(scan.pixels, input_size, method)[0], None))
        return items
    except ScanError as err:
        return [(where, {}, None, err.problem)]
    except MemoryError:
        return [(where, {}, None, "not enough memory to process this image")]
    except Exception as err:  # a defect in a decoder must not stop the batch
        return [(where, {}, None, f"could not process image ({type(err).__name__})")]


def _source_path(source) -> str:
    """What a record's "path" says: the file, or a DICOM series' folder."""
    return source if isinstance(source, str) else source.path


def _scans_of(source, index, all_slices, study):
    """-> (the scans to classify, their volume when they are a study's (or --all-slices') slices)."""
    from core.io import check_file, file_format, load_scan
    from core.volume import Series, load_volume

    series = isinstance(source, Series)
    if not series:
        check_file(source)  # before sniffing the content: a FIFO would block the read for ever
    if all_slices or (study and index is None and (series or file_format(source))):
        volume = load_volume(source)
        if all_slices or len(volume) > 1:
            return [volume.scan(i) for i in range(len(volume))], volume
        return [volume.scan(None)], None  # one slice: a single scan, as before
    if series:
        return [load_volume(source).scan(index)], None
    return [load_scan(source, index=index)], None


def _study_fields(volume) -> dict:
    """The volume-wide fields of a study record (which series / volume, notes)."""
    fields = {}
    for key in ("series", "volume", "volumes", "notes"):
        if key in volume.info:
            fields[key] = volume.info[key]
    if volume.files:
        fields["_files"] = [os.path.relpath(f, volume.path) for f in volume.files]
    return fields


def _study_record(path, tag, records, classifier) -> dict:
    """One record for a whole multi-slice scan from its slices' records (``core.study``)."""
    from core.study import study_verdict, window_summary

    verdict = study_verdict([r["probabilities"] for r in records], [r["label"] is None for r in records],
                            classifier.classes, classifier.card.low_confidence_threshold)
    record = {
        "path": path,
        "label": verdict.label,
        "confidence": None if verdict.confidence is None else round(verdict.confidence, 6),
        "probabilities": {k: round(float(v), 6) for k, v in verdict.probabilities.items()},
        "slices": verdict.slices,
        "evidence_slices": verdict.evidence_slices,
    }
    files = tag.get("_files")
    if files:
        record["evidence_files"] = [files[i] for i in verdict.evidence_slices]
    if verdict.abstained_slices:
        record["abstained_slices"] = verdict.abstained_slices
    window = window_summary([r.get("window") for r in records])
    if window:
        record["window"] = window
    record.update({k: v for k, v in tag.items() if not k.startswith("_")})
    warnings = []
    if verdict.abstain:
        warnings.append(STUDY_ABSTAIN_WARNING)
    else:
        for i in verdict.evidence_slices:  # what the slices the verdict rests on were warned about
            said = records[i].get("warning")
            if said and said != LOW_CONFIDENCE_WARNING and said not in warnings:
                warnings.append(said)
        if verdict.low_confidence:
            warnings.append(LOW_CONFIDENCE_WARNING)
        if verdict.isolated_slices:
            record["isolated_slices"] = verdict.isolated_slices
            warnings.append(_isolated_warning(verdict, records))
        if verdict.abstained_slices:
            warnings.append(f"{len(verdict.abstained_slices)} of {verdict.slices} slices do not look like "
                            "brain MRI slices and were left out")
    if warnings:
        record["warning"] = "; ".join(warnings)
    return record


def _isolated_warning(verdict, records) -> str:
    """Names the tumour-class slices the study verdict does not rest on (core.study)."""
    from core.study import MIN_EVIDENCE

    shown = ", ".join(f"{i} ({records[i]['label']} {records[i]['confidence']:.0%})" for i in verdict.isolated_slices)
    many = len(verdict.isolated_slices) > 1
    return (f"slice{'s' if many else ''} {shown} suggest{'' if many else 's'} a tumour the study verdict does "
            f"not rest on (it needs {MIN_EVIDENCE} slices of one class): review {'them' if many else 'it'}")


def _image_checks(scan):
    from core.ood import is_blank

    return is_blank(scan.pixels), scan.info.get("chroma"), scan.info.get("modality")


def _judge(record, prediction, checks, card_data):
    """Add the out-of-distribution warning (else the low-confidence one) to ``record``; where the
    scan is not a brain MRI at all, the record abstains: ``"label": null``, ``"confidence": null``,
    the probabilities kept."""
    from core.ood import verdict_for

    blank, chroma, modality = checks
    verdict = verdict_for(blank, chroma, prediction.logits, card_data, prediction.ood_distance, modality,
                          prediction.structure, prediction.rarity_warning)
    warning = verdict.warning
    if warning is None and prediction.low_confidence:
        warning = LOW_CONFIDENCE_WARNING
    if verdict.abstain:
        record["label"] = None
        record["confidence"] = None
    if warning:
        record["warning"] = warning


def _scan_fields(scan, slice_asked=False) -> dict:
    """Which slice and window a result is about (only where there is something to say)."""
    fields = {}
    if "slice" in scan.info or slice_asked:
        fields["slice"] = int(scan.info.get("slice", 0))
    if "slices" in scan.info:
        fields["slices"] = int(scan.info["slices"])
    if "file" in scan.info:  # a DICOM series' slice: its own file
        fields["file"] = scan.info["file"]
    for key in ("volume", "volumes", "series"):  # 4-D NIfTI: which volume; which DICOM series
        if key in scan.info:
            fields[key] = scan.info[key]
    if "window" in scan.info:
        fields["window"] = scan.info["window"]
    return fields


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
            self.csv.writerow(["path", "label", "confidence", *classes, "warning", "error", "slice", "slices",
                               "evidence_slices"])

    def result(self, record: dict):
        if self.fmt == "jsonl":
            line = json.dumps(record, ensure_ascii=False)
            if not _encodable(line):
                # A file name that is not valid UTF-8 (Python holds its bytes as lone
                # surrogates): JSON's \u escapes keep the line valid and the name exact.
                line = json.dumps(record, ensure_ascii=True)
            self.stream.write(line + "\n")
        else:
            probs = record.get("probabilities", {})
            path = record["path"] if _encodable(record["path"]) else _printable_path(record["path"])
            self.csv.writerow(
                [path, record.get("label", ""), record.get("confidence", ""),
                 *(probs.get(c, "") for c in self.classes), record.get("warning", ""), record.get("error", ""),
                 record.get("slice", ""), record.get("slices", ""),
                 " ".join(str(i) for i in record.get("evidence_slices", ()))]
            )
        self.stream.flush()


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _printable_path(path: str) -> str:
    """A file name's undecodable bytes as ``\\xNN`` (CSV has no escape of its own)."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def predict(paths, model_path, fmt="jsonl", batch_size=None, quiet=False, index=None, all_slices=False) -> int:
    classifier = _load_classifier(model_path)
    if classifier is None:
        return EXIT_MODEL
    return predict_with(classifier, paths, fmt, batch_size, quiet, index, all_slices)


def default_batch_size(classifier) -> int:
    values_per_scan = classifier.input_size * classifier.input_size * classifier.channels
    return max(1, min(256, BATCH_INPUT_VALUES // values_per_scan))


def predict_with(classifier, paths, fmt="jsonl", batch_size=None, quiet=False, index=None,
                 all_slices=False) -> int:
    """`predict` with a loaded classifier: the exit code; results go to stdout."""
    import cv2

    from core.series import discover

    batch_size = batch_size or default_batch_size(classifier)
    # The pool below already keeps both cores busy, one scan per thread; OpenCV's own
    # threads on top only add hand-offs (preprocess 1.7 -> 1.2 CPU-ms per scan with 1).
    cv2.setNumThreads(1)
    # Files and folders -> files and DICOM series (each series is one volume); a volume
    # without --slice/--all-slices gets one study record (core.study) from all its slices.
    found = list(discover(paths))
    study = index is None and not all_slices
    writer = _Writer(fmt, classifier.classes)
    progress = None
    if not quiet and len(found) >= PROGRESS_MIN_FILES:
        from tqdm import tqdm

        progress = tqdm(total=len(found), file=sys.stderr, unit="scan", desc="predict", mininterval=0.5)
    failures = 0
    # Whole volumes are held in flight with --all-slices and for studies, so look fewer files ahead.
    volumes = any(kind is not None for _, error, kind in found if error is None)
    ahead = 2 if all_slices or (study and volumes) else batch_size * 2
    # Decoding runs in a thread pool ahead of inference (Pillow and OpenCV release the GIL).
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2)) as pool:
        jobs = (
            pool.submit(_read_and_preprocess, path, classifier.input_size, classifier.preprocessing,
                        index, all_slices, study)
            if error is None else [(_source_path(path), {}, None, error)]
            for path, error, _ in found
        )
        slices_so_far = []  # the records of the study whose slices are being classified
        items = (item for results in _prefetch(jobs, ahead) for item in _ends_file(results))
        for group in _batched(items, batch_size):
            ok = [item for item in group if item[2] is not None]
            predictions = classifier.predict_batch(_stack([item[2] for item in ok])) if ok else []
            by_item = iter(predictions)
            for path, fields, tensor, error, last in group:
                if tensor is None:
                    failures += 1
                    writer.result({"path": path, "error": error})
                else:
                    prediction = next(by_item)
                    record = prediction.as_json(path)
                    checks = fields.pop("_checks")
                    tag = fields.pop("_study", None)
                    record.update(fields)
                    _judge(record, prediction, checks, classifier.card.data)
                    if tag is None:
                        writer.result(record)
                        continue
                    slices_so_far.append(record)
                    if last:
                        writer.result(_study_record(path, tag, slices_so_far, classifier))
                        slices_so_far = []
            if progress:
                progress.update(sum(item[4] for item in group))
    if progress:
        progress.close()
    return EXIT_SCAN_FAILED if failures else EXIT_OK


def _ends_file(results):
    """Tag each result with 1 on the last one of its file (the progress bar counts files)."""
    for at, item in enumerate(results):
        yield (*item, int(at == len(results) - 1))


def _prefetch(jobs, ahead):
    """Keep ``ahead`` decode jobs in flight; yield each job's list of results, in order."""
    from collections import deque

    queue = deque()
    for job in jobs:
        queue.append(job)
        if len(queue) > ahead:
            yield _resolve(queue.popleft())
    while queue:
        yield _resolve(queue.popleft())


def _resolve(job):
    return job if isinstance(job, list) else job.result()


def _stack(tensors):
    import numpy as np

    return np.stack(tensors)


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
