"""Generalisation benchmark: how a model does on sources, sequences and images it was not trained on.

    python benchmarks/bench_generalisation.py [--model FILE] [--shared DIR] [--json OUT] [--update-card] [--append]

Runs the app's own path (core.io.load_scan -> preprocessing -> Classifier -> core.ood.verdict_for)
on the held-out parts only:
  * ``split == test`` rows of every manifest source under ``DIR/data`` (tcga-lgg sites HT/FG,
    tiantan-pituitary's 37 test groups, all of alzheimer-t1), per source x class x sequence;
  * the Kaggle ``Testing/`` split, full and leak-free (no near-duplicate in ``Training/``);
  * intensity-inverted copies of every Kaggle test tumour scan (head inverted: a T2-like stand-in);
  * a non-MRI set: training.ood's generated and matplotlib pictures, plus every DICOM file that
    pydicom (and pydicom-data, where installed) ships whose Modality is not MR.

For each: accuracy / recall, how often the app abstains ("not a brain MRI") or warns, ECE per
source, selective accuracy (accuracy of the 90 % most confident; abstentions count as least
confident) and silent confident errors (wrong, >= 90 % confidence, no warning).
Nothing here is used to train or choose anything.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, append_results, markdown_table  # noqa: E402

from training.metrics import expected_calibration_error  # noqa: E402

MIN_CELL = 1  # every cell is reported; the README marks small ones by their n
CONFIDENT = 0.90


def _judge(classifier, pixel_list, chromas=None, modalities=None):
    """[(label or None, probabilities row, warning)] for raw greyscale scans, judged as ``predict``
    judges them (cli.records._judge: abstention, warnings, low confidence)."""
    from cli.records import _judge as judge_record
    from core.ood import ImageChecks, is_blank

    chromas = chromas or [None] * len(pixel_list)
    modalities = modalities or [None] * len(pixel_list)
    out = []
    for start in range(0, len(pixel_list), 64):
        chunk = pixel_list[start : start + 64]
        predictions = classifier.predict_pixels(chunk)
        for pixels, chroma, modality, p in zip(chunk, chromas[start : start + 64], modalities[start : start + 64], predictions):
            record = {"label": p.label}
            judge_record(record, p, ImageChecks(is_blank(pixels), chroma, modality, np.shape(pixels)[:2]), classifier.card.data)
            probs = np.array([p.probabilities[c] for c in classifier.classes])
            out.append((record["label"], probs, record.get("warning")))
    return out


def summarise(results, labels, classes) -> dict:
    """Accuracy, abstention and warning rates, ECE, selective accuracy, silent confident errors."""
    labels = list(labels)
    n = len(labels)
    if n == 0:
        return {"n": 0}
    predicted = [r[0] for r in results]
    probs = np.stack([r[1] for r in results])
    confidence = probs.max(axis=1)
    argmax = [classes[i] for i in probs.argmax(axis=1)]
    correct = np.array([p == y for p, y in zip(predicted, labels)])  # an abstention is not correct
    abstained = np.array([p is None for p in predicted])
    warned = np.array([r[2] is not None for r in results])
    silent_wrong = np.array([(a != y) and c >= CONFIDENT and w is None
                             for a, y, c, w in zip(argmax, labels, confidence, [r[2] for r in results])])
    # selective accuracy: keep the 90 % most confident; abstentions rank lowest
    ranking = np.where(abstained, -1.0, confidence)
    keep = np.argsort(-ranking, kind="stable")[: max(1, int(round(0.9 * n)))]
    return {
        "n": n,
        "accuracy": float(correct.mean()),
        "abstained": float(abstained.mean()),
        "warned": float(warned.mean()),
        "warned_when_right": float(warned[correct].mean()) if correct.any() else None,
        "warned_when_wrong": float(warned[~correct].mean()) if (~correct).any() else None,
        "ece": expected_calibration_error(probs, [classes.index(y) for y in labels])[0],
        "selective_accuracy_90": float(correct[keep].mean()),
        "silent_confident_wrong": float(silent_wrong.mean()),
        "predicted": {c: int(sum(p == c for p in predicted)) for c in [*classes, None] if sum(p == c for p in predicted)},
    }


def manifest_rows(shared, names):
    """(path, class name, source, sequence) of every ``split == test`` row of the manifest sources."""
    from training.sources import load_manifest, manifest_sources

    return [(s.path, names[s.label], s.source, s.sequence)
            for folder in manifest_sources(os.path.join(shared, "data")) for s in load_manifest(folder, names, "test")]


def head_inverted(pixels):
    """The head's intensities inverted, background kept: bench_robustness's strong inversion."""
    from bench_robustness import inversion

    return inversion(pixels.astype(np.float32), "strong", None)


STRIP_DEPTH = 0.08  # erosion disc radius, as a share of the head's equivalent diameter


def skull_stripped(pixels):
    """A fixed, simple brain extraction of a raw greyscale scan (not training's augmentation, so a
    model is not scored on its own training transform): Otsu threshold, largest component, holes
    filled, eroded by a disc of ``STRIP_DEPTH`` of the head's equivalent diameter, outside set to 0.
    The app's preprocessing then crops to what is left, as for a real skull-stripped scan."""
    import cv2

    x = np.asarray(pixels, np.float32)
    high = float(np.percentile(x, 99.5)) or 1.0
    grey = np.clip(x / high * 255.0, 0, 255).astype(np.uint8)
    _, mask = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count < 2:
        return x
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    head = (labels == largest).astype(np.uint8)
    contours, _ = cv2.findContours(head, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(head)
    cv2.drawContours(filled, contours, -1, 1, thickness=cv2.FILLED)
    radius = max(1, int(round(STRIP_DEPTH * np.sqrt(4.0 * filled.sum() / np.pi))))
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    brain = cv2.erode(filled, disc)
    if brain.sum() < 0.05 * filled.sum():
        return x
    return np.where(brain > 0, x, 0.0).astype(np.float32)


def non_mri_dicoms():
    """(name, pixels, chroma) of every shipped DICOM test file whose Modality is not MR."""
    import pydicom
    import pydicom.data

    from core.io import load_scan

    # pydicom's own test files and pydicom-data's (data_store), found on disk: no download
    folders = [os.path.join(os.path.dirname(pydicom.data.__file__), "test_files")]
    try:
        import data_store

        folders.append(os.path.join(os.path.dirname(data_store.__file__), "data"))
    except ImportError:
        pass
    paths = sorted({p for f in folders for p in glob.glob(os.path.join(f, "**", "*.dcm"), recursive=True)})
    out = []
    for path in paths:
        try:
            modality = str(pydicom.dcmread(path, stop_before_pixels=True).get("Modality", ""))
        except Exception:  # not every test file is a valid DICOM (that is what some test)
            continue
        if modality in ("", "MR") or modality in ("RTPLAN", "RTSTRUCT", "SR", "PR", "KO"):
            continue
        try:
            scan = load_scan(path)
        except Exception:  # ScanError, MemoryError, a decoder's own error: undecodable here, not part of the set
            continue
        out.append((f"dicom:{os.path.basename(path)} ({modality})", scan.pixels, scan.info.get("chroma"), modality))
    return out


def run(model_path, shared):
    from core.classifier import Classifier
    from core.io import load_scan
    from training.data import class_names, leak_free_test_indices, list_split, load_split
    from training.dedup import dhash_bits
    from training.ood import non_mri_images

    classifier = Classifier.load(model_path)
    classes = classifier.classes
    report = {"model": os.path.basename(classifier.model_path), "sha256": classifier.checksum, "held_out": {}}

    # 1. manifest test rows, per source x class x sequence
    rows = manifest_rows(shared, classes)
    scans = [load_scan(path) for path, *_ in rows]
    results = _judge(classifier, [s.pixels for s in scans], [s.info.get("chroma") for s in scans])
    by_source: dict = {}
    for (path, cls, source, seq), r in zip(rows, results):
        by_source.setdefault(source, []).append((cls, seq, r))
    for source, items in sorted(by_source.items()):
        cells = {}
        for key in sorted({(c, q) for c, q, _ in items}):
            sel = [(c, r) for c, q, r in items if (c, q) == key]
            cells[f"{key[0]}/{key[1]}"] = summarise([r for _, r in sel], [c for c, _ in sel], classes)
        report["held_out"][source] = {
            "all": summarise([r for *_, r in items], [c for c, *_ in items], classes), "cells": cells}

    # 2. Kaggle Testing/, full and leak-free
    kaggle = os.path.join(shared, "data", "brain-tumor-mri")
    paths, labels = list_split(kaggle, "Testing", classes)
    test_scans = [load_scan(p) for p in paths]
    kaggle_results = _judge(classifier, [s.pixels for s in test_scans], [s.info.get("chroma") for s in test_scans])
    names = [classes[i] for i in labels]
    train = load_split(kaggle, "Training", class_names(kaggle), classifier.input_size, progress=False,
                       method=classifier.preprocessing)

    class _Bits:
        hash_bits = np.stack([dhash_bits(s.pixels) for s in test_scans])

    free = leak_free_test_indices(_Bits, train)
    report["kaggle"] = {
        "full": summarise(kaggle_results, names, classes),
        "leak_free": summarise([kaggle_results[i] for i in free], [names[i] for i in free], classes),
        "per_class_full": {c: summarise([r for r, y in zip(kaggle_results, names) if y == c], [c] * names.count(c), classes)
                           for c in classes},
    }

    # 3. inverted Kaggle tumour scans (T2-like stand-in)
    tumour = [i for i, y in enumerate(names) if y != "notumor"]
    inverted = _judge(classifier, [head_inverted(test_scans[i].pixels) for i in tumour])
    inv_names = [names[i] for i in tumour]
    silent_notumor = [r[0] == "notumor" and r[1].max() >= CONFIDENT and r[2] is None for r in inverted]
    report["kaggle_inverted_tumours"] = summarise(inverted, inv_names, classes) | {
        "silent_confident_notumor": float(np.mean(silent_notumor)),
        "right_or_warned": float(np.mean([(r[0] == y) or (r[2] is not None) for r, y in zip(inverted, inv_names)])),
    }

    # 4. non-MRI set: the app should abstain
    # Pictures first, judged by their pixels alone; then DICOMs, also by their Modality tag.
    pictures = [(n, p, c, None) for n, p, c in non_mri_images()]
    dicoms = non_mri_dicoms()
    report["non_mri"] = {}
    for name, items in (("pictures", pictures), ("dicom_by_pixels", [(n, p, c, None) for n, p, c, _ in dicoms]),
                        ("dicom", dicoms)):
        judged = _judge(classifier, [p for _, p, _, _ in items], [c for _, _, c, _ in items], [m for *_, m in items])
        report["non_mri"][name] = {
            "n": len(items),
            "abstained": float(np.mean([r[0] is None for r in judged])),
            "abstained_or_warned": float(np.mean([r[0] is None or r[2] is not None for r in judged])),
            "missed": [n for (n, *_), r in zip(items, judged) if r[0] is not None],
        }
    return report


def _pct(v):
    return "—" if v is None else f"{100 * v:.1f} %"


def tables(report) -> str:
    rows = []
    for source, part in report["held_out"].items():
        for cell, s in part["cells"].items():
            rows.append([source, cell, s["n"], _pct(s["accuracy"]), _pct(s["abstained"]), _pct(s["warned"]),
                         _pct(s["silent_confident_wrong"])])
        a = part["all"]
        rows.append([f"**{source}**", "all", a["n"], _pct(a["accuracy"]), _pct(a["abstained"]), _pct(a["warned"]),
                     _pct(a["silent_confident_wrong"])])
    for name in ("full", "leak_free"):
        s = report["kaggle"][name]
        rows.append([f"**kaggle {name}**", "all", s["n"], _pct(s["accuracy"]), _pct(s["abstained"]), _pct(s["warned"]),
                     _pct(s["silent_confident_wrong"])])
    s = report["kaggle_inverted_tumours"]
    rows.append(["kaggle tumours, inverted", "all", s["n"], _pct(s["accuracy"]), _pct(s["abstained"]), _pct(s["warned"]),
                 _pct(s["silent_confident_wrong"])])
    first = markdown_table(rows, ["source", "class/sequence", "n", "recall", "abstained", "warned", "silent confident wrong"])
    rows = []
    for source, part in report["held_out"].items():
        a = part["all"]
        rows.append([source, _pct(a["ece"]), _pct(a["selective_accuracy_90"]), _pct(a["warned_when_right"]), _pct(a["warned_when_wrong"])])
    for name in ("full", "leak_free"):
        a = report["kaggle"][name]
        rows.append([f"kaggle {name}", _pct(a["ece"]), _pct(a["selective_accuracy_90"]), _pct(a["warned_when_right"]), _pct(a["warned_when_wrong"])])
    second = markdown_table(rows, ["source", "ECE", "accuracy of the 90 % most confident", "warned when right", "warned when wrong"])
    inv = report["kaggle_inverted_tumours"]
    notes = (f"Inverted Kaggle tumour scans: right or warned {_pct(inv['right_or_warned'])}, silently called "
             f"'no tumour' with >= 90 % confidence {_pct(inv['silent_confident_notumor'])} (target <= 5 %).")
    labels = {"pictures": "generated and matplotlib pictures", "dicom_by_pixels": "non-MR DICOM test files, pixels only",
              "dicom": "non-MR DICOM test files, as the app reads them (Modality tag too)"}
    for name, nm in report["non_mri"].items():
        missed = nm["missed"]
        shown = ", ".join(missed[:12]) + (f" and {len(missed) - 12} more" if len(missed) > 12 else "")
        notes += (f"\nNon-MRI, {labels[name]} ({nm['n']}): abstained {_pct(nm['abstained'])}, abstained or warned "
                  f"{_pct(nm['abstained_or_warned'])}; not abstained: {shown or 'none'}.")
    return first + "\n\n" + second + "\n\n" + notes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="bench_generalisation.py")
    parser.add_argument("--model", default=None)
    parser.add_argument("--shared", default=os.path.join(ROOT, "..", "shared"))
    parser.add_argument("--json", default=None, help="write the full report here")
    parser.add_argument("--update-card", action="store_true", help="write the report into the model card")
    parser.add_argument("--append", action="store_true", help="append the tables to benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report = run(args.model, os.path.abspath(args.shared))
    text = tables(report)
    print(text)
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(report, handle, indent=1)
    if args.update_card:
        from core.classifier import Classifier
        from core.modelcard import write_card

        card = Classifier.load(args.model).card
        write_card(card.path, dict(card.data, generalisation=report))
    if args.append:
        append_results(f"Generalisation benchmark ({report['model']}, sha256 {report['sha256'][:12]}…)", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
