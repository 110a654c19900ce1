"""core.ood: blank, colour and energy checks, and the CLI's "warning" field."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image

from cli import run_cli
from core.ood import BLANK_WARNING, COLOUR_WARNING, NOT_MRI_WARNING, energy, is_blank, warning_for


def test_energy_is_temperature_scaled_logsumexp():
    logits = np.array([[1.0, 2.0, 3.0]])
    assert energy(logits)[0] == pytest.approx(np.log(np.exp(1) + np.exp(2) + np.exp(3)), rel=1e-6)
    assert energy(logits, 2.0)[0] == pytest.approx(2 * np.log(np.exp(0.5) + np.exp(1) + np.exp(1.5)), rel=1e-6)


def test_blank_detection(head_image):
    assert is_blank(np.zeros((20, 20))) and is_blank(np.full((20, 20), 77.0))
    assert not is_blank(head_image.astype(np.float32))


def test_warning_order_and_threshold():
    logits = np.array([0.0, 0.0, 5.0, 0.0])
    card = {"temperature": 1.0, "ood": {"energy_threshold": 10.0}}
    assert warning_for(True, None, logits, card) == BLANK_WARNING
    assert warning_for(False, 40.0, logits, card) == COLOUR_WARNING
    assert warning_for(False, 0.5, logits, card) == NOT_MRI_WARNING  # energy ~5 < 10
    assert warning_for(False, 0.5, logits, {"ood": {"energy_threshold": 1.0}}) is None
    assert warning_for(False, 0.5, logits, {}) is None  # no threshold in the card: no energy check
    assert warning_for(False, 0.5, list(logits), card) == NOT_MRI_WARNING  # Prediction.logits is a list
    assert warning_for(False, 0.5, logits, {"ood": {"mahalanobis_threshold": 3.0}}, distance=4.0) == NOT_MRI_WARNING
    assert warning_for(False, 0.5, logits, {"ood": {"mahalanobis_threshold": 3.0}}, distance=2.0) is None


def test_colour_photo_gets_a_warning_in_predict(capsys, tmp_path, tiny_model_path, head_image):
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 255, (120, 160, 3), dtype=np.uint8)
    Image.fromarray(photo).save(tmp_path / "holiday.jpg")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "blank.png")
    Image.fromarray(head_image).convert("RGB").save(tmp_path / "grey_rgb.png")  # grey stored as RGB: not colour
    code = run_cli(["predict", str(tmp_path), "--model", tiny_model_path])
    records = {os.path.basename(r["path"]): r for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert code == 0
    assert records["holiday.jpg"]["warning"] == COLOUR_WARNING
    assert records["blank.png"]["warning"] == BLANK_WARNING
    assert records["grey_rgb.png"].get("warning") != COLOUR_WARNING


def test_generated_non_mri_set_is_diverse():
    from training.ood import matplotlib_mri_slice, non_mri_images

    images = non_mri_images()
    assert len(images) >= 25
    assert all(p.ndim == 2 and np.isfinite(p).all() for _, p, _ in images)
    assert any(name.startswith("matplotlib-grace") and chroma > 12 for name, _, chroma in images)
    assert matplotlib_mri_slice().shape == (256, 256)


def test_feature_density_distance_by_hand(tmp_path):
    from core.ood import FeatureDensity

    density = FeatureDensity(np.array([[0.0, 0.0], [10.0, 0.0]]), np.diag([1.0, 4.0]))
    # nearest mean (0, 0): sqrt(1*1 + 4*1) = sqrt(5)
    assert density.distance(np.array([[1.0, 1.0]]))[0] == pytest.approx(np.sqrt(5))
    density.save(str(tmp_path / "d.npz"))
    again = FeatureDensity.load(str(tmp_path / "d.npz"))
    assert again.distance(np.array([[9.0, 0.0]]))[0] == pytest.approx(1.0)


def test_bundled_model_refuses_noise_but_not_a_real_scan(capsys, tmp_path, data_dir):
    from core.paths import default_model_path

    if not os.path.exists(default_model_path()):
        pytest.skip("no bundled model")
    noise = np.random.default_rng(0).integers(0, 255, (256, 256), dtype=np.uint8)
    Image.fromarray(noise).save(tmp_path / "noise.png")
    scan = os.path.join(data_dir, "Testing", "glioma", sorted(os.listdir(os.path.join(data_dir, "Testing", "glioma")))[0])
    run_cli(["predict", str(tmp_path / "noise.png"), scan])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    from core.ood import ABSTAIN_WARNING, NO_STRUCTURE_WARNING

    assert records[0]["label"] is None and records[0]["warning"] == NO_STRUCTURE_WARNING
    assert records[1]["label"] == "glioma"
    assert records[1].get("warning") not in (NOT_MRI_WARNING, ABSTAIN_WARNING, NO_STRUCTURE_WARNING)


def test_blank_check_on_large_images_looks_at_the_whole_field(head_image):
    """is_blank samples a grid: a big uniform image with a small label is still blank,
    and a big head scan is not, wherever the head lies."""
    uniform = np.full((3000, 4000), 40.0, np.float32)
    uniform[100:120, 200:260] = 255.0  # a burnt-in label: under 1 % of the pixels
    assert is_blank(uniform)
    big = np.zeros((2048, 2048), np.float32)
    head = np.kron(head_image.astype(np.float32), np.ones((4, 4), np.float32))
    big[-head.shape[0]:, -head.shape[1]:] = head[:2048, :2048]
    assert not is_blank(big)


def test_two_tier_verdict_abstains_only_when_not_a_brain_mri():
    from core.ood import ABSTAIN_WARNING, UNFAMILIAR_WARNING, verdict_for

    logits = np.array([0.0, 0.0, 5.0, 0.0])  # energy ~5
    card = {"temperature": 1.0, "ood": {"abstain_distance": 10.0, "unfamiliar_distance": 4.0, "energy_threshold": 3.0}}
    assert verdict_for(False, None, logits, card, distance=12.0) == (True, ABSTAIN_WARNING)
    assert verdict_for(False, None, logits, card, distance=6.0) == (False, UNFAMILIAR_WARNING)
    assert verdict_for(False, None, logits, card, distance=2.0) == (False, None)
    low_energy = {"temperature": 1.0, "ood": dict(card["ood"], energy_threshold=8.0)}
    assert verdict_for(False, None, logits, low_energy, distance=2.0) == (False, UNFAMILIAR_WARNING)
    assert verdict_for(True, None, logits, card, distance=2.0) == (True, BLANK_WARNING)
    assert verdict_for(False, 40.0, logits, card, distance=2.0) == (True, COLOUR_WARNING)
    # a card from before the two tiers never abstains on features and keeps its old wording
    old = {"temperature": 1.0, "ood": {"mahalanobis_threshold": 4.0}}
    assert verdict_for(False, None, logits, old, distance=12.0) == (False, NOT_MRI_WARNING)


def test_predict_abstains_with_label_null_and_keeps_probabilities(capsys, tmp_path, tiny_model_path, head_image):
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(tmp_path / "blank.png")
    Image.fromarray(head_image).save(tmp_path / "head.png")
    code = run_cli(["predict", str(tmp_path), "--model", tiny_model_path])
    lines = capsys.readouterr().out.splitlines()
    records = {os.path.basename(r["path"]): r for r in map(json.loads, lines)}
    assert code == 0
    blank = records["blank.png"]
    assert blank["label"] is None and blank["confidence"] is None and blank["warning"] == BLANK_WARNING
    assert sum(blank["probabilities"].values()) == pytest.approx(1.0, abs=1e-3)
    assert records["head.png"]["label"] in ("glioma", "meningioma", "notumor", "pituitary")
    assert '"label": null' in next(line for line in lines if "blank.png" in line)


def test_noise_has_no_structure_and_a_real_scan_has(head_image, data_dir):
    from core.io import load_scan
    from core.ood import NO_STRUCTURE_WARNING, STRUCTURE_MIN, neighbour_correlation, verdict_for
    from core.preprocess import preprocess

    rng = np.random.default_rng(0)
    noise = rng.uniform(0, 255, (256, 256)).astype(np.float32)
    assert abs(neighbour_correlation(preprocess(noise, 128)[0])) < 0.1
    scan = load_scan(os.path.join(data_dir, "Testing", "glioma", "Te-gl_0010.jpg")).pixels
    assert neighbour_correlation(preprocess(scan, 128)[0]) > 0.5
    assert neighbour_correlation(np.zeros((32, 32, 1))) == 1.0  # nothing to judge: other checks decide
    logits = np.zeros(4)
    assert verdict_for(False, None, logits, {}, structure=STRUCTURE_MIN / 2) == (True, NO_STRUCTURE_WARNING)
    assert verdict_for(False, None, logits, {}, structure=0.8) == (False, None)


def test_non_mri_dicom_modalities_abstain():
    from core.ood import verdict_for

    logits = np.zeros(4)
    assert verdict_for(False, None, logits, {}, modality="CT") == (True, "this DICOM file is a CT image, not an MRI: no classification")
    assert verdict_for(False, None, logits, {}, modality="US").abstain
    for modality in ("MR", "OT", "", None):
        assert verdict_for(False, None, logits, {}, modality=modality) == (False, None)


def test_predict_abstains_on_a_ct_dicom(capsys, tiny_model_path):
    from pydicom.data import get_testdata_file

    path = get_testdata_file("CT_small.dcm", download=False)
    if not path:
        pytest.skip("pydicom test file CT_small.dcm not installed")
    code = run_cli(["predict", path, "--model", tiny_model_path])
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert code == 0 and record["label"] is None and "CT image" in record["warning"]


def test_colour_dicom_secondary_capture_abstains(capsys, tiny_model_path):
    from pydicom.data import get_testdata_file

    from core.io import load_scan

    path = get_testdata_file("SC_rgb_small_odd.dcm", download=False)
    grey = get_testdata_file("MR_small.dcm", download=False)
    if not path or not grey:
        pytest.skip("pydicom test files not installed")
    assert load_scan(path).info["chroma"] > 12 and "chroma" not in load_scan(grey).info
    code = run_cli(["predict", path, "--model", tiny_model_path])
    record = json.loads(capsys.readouterr().out.splitlines()[0])
    assert code == 0 and record["label"] is None and record["warning"] == COLOUR_WARNING


def test_dicom_saying_another_body_part_abstains_and_only_then():
    from core.ood import verdict_for

    logits = np.zeros(4)
    for part in ("ABDOMEN", "Pelvis", "L SPINE", "knee", "CHEST_ABDOMEN"):
        verdict = verdict_for(False, None, logits, {}, modality="MR", body_part=part)
        assert verdict.abstain and "Body Part Examined" in verdict.warning and "not the head" in verdict.warning
    for part in ("HEAD", "BRAIN", "SKULL", "SELLA", "", None, "Kopf", "unknown"):  # silent or head: pixels decide
        assert verdict_for(False, None, logits, {}, modality="MR", body_part=part) == (False, None)


def test_images_too_small_to_be_an_mri_slice_abstain():
    from core.ood import MIN_SIDE, verdict_for

    logits = np.zeros(4)
    small = verdict_for(False, None, logits, {}, shape=(4, 5))
    assert small.abstain and "4 x 5 pixels" in small.warning
    assert verdict_for(False, None, logits, {}, shape=(MIN_SIDE - 1, 256)).abstain
    assert verdict_for(False, None, logits, {}, shape=(64, 64)) == (False, None)  # pydicom's MR_small.dcm size


def _predict(capsys, *paths):
    from cli import run_cli

    code = run_cli(["predict", *map(str, paths), "--quiet"])
    return code, [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_real_abdominal_mr_file_abstains_by_its_body_part(capsys, tmp_path):
    """pydicom's Siemens abdominal MR (Body Part Examined ABDOMEN) was called "meningioma" at 92 %
    with no warning; it abstains now. The same pixels without the tag are judged on their pixels."""
    import pydicom
    from pydicom.data import get_testdata_file

    path = get_testdata_file("MR-SIEMENS-DICOM-WithOverlays.dcm", download=False)
    if path is None:
        pytest.skip("pydicom-data is not installed")
    code, [record] = _predict(capsys, path)
    assert code == 0 and record["label"] is None and record["confidence"] is None
    assert "abdomen (Body Part Examined)" in record["warning"]
    ds = pydicom.dcmread(path)
    del ds.BodyPartExamined
    untagged = tmp_path / "untagged.dcm"
    ds.save_as(untagged)
    code, [record] = _predict(capsys, untagged)
    assert code == 0 and "Body Part Examined" not in record.get("warning", "")


def test_nibabels_tiny_test_volume_abstains(capsys):
    """nibabel's 4 x 5 x 7 standard.nii.gz was a confident "meningioma" study; every slice is too small."""
    import nibabel

    path = os.path.join(os.path.dirname(nibabel.__file__), "tests", "data", "standard.nii.gz")
    code, [record] = _predict(capsys, path)
    assert code == 0 and record["label"] is None and record["abstained_slices"] == list(range(7))
    assert "no slice of this scan looks like a brain MRI slice" in record["warning"]
