"""Command line: ``predict``, ``explain``, ``--self-test``, ``--version``.

Contract (documented in docs/cli.md):
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

import os
import sys

from core.errors import ModelError
from cli.explain import (EXPLAIN_IN_FLIGHT, EXPLAIN_METHODS, EXPLAIN_WRITERS, METHOD_NAMES, PNG_COMPRESS_LEVEL,
                         _output_stem, _write_map, _write_report, explain, explain_methods, save_overlay_png)
from cli.predict import BATCH_INPUT_VALUES, PROGRESS_MIN_FILES, default_batch_size, predict, predict_with
from cli.records import (EXIT_MODEL, EXIT_OK, EXIT_SCAN_FAILED, EXIT_USAGE, LOW_CONFIDENCE_WARNING,
                         STUDY_ABSTAIN_WARNING, _image_checks, _judge, _load_classifier, _read_and_preprocess,
                         _scan_fields, _study_fields, _study_record, _Writer)
from cli.usage import build_parser

__all__ = ["BATCH_INPUT_VALUES", "EXIT_MODEL", "EXIT_OK", "EXIT_SCAN_FAILED", "EXIT_USAGE",
           "LOW_CONFIDENCE_WARNING", "METHOD_NAMES", "build_parser", "default_batch_size", "explain",
           "explain_methods", "predict", "predict_with", "run_cli", "save_overlay_png", "self_test"]


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
