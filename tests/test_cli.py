"""main.py predict / explain / --self-test: output schema, exit codes, no tracebacks."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from cli import run_cli
from tests.conftest import ROOT

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


@pytest.fixture()
def scan_folder(tmp_path, head_image):
    folder = tmp_path / "scans"
    (folder / "sub").mkdir(parents=True)
    Image.fromarray(head_image).save(folder / "a.png")
    Image.fromarray(head_image.T.copy()).convert("RGB").save(folder / "sub" / "c.jpg")
    (folder / "b_broken.jpg").write_bytes(b"definitely not a jpeg")
    return folder


def _run(capsys, argv):
    code = run_cli(argv)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_predict_jsonl_schema_and_one_bad_file_does_not_stop_the_rest(capsys, scan_folder, tiny_model_path):
    code, out, err = _run(capsys, ["predict", str(scan_folder), "--model", tiny_model_path])
    lines = [json.loads(line) for line in out.splitlines()]
    assert [os.path.relpath(r["path"], scan_folder) for r in lines] == ["a.png", "b_broken.jpg", "sub/c.jpg"]
    good = [r for r in lines if "error" not in r]
    assert len(good) == 2
    for r in good:
        assert {"path", "label", "confidence", "probabilities"} <= set(r)
        assert list(r["probabilities"]) == CLASSES
        assert r["label"] in CLASSES
        assert abs(sum(r["probabilities"].values()) - 1) < 1e-4
    assert "not an image" in lines[1]["error"]
    assert code == 1
    assert "Traceback" not in err


def test_predict_exit_0_when_all_succeed_and_csv(capsys, scan_folder, tiny_model_path):
    good = [str(scan_folder / "a.png"), str(scan_folder / "sub" / "c.jpg")]
    code, out, _ = _run(capsys, ["predict", *good, "--model", tiny_model_path, "--format", "csv", "--batch-size", "1"])
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["path"] for r in rows] == good
    assert all(r["label"] in CLASSES and r["error"] == "" for r in rows)


def test_batch_size_does_not_change_results(capsys, scan_folder, tiny_model_path):
    _, one, _ = _run(capsys, ["predict", str(scan_folder), "--model", tiny_model_path, "--batch-size", "1"])
    _, many, _ = _run(capsys, ["predict", str(scan_folder), "--model", tiny_model_path, "--batch-size", "8"])
    a = [json.loads(x) for x in one.splitlines()]
    b = [json.loads(x) for x in many.splitlines()]
    for x, y in zip(a, b):
        assert x.get("label") == y.get("label")
        if "probabilities" in x:
            np.testing.assert_allclose(list(x["probabilities"].values()), list(y["probabilities"].values()), atol=1e-5)


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["predict"])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        run_cli(["predict", "x.png", "--format", "xml"])
    assert exit_info.value.code == 2


def test_model_problems_exit_3_with_a_clear_message(capsys, tmp_path, scan_folder):
    code, out, err = _run(capsys, ["predict", str(scan_folder), "--model", str(tmp_path / "none.keras")])
    assert code == 3 and out == "" and "not found" in err


def test_self_test_with_a_model(capsys, tiny_model_path):
    code, out, _ = _run(capsys, ["--self-test", "--model", tiny_model_path])
    assert code == 0
    assert out.startswith("self-test ok: model tiny") and out.count("\n") == 1


def test_explain_writes_overlays_and_heatmaps_and_refuses_to_overwrite(capsys, tmp_path, scan_folder, tiny_model_path):
    from core.classifier import Classifier
    from core.io import load_scan
    from gradcam.engine import CAMEngine
    from gradcam.overlay import colorbar_strip, overlay, scale_caption

    scan = str(scan_folder / "a.png")
    out_dir = tmp_path / "out"
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(out_dir), "--model", tiny_model_path])
    assert code == 0
    record = json.loads(out)
    assert record["target"] == record["label"] and record["label"] in CLASSES
    assert "not_class_specific" not in record and set(record["relative_peak"]) == {"gradcam", "gradcam++"}
    classifier = Classifier.load(tiny_model_path)
    expected = CAMEngine(classifier).explain(load_scan(scan).pixels)
    caption = scale_caption(classifier.card.display_name(record["label"]))
    for method in ("gradcam", "gradcam++"):
        heat = np.load(out_dir / f"a.{method}.npy")  # the raw evidence, not stretched to 1
        assert heat.dtype == np.float32 and heat.shape == (180, 240) and heat.min() >= 0
        np.testing.assert_allclose(heat, expected.raw_heatmaps[method], rtol=1e-4, atol=1e-7)
        png = np.asarray(Image.open(out_dir / f"a.{method}.png"))
        strip = colorbar_strip(180, "jet", caption)
        assert png.shape == (180, 240 + strip.shape[1], 3)  # the overlay at the scan's size + its colour bar
        shown = overlay(load_scan(scan).display_uint8(), expected.relative_heatmaps[method], 0.4, "jet")
        assert np.abs(png[:, :240].astype(int) - shown).max() <= 1
        np.testing.assert_array_equal(png[:, 240:], strip)
    before = (out_dir / "a.gradcam.png").stat().st_mtime_ns
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(out_dir), "--model", tiny_model_path])
    assert code == 1 and "already exists" in json.loads(out)["error"]
    assert (out_dir / "a.gradcam.png").stat().st_mtime_ns == before
    code, _, _ = _run(capsys, ["explain", scan, "--out-dir", str(out_dir), "--model", tiny_model_path,
                               "--method", "gradcam", "--force"])
    assert code == 0


def test_explain_another_class_does_not_write_a_method_that_cannot_tell_classes_apart(
        capsys, tmp_path, scan_folder, tiny_model_path):
    """--target another class: Grad-CAM++ is not written, the line says why, exit 0; Grad-CAM is
    written on the predicted class's scale (its relative peak is in the line)."""
    scan = str(scan_folder / "a.png")
    code, out, _ = _run(capsys, ["predict", scan, "--model", tiny_model_path])
    other = next(c for c in CLASSES if c != json.loads(out)["label"])
    out_dir = tmp_path / "other"
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(out_dir), "--model", tiny_model_path,
                                 "--target", other, "--report"])
    assert code == 0
    record = json.loads(out)
    assert record["target"] == other
    assert set(record["not_class_specific"]) == {"gradcam++"}
    assert "Grad-CAM" in record["not_class_specific"]["gradcam++"]
    assert sorted(os.path.basename(f) for f in record["files"]) == ["a.gradcam.npy", "a.gradcam.png", "a.report.pdf"]
    assert sorted(os.listdir(out_dir)) == ["a.gradcam.npy", "a.gradcam.png", "a.report.pdf"]
    assert set(record["relative_peak"]) == {"gradcam"}
    peak = record["relative_peak"]["gradcam"]
    assert peak is None or peak >= 0
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(tmp_path / "none"), "--model", tiny_model_path,
                                 "--target", other, "--method", "gradcam++"])
    assert code == 0 and json.loads(out)["files"] == [] and not os.listdir(tmp_path / "none")


