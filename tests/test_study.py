"""The study verdict (core.study): its rule on hand-made slice probabilities, abstaining slices, and
on real test scans stacked into volumes (a DICOM series and a NIfTI), through `predict`."""

from __future__ import annotations

import glob
import json
import os
import random

import numpy as np
import pytest

from core.study import MIN_EVIDENCE, study_verdict, window_summary

CLASSES = ["glioma", "meningioma", "notumor", "pituitary"]


def p(**probs):
    rest = (1.0 - sum(probs.values())) / (len(CLASSES) - len(probs))
    return {c: probs.get(c, rest) for c in CLASSES}


def test_a_few_tumour_slices_outweigh_many_healthy_ones():
    slices = [p(notumor=0.97)] * 7 + [p(glioma=0.9), p(glioma=0.8), p(glioma=0.7)]
    verdict = study_verdict(slices, classes=CLASSES)
    assert verdict.label == "glioma" and verdict.evidence_slices == [7, 8, 9]
    assert verdict.confidence == pytest.approx(0.8)  # mean glioma probability over its evidence
    assert verdict.probabilities["glioma"] == pytest.approx(0.8) and sum(verdict.probabilities.values()) == pytest.approx(1)
    assert not verdict.low_confidence and verdict.isolated_slices == []


def test_healthy_study_is_as_sure_as_its_least_sure_slice():
    slices = [p(notumor=0.99), p(notumor=0.75), p(notumor=0.95)]
    verdict = study_verdict(slices, classes=CLASSES, threshold=0.8)
    assert verdict.label == "notumor" and verdict.confidence == pytest.approx(0.75)
    assert verdict.evidence_slices == [0, 1, 2] and verdict.low_confidence


def test_one_tumour_slice_is_not_enough_but_is_reported():
    slices = [p(notumor=0.98)] * 9 + [p(meningioma=0.85)]
    verdict = study_verdict(slices, classes=CLASSES)
    assert MIN_EVIDENCE == 2
    assert verdict.label == "notumor" and verdict.isolated_slices == [9] and 9 not in verdict.evidence_slices
    two = study_verdict(slices[:8] + [p(meningioma=0.6)] + slices[9:], classes=CLASSES)
    assert two.label == "meningioma" and two.evidence_slices == [8, 9]


def test_most_evidence_slices_win_then_summed_probability():
    slices = [p(glioma=0.9)] * 2 + [p(pituitary=0.6)] * 3 + [p(notumor=0.9)]
    verdict = study_verdict(slices, classes=CLASSES)
    assert verdict.label == "pituitary" and verdict.evidence_slices == [2, 3, 4] and verdict.isolated_slices == [0, 1]
    tie = study_verdict([p(glioma=0.9)] * 2 + [p(pituitary=0.6)] * 2, classes=CLASSES)
    assert tie.label == "glioma"


def test_abstaining_slices_are_left_out_and_mostly_abstaining_abstains():
    slices = [p(glioma=0.99)] * 2 + [p(notumor=0.9)] * 3
    verdict = study_verdict(slices, [True, True, False, False, False], CLASSES)
    assert verdict.label == "notumor" and verdict.abstained_slices == [0, 1] and verdict.evidence_slices == [2, 3, 4]
    half = study_verdict(slices[1:], [True, False, False, True], CLASSES)  # half is not most
    assert half.label == "notumor" and half.evidence_slices == [1, 2]
    most = study_verdict(slices, [False, False, True, True, True], CLASSES)  # two tumour-looking slices left
    assert most.abstain and most.label is None and most.confidence is None and most.evidence_slices == []
    assert most.abstained_slices == [2, 3, 4] and most.rule == "most slices abstained"
    none = study_verdict(slices, [True] * 5, CLASSES)
    assert none.abstain and none.label is None and none.confidence is None and none.evidence_slices == []
    assert none.rule == "every slice abstained"


def test_small_and_disagreeing_studies():
    one = study_verdict([p(glioma=0.9), p(glioma=0.95)], [True, False], CLASSES)
    assert one.label == "glioma" and one.evidence_slices == [1]  # one counted slice: it decides alone
    split = study_verdict([p(glioma=0.9), p(meningioma=0.8), p(pituitary=0.7)], classes=CLASSES)
    assert split.label == "glioma" and split.low_confidence and split.isolated_slices == [1, 2]


def test_model_without_a_negative_class_gets_a_majority_vote():
    classes = ["a", "b"]
    verdict = study_verdict([{"a": 0.9, "b": 0.1}, {"a": 0.2, "b": 0.8}, {"a": 0.3, "b": 0.7}], classes=classes)
    assert verdict.label == "b" and verdict.evidence_slices == [1, 2]


def test_window_summary():
    file_window = {"center": 40.0, "width": 80.0, "source": "file"}
    assert window_summary([file_window, file_window]) == file_window
    mixed = window_summary([file_window, {"center": 50.0, "width": 80.0, "source": "file"}])
    assert mixed == {"center": None, "width": None, "source": "file", "per_slice": True}
    assert window_summary([None, None]) is None


