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
    assert s["hit_mask"]  # the peak (12, 12) is inside the mask itself
    heat[18, 12] = 4.0  # 4 px below the mask's edge (row 13): still inside the dilated mask
    assert bench.score(heat, mask, near, head)["hit"] and not bench.score(heat, mask, near, head)["hit_mask"]
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
    assert bench.DILATION_PX == 8 and bench.dilate(mask)[10 - 8, 12] and not bench.dilate(mask)[10 - 9, 12]


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
    # validation: a source the model trained on keeps its held-out rows only; one it never saw keeps all train rows
    held = {("tcga-lgg", "g/16.png"), ("tcga-lgg", "g/18.png"), ("tcga-lgg", "g/3.png")}
    assert [r["path"] for r in bench.validation_rows(str(tmp_path), "tcga-lgg", None, {"tcga-lgg"}, held)] == [
        "g/16.png", "g/18.png"]  # g/3: a test row (and no mask)
    assert len(bench.validation_rows(str(tmp_path), "tcga-lgg", None, set(), held)) == 5
    assert len(rows) == 14 and all(r["split"] == "test" and r["mask"] for r in rows)
    picked = bench.test_rows(str(tmp_path), "tcga-lgg", 3)
    assert [r["path"] for r in picked] == ["g/0.png", "g/7.png", "g/14.png"]


def _source(root, source, cls, count, split="test"):
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
                             f"masks/{i}.png", "", split])


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
        for target in bench.TARGETS:
            assert 0 <= row[target]["pointing_mask"] <= row[target]["pointing"] <= 1 and row[target]["mask_of_head"] > 0
    assert {r["sequence"] for r in data["summary"] if r["source"] == "tcga-lgg"} == {"all", "flair", "t1c"}


def test_correlation_and_the_rule_by_hand():
    where = np.ones((2, 2), bool)
    a = np.array([[0.0, 1.0], [2.0, 3.0]])
    assert bench.correlation(a, 2 * a + 1, where) == pytest.approx(1.0)
    assert bench.correlation(a, -a, where) == pytest.approx(-1.0)
    assert bench.correlation(a, np.ones((2, 2)), where) == 0.0  # constant: no correlation
    entries = {
        "slow@x": {"score": 0.99, "ratio": 9.0, "ms": 700.0},  # best, but over 25 ms: not eligible
        "a@x": {"score": 0.80, "ratio": 2.0, "ms": 20.0},
        "b@x": {"score": 0.79, "ratio": 3.0, "ms": 22.0},  # within 0.02 of the top, higher ratio: chosen
        "c@x": {"score": 0.70, "ratio": 9.0, "ms": 10.0},  # outside the tie
    }
    assert bench.choose(entries) == "b@x"
    entries["d@x"] = {"score": 0.80, "ratio": 3.0, "ms": 15.0}  # the same numbers, cheaper
    assert bench.choose(entries) == "d@x"
    assert bench.choose({"slow@x": entries["slow@x"]}) is None


def test_auto_layers_takes_the_last_layer_of_each_coarsest_grid():
    import keras
    from keras import layers

    x = inputs = keras.Input((32, 32, 1))
    x = layers.Conv2D(4, 3, padding="same", name="c32")(x)
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="c16a")(x)
    x = layers.Conv2D(4, 3, padding="same", name="c16b")(x)
    x = layers.ZeroPadding2D(1, name="pad18")(x)  # 18x18: a padding grid, never a target
    x = layers.Conv2D(4, 3, strides=2, padding="valid", name="c8")(x)
    x = layers.Conv2D(4, 3, strides=2, padding="same", name="c4")(x)
    x = layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, layers.Dense(4)(x))
    assert bench.auto_layers(model) == ["c4", "c8", "c16b"]
    assert bench.auto_layers(model, grids=1) == ["c4"]


