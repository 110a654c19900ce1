"""The command line's parser: ``build_parser`` (``predict``, ``explain``, ``--self-test``,
``--version``), option types and "did you mean" for misspelt commands and options."""

from __future__ import annotations

import argparse

from core.version import APP_NAME, __version__


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
    e.add_argument("--method", choices=("gradcam", "gradcam++", "layercam", "ig", "both", "all"), default="both",
                   help="both: gradcam + gradcam++ (default); layercam: the window's default map, at the layer "
                        "the model card names; ig: Integrated Gradients; all: gradcam + gradcam++ + ig")
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