# --- real test scans, stacked into volumes, through `predict` with the bundled model ----------------

SIZE = 256


def _pixels(path):
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("L").resize((SIZE, SIZE), Image.BILINEAR))


@pytest.fixture(scope="module")
def bundled():
    from core.classifier import Classifier
    from core.errors import ModelError

    try:
        return Classifier.load()
    except ModelError as err:
        pytest.skip(f"bundled model not loadable: {err}")


def _first_correct(classifier, folder, label, count):
    """The first ``count`` test scans of ``label`` (sorted) that the model gets right on their own,
    as they go into the volume (resized), so the study's evidence can be checked slice by slice."""
    chosen = []
    for path in sorted(glob.glob(os.path.join(folder, label, "*.jpg"))):
        if classifier.predict_pixels([_pixels(path)])[0].label == label:
            chosen.append(path)
        if len(chosen) == count:
            return chosen
    pytest.skip(f"fewer than {count} {label} test scans classified correctly")


def _study(capsys, path):
    from cli import run_cli

    code = run_cli(["predict", str(path), "--quiet"])
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0 and len(records) == 1  # one line for the whole volume
    return records[0]


def test_seven_healthy_and_three_glioma_scans_as_a_dicom_series(capsys, tmp_path, data_dir, bundled):
    from pydicom.uid import generate_uid

    from tests.volumes import make_dicom

    testing = os.path.join(data_dir, "Testing")
    healthy = _first_correct(bundled, testing, "notumor", 7)
    glioma = _first_correct(bundled, testing, "glioma", 3)
    order = healthy[:2] + [glioma[0]] + healthy[2:4] + [glioma[1]] + healthy[4:6] + [glioma[2]] + healthy[6:]
    uid, rng = generate_uid(), random.Random(18)
    for k, scan in enumerate(order):  # random file names, Instance Numbers backwards: only positions tell
        make_dicom(tmp_path / f"IM{rng.randrange(10**8):08d}", _pixels(scan), SeriesInstanceUID=uid,
                   SeriesNumber=4, InstanceNumber=len(order) - k, ImagePositionPatient=[0.0, 0.0, 5.0 * k],
                   ImageOrientationPatient=[1, 0, 0, 0, 1, 0], PixelSpacing=[0.8, 0.8])
    study = _study(capsys, tmp_path)
    assert study["label"] == "glioma" and study["slices"] == 10
    assert study["evidence_slices"] == [2, 5, 8]
    assert study["confidence"] == pytest.approx(study["probabilities"]["glioma"])
    assert study["series"]["ordered_by"] == "position"


def test_ten_healthy_scans_as_a_nifti_volume(capsys, tmp_path, data_dir, bundled):
    from tests.volumes import make_nifti

    testing = os.path.join(data_dir, "Testing")
    healthy = sorted(glob.glob(os.path.join(testing, "notumor", "*.jpg")))[:10]  # as they come, none skipped
    # Stored so that nibabel's RAS reorientation and the radiological display give each scan upright.
    data = np.stack([_pixels(scan)[::-1, ::-1].T for scan in healthy], axis=-1).astype(np.int16)
    study = _study(capsys, make_nifti(tmp_path / "healthy.nii.gz", data))
    assert study["label"] == "notumor" and study["slices"] == 10
    assert study["evidence_slices"]  # the slices judged healthy
    for i in study.get("isolated_slices", []):  # a lone tumour-looking slice is named, not counted
        assert i not in study["evidence_slices"] and "review it" in study["warning"]


@pytest.mark.parametrize("noise_slices, abstains", [(2, False), (3, True)])
def test_a_volume_of_mostly_non_brain_slices_abstains(capsys, tmp_path, data_dir, bundled, noise_slices, abstains):
    """Five slices: real healthy test scans, the rest noise (not a brain MRI slice). With most slices
    not brain slices the study abstains, however the others look; with fewer the noise is left out."""
    from tests.volumes import make_nifti

    healthy = sorted(glob.glob(os.path.join(data_dir, "Testing", "notumor", "*.jpg")))[: 5 - noise_slices]
    rng = np.random.default_rng(5)
    slices = [_pixels(scan)[::-1, ::-1].T for scan in healthy]
    slices += [rng.integers(0, 256, (SIZE, SIZE)) for _ in range(noise_slices)]
    study = _study(capsys, make_nifti(tmp_path / "mixed.nii.gz", np.stack(slices, axis=-1).astype(np.int16)))
    assert study["slices"] == 5 and study["abstained_slices"] == list(range(5 - noise_slices, 5))
    if abstains:
        assert study["label"] is None and study["confidence"] is None and study["evidence_slices"] == []
        assert study["warning"].startswith("3 of 5 slices of this scan do not look like brain MRI slices")
    else:
        assert study["label"] == "notumor" and set(study["evidence_slices"]) <= {0, 1, 2}
        assert "2 of 5 slices do not look like brain MRI slices and were left out" in study["warning"]