def test_write_markdown_replaces_only_its_split(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\nkept text\n")
    bench.write_markdown(str(page), "validation", "table v1")
    bench.write_markdown(str(page), "test", "table t1")
    bench.write_markdown(str(page), "validation", "table v2")
    text = page.read_text()
    assert "kept text" in text and "table v2" in text and "table t1" in text and "table v1" not in text
    assert text.index("table v2") < text.index("table t1")


def _kaggle(root, count=3):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    for c, name in enumerate(("glioma", "meningioma", "notumor", "pituitary")):
        (root / "Training" / name).mkdir(parents=True)
        for i in range(count):
            head = (((yy - 32) / 26.0) ** 2 + ((xx - 32) / 22.0) ** 2) < 1
            image = np.where(head, 60 + 40 * c, 0) + rng.integers(0, 80, (64, 64)) * head
            Image.fromarray(image.astype(np.uint8)).save(root / "Training" / name / f"{i}.png")


def test_validation_split_is_the_models_own(tmp_path, monkeypatch, capsys):
    """--split validation scores exactly the masked rows that the model's own split held out
    (training.multisource.training_data, read back here), plus every train row of a source it never saw."""
    from core.modelcard import read_card, write_card
    from training.data import class_names
    from training.multisource import config_from_card, training_data

    _kaggle(tmp_path / "brain-tumor-mri")
    _source(tmp_path, "tcga-lgg", "glioma", 8, split="train")
    _source(tmp_path, "midas-meningioma", "meningioma", 2, split="train")
    model = save_with_card(tiny_classifier_model(), tmp_path / "model")
    card_path = os.path.splitext(model)[0] + ".json"
    card = read_card(card_path).data
    card["training"] = {"config": {"sources": [str(tmp_path / "tcga-lgg")], "img_size": 32, "seed": 3,
                                   "preprocessing": card["preprocessing"]["name"],
                                   "source_validation_fraction": 0.3, "validation_fraction": 0.3}}
    write_card(card_path, card)
    monkeypatch.setenv("SHARED_DATA", str(tmp_path))
    monkeypatch.setattr(bench, "CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "val.json"
    assert bench.main(["--model", model, "--split", "validation", "--methods", "gradcam,hirescam", "--layers",
                       "block2_add", "--timing", "2", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    scored = {(r["source"], r["path"]) for r in data["splits"]["validation"]["scans"]}
    names = class_names(str(tmp_path / "brain-tumor-mri"))
    truth = training_data(config_from_card(card, str(tmp_path / "brain-tumor-mri"), str(tmp_path / "cache")), names)
    held = {("tcga-lgg", os.path.relpath(truth.paths[i], tmp_path / "tcga-lgg")) for i in truth.val_idx
            if truth.sources[i] == "tcga-lgg"}
    assert held and {k for k in scored if k[0] == "tcga-lgg"} == held
    assert {k for k in scored if k[0] == "midas-meningioma"} == {("midas-meningioma", "meningioma/0.png"),
                                                               ("midas-meningioma", "meningioma/1.png")}
    assert data["chosen"] in data["splits"]["validation"]["ranking"]
    assert set(data["splits"]["validation"]["timings_ms"]) == {"gradcam@block2_add", "hirescam@block2_add"}
    assert "Chosen on validation" in capsys.readouterr().out


def test_auto_layers_fused_and_the_page(tmp_path, monkeypatch):
    """--layers auto (the tiny model's three coarsest grids), each CAM method also fused; the page gets the tables."""
    _source(tmp_path, "tiantan-pituitary", "pituitary", 2)
    model = save_with_card(tiny_classifier_model(), tmp_path / "model")
    monkeypatch.setenv("SHARED_DATA", str(tmp_path))
    out, page = tmp_path / "loc.json", tmp_path / "page.md"
    assert bench.main(["--model", model, "--methods", "gradcam,layercam", "--timing", "1", "--json", str(out),
                       "--markdown", str(page)]) == 0
    data = json.loads(out.read_text())
    assert len(data["layers"]) == 3 and len(set(data["grids"].values())) == 3
    keys = set(data["splits"]["test"]["ranking"])
    assert {"gradcam@fused", "layercam@fused"} <= keys and len(keys) == 2 * 4
    fused = data["splits"]["test"]["timings_ms"]["gradcam@fused"]
    assert fused == pytest.approx(sum(data["splits"]["test"]["timings_ms"][f"gradcam@{n}"] for n in data["layers"]))
    # LayerCAM is not offered for the runner-up class; Grad-CAM is
    by_method = {r["method"]: r["offered_other"] for r in data["summary"]}
    assert by_method == {"gradcam": True, "layercam": False}
    text = page.read_text()
    assert "<!-- bench_localisation:test:begin -->" in text and "| tiantan-pituitary | all |" in text