def test_explain_lines_stay_in_order_and_name_collisions_and_write_failures_are_lines(
        capsys, tmp_path, scan_folder, tiny_model_path):
    """Files are written on writer threads; the lines still come in the scans' order, a second
    scan with the same stem finds the first one's files (not a race), and a file that cannot be
    written is that scan's error line, never a traceback."""
    from PIL import Image as PILImage

    twin = tmp_path / "twin"
    twin.mkdir()
    PILImage.fromarray(np.asarray(PILImage.open(scan_folder / "a.png"))).save(twin / "a.jpg")
    paths = [str(scan_folder / "a.png"), str(scan_folder / "b_broken.jpg"), str(twin / "a.jpg"),
             str(scan_folder / "sub" / "c.jpg")]
    out_dir = tmp_path / "out"
    code, out, err = _run(capsys, ["explain", *paths, "--out-dir", str(out_dir), "--model", tiny_model_path,
                                   "--method", "gradcam"])
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and [r["path"] for r in records] == paths
    assert "error" not in records[0] and "error" not in records[3]
    assert "not an image" in records[1]["error"]
    assert "a.gradcam.png already exists" in records[2]["error"]
    blocked = tmp_path / "blocked"
    (blocked / "a.gradcam.png").mkdir(parents=True)  # a folder where the overlay would go
    code, out, err = _run(capsys, ["explain", paths[0], paths[3], "--out-dir", str(blocked), "--model",
                                   tiny_model_path, "--method", "gradcam", "--force"])
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and "Traceback" not in err
    assert "cannot write" in records[0]["error"] and "error" not in records[1]


