"""Long fuzzing run of the ``load_scan`` property in ``tests/test_fuzz.py``.

    .venv/bin/python scripts/fuzz_long.py --cases 2000 [--seed 0] [--save-failures DIR]

Every case is a real PNG/JPEG/TIFF/GIF/BMP/DICOM/NIfTI file with bytes flipped, overwritten,
inserted, deleted or cut off. Allowed outcomes: a Scan with finite 2-D float32 pixels, or
a ScanError. Anything else is counted as a failure (and its input saved with
--save-failures) instead of stopping the run. Prints the counts; exits 1 if any failed.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import time
import traceback
import warnings

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000, help="how many mutated files (default 2000)")
    parser.add_argument("--seed", type=int, default=0, help="Hypothesis seed, for a repeatable run")
    parser.add_argument("--save-failures", metavar="DIR", help="write each failing input here")
    args = parser.parse_args(argv)

    from hypothesis import HealthCheck, given, seed, settings

    from tests.test_fuzz import IMAGE_SEEDS, VOLUME_SEEDS, cases, outcome_of

    counts = collections.Counter()
    by_seed = collections.Counter()
    failures = []
    scratch = os.path.join(tempfile.mkdtemp(prefix="fuzz-long-"), "case.bin")
    started = time.monotonic()

    @seed(args.seed)
    @settings(max_examples=args.cases, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=cases(IMAGE_SEEDS + VOLUME_SEEDS))
    def run(case):
        name, data = case
        with open(scratch, "wb") as handle:
            handle.write(data)
        counts["cases"] += 1
        by_seed[name] += 1
        try:
            counts[{"scan": "Scans", "error": "ScanErrors"}[outcome_of(scratch)]] += 1
        except BaseException as err:  # noqa: BLE001 - recorded, not raised: the run goes on
            if isinstance(err, KeyboardInterrupt):
                raise
            counts["failures"] += 1
            where = traceback.extract_tb(err.__traceback__)[-1]
            failures.append((name, f"{type(err).__name__}: {str(err)[:200]}", f"{where.filename}:{where.lineno}"))
            if args.save_failures:
                os.makedirs(args.save_failures, exist_ok=True)
                with open(os.path.join(args.save_failures, f"failure-{len(failures):04d}-{name}.bin"), "wb") as out:
                    out.write(data)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom/nibabel complain about damaged files: expected
        run()
    elapsed = time.monotonic() - started
    print(f"cases {counts['cases']}  Scans {counts['Scans']}  ScanErrors {counts['ScanErrors']}  "
          f"failures {counts['failures']}  ({elapsed:.0f} s)")
    print("per seed: " + ", ".join(f"{k} {v}" for k, v in sorted(by_seed.items())))
    distinct = collections.Counter((message.split(":")[0], place) for _, message, place in failures)
    for (kind, place), n in distinct.most_common():
        example = next(f for f in failures if f[1].startswith(kind) and f[2] == place)
        print(f"FAILURE x{n}: {example[1]} at {place} (seed {example[0]})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
