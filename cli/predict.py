"""``predict``: classify scans, one JSON line (or CSV row) per scan or study on stdout."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor

from cli.records import (EXIT_MODEL, EXIT_OK, EXIT_SCAN_FAILED, _judge, _load_classifier, _read_and_preprocess,
                         _source_path, _study_record, _Writer)

PROGRESS_MIN_FILES = 50

# `predict` feeds the model this many input values per call unless --batch-size says
# otherwise: 256 scans for the bundled 128 x 128 model, 15 for a 299 x 299 RGB one, so a
# large user model cannot run out of memory. Per-scan inference cost falls with the batch
# (2 cores, bundled model: 5.4 CPU-ms at 32, 4.0 at 128, 3.6 at 256; benchmarks/RESULTS.md).
BATCH_INPUT_VALUES = 256 * 128 * 128


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



def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


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