def test_explain_integrated_gradients_and_all(capsys, tmp_path, scan_folder, tiny_model_path):
    scan = str(scan_folder / "a.png")
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(tmp_path / "ig"), "--model", tiny_model_path,
                                 "--method", "ig"])
    assert code == 0
    assert [os.path.basename(f) for f in json.loads(out)["files"]] == ["a.ig.png", "a.ig.npy"]
    heat = np.load(tmp_path / "ig" / "a.ig.npy")
    assert heat.dtype == np.float32 and heat.shape == (180, 240) and heat.min() >= 0
    code, out, _ = _run(capsys, ["explain", scan, "--out-dir", str(tmp_path / "all"), "--model", tiny_model_path,
                                 "--method", "all"])
    assert code == 0
    assert set(json.loads(out)["relative_peak"]) == {"gradcam", "gradcam++", "ig"}
    np.testing.assert_array_equal(np.load(tmp_path / "all" / "a.ig.npy"), heat)


def test_main_py_process_keeps_stdout_clean(scan_folder, tiny_model_path):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "main.py"), "predict", str(scan_folder), "--model", tiny_model_path],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 1
    assert all(json.loads(line) for line in result.stdout.splitlines())
    assert "Traceback" not in result.stderr
    version = subprocess.run([sys.executable, os.path.join(ROOT, "main.py"), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip()


def test_predict_real_test_scans(capsys, data_dir):
    from core.paths import default_model_path

    if not os.path.exists(default_model_path()):
        pytest.skip("no bundled model")
    files = [os.path.join(data_dir, "Testing", c, sorted(os.listdir(os.path.join(data_dir, "Testing", c)))[0]) for c in CLASSES]
    code, out, _ = _run(capsys, ["predict", *files])
    assert code == 0
    assert len(out.splitlines()) == 4


def test_default_batch_size_bounds_the_input_memory():
    from types import SimpleNamespace

    from cli import BATCH_INPUT_VALUES, default_batch_size

    assert default_batch_size(SimpleNamespace(input_size=128, channels=1)) == 256
    big = SimpleNamespace(input_size=299, channels=3)
    assert default_batch_size(big) == 15 and 15 * 299 * 299 * 3 <= BATCH_INPUT_VALUES < 16 * 299 * 299 * 3
    assert default_batch_size(SimpleNamespace(input_size=4096, channels=3)) == 1


def test_default_batch_gives_the_results_of_batch_one(capsys, scan_folder, tiny_model_path):
    _, one, _ = _run(capsys, ["predict", str(scan_folder), "--model", tiny_model_path, "--batch-size", "1"])
    _, default, _ = _run(capsys, ["predict", str(scan_folder), "--model", tiny_model_path])
    a = [json.loads(x) for x in one.splitlines()]
    b = [json.loads(x) for x in default.splitlines()]
    assert [x["path"] for x in a] == [y["path"] for y in b] and len(a) >= 3
    for x, y in zip(a, b):
        assert x.get("label") == y.get("label") and x.get("error") == y.get("error")
        if "probabilities" in x:
            np.testing.assert_allclose(list(x["probabilities"].values()), list(y["probabilities"].values()), atol=1e-5)
