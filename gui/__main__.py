"""``python -m gui [SCAN] [--model PATH]``: the same window ``main.py`` opens."""

import argparse
import sys

from core import quiet
from gui.app import run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui", description="Open the classifier window.")
    parser.add_argument("scan", nargs="?", help="a scan to open at start")
    parser.add_argument("--model", metavar="FILE",
                        help="a .keras model with its .json card beside it (default: the bundled one)")
    parser.add_argument("--verbose", action="store_true", help="also show TensorFlow's and pydicom's log messages")
    args = parser.parse_args(argv)
    quiet.install(args.verbose)  # before the model worker imports TensorFlow
    return run(scan_path=args.scan, model_path=args.model)


if __name__ == "__main__":
    sys.exit(main())
