"""``python -m gui [SCAN] [--model PATH]``: the same window ``main.py`` opens."""

import argparse
import sys

from gui.app import run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gui", description="Open the classifier window.")
    parser.add_argument("scan", nargs="?", help="a scan to open at start")
    parser.add_argument("--model", help="a .keras model with its .json card beside it (default: the bundled one)")
    args = parser.parse_args(argv)
    return run(scan_path=args.scan, model_path=args.model)


if __name__ == "__main__":
    sys.exit(main())
