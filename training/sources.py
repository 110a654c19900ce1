"""Training samples from many sources: the Kaggle folder layout and ``manifest.csv`` sources.

Every sample carries its source, sequence and group, so that validation can be split by
group (patient or examination), loss weights can balance sources within each class, and
results can be reported per source x class x sequence.

A manifest source is a folder with ``manifest.csv`` (columns path, class, source, sequence,
plane, group, slice, mask, note, split; ``path`` and ``mask`` relative to the folder).
Rows with ``split == "test"`` are held out: ``load_manifest(..., split="train")`` never
returns them, and only the generalisation benchmark asks for ``split="test"``.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass

import numpy as np

KAGGLE_SOURCE = "kaggle"
# The Kaggle set does not label sequences; its README: tumours mostly T1 post-contrast
# (figshare), normals of mixed sequences (Br35H, SARTAJ).
UNLABELLED_SEQUENCE = "unlabelled"
MANIFEST = "manifest.csv"
SPLITS = ("train", "test")


@dataclass(frozen=True)
class Sample:
    path: str
    label: int
    source: str
    sequence: str
    group: str
    mask: str = ""  # tumour mask file, "" where none


def manifest_sources(data_root: str) -> list[str]:
    """The manifest sources directly under ``data_root`` (folders holding manifest.csv), sorted."""
    return sorted(os.path.join(data_root, d) for d in os.listdir(data_root)
                  if os.path.isfile(os.path.join(data_root, d, MANIFEST)))


def load_manifest(folder: str, names: list[str], split: str = "train") -> list[Sample]:
    """The rows of ``folder/manifest.csv`` with this ``split`` whose class is one of ``names``."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, not {split!r}")
    manifest = os.path.join(folder, MANIFEST)
    if not os.path.isfile(manifest):
        raise FileNotFoundError(f"{folder} has no {MANIFEST} (expected a manifest source)")
    samples = []
    with open(manifest, newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != split:
                continue
            if row["class"] not in names:
                raise ValueError(f"{manifest}: class {row['class']!r} is not one of {names}")
            mask = row.get("mask") or ""
            samples.append(Sample(
                path=os.path.join(folder, row["path"]),
                label=names.index(row["class"]),
                source=row["source"],
                sequence=row["sequence"] or UNLABELLED_SEQUENCE,
                # a row without a group is its own group (never merged with others by accident)
                group=f"{row['source']}:{row['group'] or row['path']}",
                mask=os.path.join(folder, mask) if mask else "",
            ))
    return samples


def kaggle_samples(paths, labels, groups) -> list[Sample]:
    """Kaggle ``Training/`` files as samples; ``groups`` are near-duplicate group ids."""
    return [Sample(p, int(l), KAGGLE_SOURCE, UNLABELLED_SEQUENCE, f"{KAGGLE_SOURCE}:{g}")
            for p, l, g in zip(paths, labels, groups)]


def source_class_weights(sources, labels, num_classes: int) -> np.ndarray:
    """Per-sample loss weights (mean 1): every class weighs the same in total, and inside a
    class every source that has it weighs the same. So no source's class mix can be learned
    as a shortcut: within TCGA-LGG, glioma and notumor weigh alike, and a class that only
    one source has is not outweighed by a large source."""
    sources = np.asarray(sources)
    labels = np.asarray(labels)
    weights = np.zeros(len(labels), np.float64)
    for c in range(num_classes):
        in_class = labels == c
        cell_sources = np.unique(sources[in_class])
        for s in cell_sources:
            cell = in_class & (sources == s)
            weights[cell] = 1.0 / (len(cell_sources) * cell.sum())
    return (weights / weights.mean()).astype(np.float32)


def counts_table(samples_or_cols, names: list[str]) -> dict:
    """{source: {sequence: {class: n}}} for a model card."""
    sources, sequences, labels = samples_or_cols
    table: dict = {}
    for s, q, l in zip(sources, sequences, labels):
        cell = table.setdefault(s, {}).setdefault(q, {})
        cell[names[int(l)]] = cell.get(names[int(l)], 0) + 1
    return table
