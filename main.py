"""NeuroScanCAM: one entry point for the window and the command line.

    python main.py                 open the window
    python main.py SCAN            open the window with SCAN loaded
    python main.py predict ...     classify scans (see --help)
    python main.py explain ...     write Grad-CAM / Grad-CAM++ overlays
    python main.py --self-test     check the bundled model
"""

import sys

COMMANDS = {"predict", "explain"}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wants_cli = any(a in COMMANDS for a in argv[:3]) or any(
        a in ("--self-test", "--version", "-h", "--help") for a in argv
    )
    if wants_cli:
        from core.cli import run_cli

        try:
            return run_cli(argv)
        except SystemExit as exit_request:  # argparse: --help, --version, usage errors
            return int(exit_request.code or 0)
        except KeyboardInterrupt:
            return 130
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
