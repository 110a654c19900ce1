"""benchmarks/bench_localisation.py: the scores by hand, and a whole run on generated sources."""

from __future__ import annotations

import csv
import json
import os
import sys

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, tiny_classifier_model, save_with_card

sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import bench_localisation as bench  # noqa: E402


def test_pointing_game_and_heat_share_by_hand():
    mask = np.zeros((40, 40), bool)
    mask[10:14, 10:14] = True  # 16 px
    head = np.zeros((40, 40), bool)
    head[0:40, 0:20] = True  # 800 px, the mask inside it
    near = bench.dilate(mask, 5)
    assert near[10 - 5, 12] and not near[10 - 6, 12]  # 5 px, a disk
    heat = np.zeros((40, 40), np.float32)
    heat[12, 12], heat[30, 5] = 3.0, 1.0
    s = bench.score(heat, mask, near, head)
    assert s["hit"] and s["heat_share"] == pytest.approx(0.75) and s["mask_share"] == pytest.approx(16 / 800)
    heat[18, 12] = 4.0  # 4 px below the mask's edge (row 13): still inside the dilated mask
    assert bench.score(heat, mask, near, head)["hit"]
    heat[18, 12], heat[25, 12] = 0.0, 5.0  # 12 px off: a miss
    assert not bench.score(heat, mask, near, head)["hit"]
    empty = bench.score(np.zeros((40, 40), np.float32), mask, near, head)
    assert empty["empty"] and not empty["hit"] and empty["heat_share"] == 0.0
    summary = bench.summarise([
        {"hit": True, "empty": False, "heat_share": 0.3, "mask_share": 0.1},
        {"hit": False, "empty": False, "heat_share": 0.1, "mask_share": 0.1},
    ])
    assert summary["pointing"] == 0.5 and summary["ratio"] == pytest.approx(2.0)
    assert summary["median_ratio"] == pytest.approx(2.0)


def test_limit_spreads_rows_through_the_manifest(tmp_path):
    folder = tmp_path / "tcga-lgg"
    folder.mkdir()
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "class", "source", "sequence", "plane", "group", "slice", "mask", "note", "split"])
        for i in range(20):
            writer.writerow([f"g/{i}.png", "glioma", "tcga-lgg", "t1", "axial", "g", i,
                             "" if i == 3 else f"m/{i}.png", "", "test" if i < 15 else "train"])
    rows = bench.test_rows(str(tmp_path), "tcga-lgg", None)
    assert len(rows) == 14 and all(r["split"] == "test" and r["mask"] for r in rows)
    picked = bench.test_rows(str(tmp_path), "tcga-lgg", 3)
    assert [r["path"] for r in picked] == ["g/0.png", "g/7.png", "g/14.png"]


def _source(root, source, cls, count):
    folder = root / source
    (folder / cls).mkdir(parents=True)
    (folder / "masks").mkdir()
    yy, xx = np.mgrid[:96, :96]
    with open(folder / "manifest.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["path", "class", "source", "sequence", "plane", "group", "slice", "mask", "note", "split"])
        for i in range(count):
            head = (((yy - 48) / 38.0) ** 2 + ((xx - 48) / 32.0) ** 2) < 1
            lesion = ((yy - 30 - 4 * i) ** 2 + (xx - 55) ** 2) < 8**2
            image = np.where(head, 100, 0) + np.where(lesion, 120, 0)
            Image.fromarray(image.astype(np.uint8)).save(folder / cls / f"{i}.png")
            Image.fromarray(lesion).save(folder / "masks" / f"{i}.png")
            writer.writerow([f"{cls}/{i}.png", cls, source, "t1c" if i % 2 else "flair", "axial", f"p{i}", i,
                             f"masks/{i}.png", "", "test"])


def test_whole_run_on_generated_sources(tmp_path, monkeypatch, capsys):
    """--model, --limit, --layer, --methods, --json: one row per source (and sequence) and method."""
    _source(tmp_path, "tcga-lgg", "glioma", 4)
    _source(tmp_path, "tiantan-pituitary", "pituitary", 3)
    model = save_with_card(tiny_classifier_model(), tmp_path / "model")
    monkeypatch.setenv("SHARED_DATA", str(tmp_path))
    out = tmp_path / "loc.json"
    layer = "block2_add"  # a finer grid than the default target layer
    monkeypatch.setattr(sys, "argv", ["bench_localisation.py", "--model", model, "--limit", "3", "--layer", layer,
                                      "--methods", "gradcam,ig", "--json", str(out)])
    assert bench.main() == 0
    printed = capsys.readouterr().out
    assert "| tcga-lgg | flair |" in printed and "| tiantan-pituitary | all |" in printed
    data = json.loads(out.read_text())
    assert data["layer"] == layer and data["methods"] == ["gradcam", "ig"]
    assert len(data["scans"]) == (3 + 3) * 2
    for row in data["summary"]:
        assert 0 <= row["pointing"] <= 1 and row["mask_of_head"] > 0
    assert {r["sequence"] for r in data["summary"] if r["source"] == "tcga-lgg"} == {"all", "flair", "t1c"}
