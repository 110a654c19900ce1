"""NeuroScanCAM: one entry point for the window and the command line.

    python main.py                 open the window
    python main.py SCAN            open the window with SCAN loaded
    python main.py predict ...     classify scans (see --help)
    python main.py explain ...     write Grad-CAM / Grad-CAM++ overlays
    python main.py --self-test     check the bundled model
    --verbose (anywhere)           also show TensorFlow's and pydicom's log messages
"""

import difflib
import os
import sys

COMMANDS = {"predict", "explain"}


def _misspelt_command(argv) -> bool:
    """``main.py predct ...``: a first word close to a command that is not a file is a command typo."""
    first = argv[0] if argv else ""
    return (bool(first) and not first.startswith("-") and not os.path.exists(first)
            and bool(difflib.get_close_matches(first, COMMANDS, n=1, cutoff=0.6)))


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in argv
    from core import quiet

    quiet.install(verbose)  # before anything imports TensorFlow: its start-up log only with --verbose
    wants_cli = any(a in COMMANDS for a in argv[:3]) or any(
        a in ("--self-test", "--version", "-h", "--help") for a in argv
    ) or _misspelt_command(argv)
    if wants_cli:
        from cli import run_cli

        try:
            return run_cli(argv)
        except SystemExit as exit_request:  # argparse: --help, --version, usage errors
            return int(exit_request.code or 0)
        except KeyboardInterrupt:
            return 130
    argv = [a for a in argv if a != "--verbose"]
    model_path = None
    if "--model" in argv:
        at = argv.index("--model")
        if at + 1 >= len(argv):
            print("error: --model needs a file", file=sys.stderr)
            return 2
        model_path = argv[at + 1]
        del argv[at : at + 2]
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print(f"error: unexpected arguments {argv}; see python main.py --help", file=sys.stderr)
        return 2
    from gui.app import run

    return run(scan_path=argv[0] if argv else None, model_path=model_path)


if __name__ == "__main__":
    sys.exit(main())
